import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import pino from 'pino';
import { EncoderSelector, type EncoderWorker } from '../src/media/encoder-selection.ts';
import type { BusEvent } from '../src/media/media-worker.ts';

/** A registry and encoders that work or fail as the test says, behind the worker's interface. */
function fakeWorker(registry: string[], working: Set<string>, output = Uint8Array.of(0, 0, 0, 1, 0x67)) {
  const listeners = new Set<(e: BusEvent) => void>();
  const started: string[] = [];
  const worker: EncoderWorker = {
    probe: async () => ({ encoders: registry }),
    async startPipeline(spec) {
      const encoder = spec.elements.find((e) => e.id === 'encoder')!.factory;
      started.push(encoder);
      const file = String(spec.elements.find((e) => e.id === 'sink')!.props!['location']);
      setTimeout(() => {
        const event: BusEvent = working.has(encoder)
          ? {
              type: 'bus',
              pipeline: spec.name,
              kind: 'eos',
              element: spec.name,
              message: 'end of stream',
              debug: null,
            }
          : {
              type: 'bus',
              pipeline: spec.name,
              kind: 'error',
              element: 'encoder',
              message: 'Device or resource busy',
              debug: null,
            };
        if (working.has(encoder)) writeFileSync(file, output);
        for (const l of listeners) l(event);
      }, 5);
    },
    stopPipeline: async () => {},
    onBusEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { worker, started };
}

function selector(worker: EncoderWorker, pinned = 'auto') {
  return new EncoderSelector({
    worker,
    log: pino({ level: 'silent' }),
    pinned,
    scratchDir: mkdtempSync(join(tmpdir(), 'sel-')),
    hardwareFailuresBeforeFallback: 3,
  });
}

test('hardware first when its test encode works', async (t) => {
  const { worker } = fakeWorker(['x264enc', 'v4l2h264enc'], new Set(['x264enc', 'v4l2h264enc']));
  const s = selector(worker);
  t.is((await s.select())?.element, 'v4l2h264enc');
  t.like(s.status(), { state: 'ready', kind: 'hardware', fallbackReason: null });
});

test('hardware failing its test encode: software, with the reason said', async (t) => {
  const { worker, started } = fakeWorker(['x264enc', 'v4l2h264enc'], new Set(['x264enc']));
  const s = selector(worker);
  t.is((await s.select())?.element, 'x264enc');
  t.deepEqual(started, ['v4l2h264enc', 'x264enc']);
  t.is(s.status().fallbackReason, 'v4l2h264enc: encoder: Device or resource busy');
});

test('hardware failing N times at run time: software for this boot, and health says why', async (t) => {
  const { worker } = fakeWorker(['x264enc', 'v4l2h264enc'], new Set(['x264enc', 'v4l2h264enc']));
  const s = selector(worker);
  await s.select();
  t.false(s.reportRuntimeFailure('v4l2h264enc'));
  t.false(s.reportRuntimeFailure('v4l2h264enc'));
  t.true(s.reportRuntimeFailure('v4l2h264enc'), 'the third failure gives up on it');
  t.is((await s.select())?.element, 'x264enc');
  t.like(s.status(), {
    kind: 'software',
    failedHardware: ['v4l2h264enc'],
    fallbackReason: 'v4l2h264enc failed at run time',
  });
  t.false(s.reportRuntimeFailure('x264enc'), 'software is never given up on');
});

test('an encoder that reaches EOS without an H.264 stream is not used', async (t) => {
  const { worker } = fakeWorker(['openh264enc'], new Set(['openh264enc']), Uint8Array.of(1, 2, 3, 4));
  const s = selector(worker);
  t.is(await s.select(), null);
  t.like(s.status(), { state: 'none', fallbackReason: 'openh264enc: output is not an H.264 byte stream' });
});

test('a pinned encoder that is not installed: none, saying which', async (t) => {
  const { worker } = fakeWorker(['x264enc'], new Set(['x264enc']));
  const s = selector(worker, 'vpuenc_h264');
  t.is(await s.select(), null);
  t.is(s.status().fallbackReason, 'pinned encoder vpuenc_h264 is not installed');
});
