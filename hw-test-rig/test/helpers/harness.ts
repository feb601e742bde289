import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dcmjs from 'dcmjs';
import pino from 'pino';
import { until } from '../../../device-drivers/test/helpers/until.ts';
import type { StatusResponse } from '../../../firmware/src/api/types.ts';
import { parseConfig } from '../../../firmware/src/config/schema.ts';
import { Daemon, type DaemonDeps } from '../../../firmware/src/daemon.ts';
import { decodedFrames } from '../../../firmware/test/helpers/gst-decode.ts';
import { Rig } from '../../src/rig.ts';
import { KioskCompositor } from '../../src/services/kiosk-compositor.ts';
import { LoopDisk } from '../../src/services/loop-disk.ts';

export const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/testdata');
export const hasTestdata = existsSync(join(TESTDATA, 'scp'));

export function testdataScpFiles(): string[] {
  if (!hasTestdata) return [];
  const dir = join(TESTDATA, 'scp');
  const quirks = join(dir, 'quirks');
  return [
    ...readdirSync(dir)
      .filter((f) => /\.scp$/i.test(f))
      .map((f) => join(dir, f)),
    ...readdirSync(quirks)
      .filter((f) => /\.scp$/i.test(f))
      .map((f) => join(quirks, f)),
  ];
}

export { until };

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

type ConfigOverrides = NonNullable<Parameters<Rig['firmwareConfig']>[0]>;

/** A rig plus an in-process daemon wired to it, as one test's world. */
export async function world(
  /** The rig's configuration overrides, plus what only a test world needs. */
  options: ConfigOverrides & {
    deps?: Partial<DaemonDeps>;
    kioskDir?: string;
    /** The terminal's link to the broker is cut (the broker itself runs, for observers). */
    brokerDown?: boolean;
    /** The media worker finds the rig's stand-in hardware encoder (fails on demand). */
    hwEncoder?: boolean;
    /** The firmware's data directory on a real file system of this many MB (tmpfs; root only). */
    diskMb?: number;
    /** The data centres run Janus media servers and the terminal is configured to call them. */
    call?: boolean;
    /**
     * The specialist's picture drawn by an overlay sink (waylandsink) into the kiosk's compositor
     * (cage, headless) inside this rectangle, as on the board; needs KioskCompositor.available().
     */
    overlay?: { x: number; y: number; width: number; height: number };
    /**
     * The overlay failing: 'no-display' (its sink finds no compositor and refuses to start; no
     * compositor is started), or after this many frames (an identity before the sink errors).
     */
    overlayFault?: 'no-display' | { afterFrames: number };
    /** A document camera beside the room camera (the rig's colour bars). */
    documentCamera?: boolean;
  } = {},
) {
  const {
    deps,
    kioskDir,
    brokerDown,
    hwEncoder,
    diskMb,
    call,
    overlay,
    overlayFault,
    documentCamera,
    ...overrides
  } = options;
  const dir = mkdtempSync(join(tmpdir(), 'rig-'));
  const rig = await Rig.start({
    dir,
    camera: overrides.media ?? false,
    ...(kioskDir ? { kioskDir } : {}),
    ...(call ? { call } : {}),
    ...(documentCamera ? { documentCamera } : {}),
  });
  const config = parseConfig(
    rig.firmwareConfig({
      healthIntervalS: 1,
      ...overrides,
      minFreeBytes: overrides.minFreeBytes ?? 0,
      // Most tests are about ECGs: the media worker runs only where a test asks for it.
      media: overrides.media ?? false,
    }),
  );
  const compositor = overlay && overlayFault !== 'no-display' ? await KioskCompositor.start(dir) : null;
  if (overlay)
    config.call.farEndDisplay = {
      kind: 'overlay',
      // The headless compositor takes RGB in shared memory only (no dmabuf, no YUV): converted.
      elements: [
        ...(typeof overlayFault === 'object'
          ? [{ id: 'fault', factory: 'identity', props: { 'error-after': overlayFault.afterFrames } }]
          : []),
        { id: 'convert', factory: 'videoconvert' },
        {
          id: 'sink',
          factory: 'waylandsink',
          props: { display: compositor?.display ?? 'telemed-no-such-display' },
        },
      ],
      rectangle: overlay,
    };
  if (brokerDown) rig.brokerLink.up = false;
  const disk = diskMb ? LoopDisk.create(dir, config.dataDir, diskMb) : null;
  const log = pino({ level: process.env['TELEMED_TEST_LOG'] ?? 'silent' });
  const daemon = new Daemon(config, { log, ...(hwEncoder ? { mediaEnv: rig.hwEncoder.env } : {}), ...deps });
  await daemon.start();
  // A cart's bytes sent before the terminal opened its end of the cable would be flushed by
  // the open, as on a real line: tests start once every cart link is up.
  await until(
    'cart links connected',
    () => [...daemon.carts.values()].every((c) => c.state === 'connected'),
    10_000,
  );
  return {
    dir,
    rig,
    daemon,
    config,
    /** Stops everything; fails the test if any answer of the local API broke its schema. */
    async stop() {
      await daemon.stop();
      await rig.stop();
      await compositor?.stop();
      disk?.stop();
      const invalid = daemon.api.snapshot().invalidResponses;
      if (invalid > 0) throw new Error(`${invalid} local API answer(s) broke their schema (see the log)`);
    },
  };
}

/** The terminal's local API as the kiosk uses it: status, and POSTs with the kiosk's token. */
/**
 * A test world with the camera and its media worker running and an encoder chosen, torn down
 * with the test; with its local API.
 */
export async function videoWorld(
  t: { teardown(fn: () => Promise<void> | void): void },
  options: Parameters<typeof world>[0] = {},
) {
  const w = await world({ media: true, ...options });
  t.teardown(() => w.stop());
  const media = w.daemon.media!;
  await until('encoder ready', () => media.encoders.status().state === 'ready', 30_000);
  return { w, media, ...localApi(w) };
}

export function localApi(w: { rig: Rig; config: { api: { token: string } } }) {
  const origin = new URL(w.rig.kioskUrl).origin;
  const headers = { authorization: `Bearer ${w.config.api.token}`, 'content-type': 'application/json' };
  return {
    origin,
    headers,
    status: async () =>
      (await (await fetch(`${origin}/api/v1/status`, { headers })).json()) as StatusResponse,
    get: (path: string) => fetch(`${origin}${path}`, { headers }),
    post: (path: string, body?: object) =>
      fetch(`${origin}${path}`, { method: 'POST', headers, ...(body ? { body: JSON.stringify(body) } : {}) }),
  };
}

/**
 * A delivered video segment as the data centre holds it: its DICOM attributes, and how many
 * frames of its H.264 stream actually decode (written beside the test world to `name`.mp4).
 */
export async function deliveredSegment(
  w: { rig: Rig; dir: string },
  sopUid: string,
  name: string,
): Promise<{ ds: Record<string, unknown>; decodedFrames: number; numberOfFrames: number }> {
  const bytes = await w.rig.dcs.A.instanceFile(sopUid);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
    dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    ).dict,
  ) as Record<string, unknown>;
  const file = join(w.dir, `${name}.mp4`);
  writeFileSync(file, new Uint8Array((ds['PixelData'] as ArrayBuffer[])[0]!));
  return { ds, decodedFrames: decodedFrames(file, 'mp4'), numberOfFrames: Number(ds['NumberOfFrames']) };
}
