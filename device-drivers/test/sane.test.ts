import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import {
  backendError,
  capabilities,
  DEVICE_LIST_FORMAT,
  lastProgress,
  parseDeviceList,
  parseOptions,
} from '../src/sane/parser.ts';
import { encodePnm, PnmError, parsePnm } from '../src/sane/pnm.ts';
import { SaneError, ScanimageBackend } from '../src/sane/scanner.ts';
import { testWhen } from './helpers/test-when.ts';

/** What `scanimage -d test:0 -A` prints (sane-backends 1.2), trimmed to a few option kinds. */
const TEST_OPTIONS = `
Options specific to device \`test:0':
  Scan Mode:
    --mode Gray|Color [Gray]
        Selects the scan mode (e.g., lineart, monochrome, or color).
    --depth 1|8|16 [8]
        Number of bits per sample.
    --hand-scanner[=(yes|no)] [no]
        Simulate a hand-scanner.
    --three-pass-order RGB|RBG|GBR|GRB|BRG|BGR [inactive]
        Set the order of frames in three-pass color mode.
    --resolution 1..1200dpi (in steps of 1) [50]
        Sets the resolution of the scanned image.
    --source Flatbed|Automatic Document Feeder [Flatbed]
        If Automatic Document Feeder is selected, the feeder will be 'empty'
        after 10 scans.
  Geometry:
    -l 0..200mm (in steps of 1) [0]
        Top-left x position of scan area.
    -x 0..200mm (in steps of 1) [80]
        Width of scan-area.
    -y 0..200mm (in steps of 1) [100]
        Height of scan-area.
`;

/** A sheet-fed office scanner (epjitsu-style) lists its resolutions and names its feeder sides. */
const FEEDER_OPTIONS = `
  Scan Mode:
    --source ADF Front|ADF Back|ADF Duplex [ADF Front]
    --mode Lineart|Gray|Color [Lineart]
    --resolution 50|75|150|300|600dpi [300]
  Geometry:
    -x 0..215.872mm [215.872]
    -y 0..297.18mm [279.364]
`;

test('options: lists, ranges with units and steps, booleans, inactive ones', (t) => {
  const options = parseOptions(TEST_OPTIONS);
  t.deepEqual(options.get('mode')?.values, { kind: 'list', choices: ['Gray', 'Color'] });
  t.is(options.get('mode')?.current, 'Gray');
  t.deepEqual(options.get('resolution')?.values, { kind: 'range', min: 1, max: 1200, step: 1 });
  t.is(options.get('resolution')?.unit, 'dpi');
  t.deepEqual(options.get('hand-scanner')?.values, { kind: 'list', choices: ['yes', 'no'] });
  t.true(options.get('three-pass-order')?.inactive);
  t.is(options.get('three-pass-order')?.current, null);
  t.deepEqual(options.get('x')?.values, { kind: 'range', min: 0, max: 200, step: 1 });
  t.deepEqual(capabilities(options), {
    resolutions: [75, 100, 150, 200, 300, 400, 600],
    modes: ['Gray', 'Color'],
    sources: ['Flatbed', 'Automatic Document Feeder'],
    maxWidthMm: 200,
    maxHeightMm: 200,
    feeder: 'Automatic Document Feeder',
  });
});

test('options of a sheet-fed scanner: listed resolutions, fractional mm, feeder named ADF Front', (t) => {
  const caps = capabilities(parseOptions(FEEDER_OPTIONS));
  t.deepEqual(caps.resolutions, [50, 75, 150, 300, 600]);
  t.is(caps.maxWidthMm, 215.872);
  t.is(caps.feeder, 'ADF Front');
  t.deepEqual(caps.modes, ['Lineart', 'Gray', 'Color']);
});

test('device list, progress and backend errors', (t) => {
  t.is(DEVICE_LIST_FORMAT, '%d\t%v\t%m\t%t%n');
  t.deepEqual(parseDeviceList('test:0\tNoname\tfrontend-tester\tvirtual device\nnot a device line\n\n'), [
    { name: 'test:0', vendor: 'Noname', model: 'frontend-tester', type: 'virtual device' },
  ]);
  t.is(lastProgress('Progress: 12.5%\rProgress: 40.0%\r'), 0.4);
  t.is(lastProgress('Scanning page 2\n'), null);
  t.is(lastProgress('Progress: 140.0%'), null, 'out of range is ignored');
  t.is(
    backendError('Scanning page 1\nscanimage: sane_read: Error during device I/O\nScanned page 1.'),
    'sane_read: Error during device I/O',
  );
  t.is(backendError('Progress: 100%\n'), null);
  // Stopped by the driver after the failure: scanimage's signal lines do not hide the real error.
  t.is(
    backendError(
      'scanimage: sane_read: Error during device I/O\nscanimage: received signal 15\nscanimage: trying to stop scanner...\nscanimage: received signal 15\nscanimage: aborting\n',
    ),
    'sane_read: Error during device I/O',
  );
  t.is(backendError('scanimage: received signal 2\nscanimage: aborting\n'), 'aborting', 'nothing else said');
});

test('property: the option and list parsers take any text without throwing', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (text) => {
      const options = parseOptions(text);
      const caps = capabilities(options);
      t.true(caps.resolutions.every((r) => Number.isFinite(r) && r > 0));
      parseDeviceList(text);
      const p = lastProgress(text);
      t.true(p === null || (p >= 0 && p <= 1));
      backendError(text);
    }),
    { numRuns: 500 },
  );
});

test('PNM: grey, colour, 16-bit and bitmap pages decode to 8-bit samples; comments are skipped', (t) => {
  const grey = parsePnm(
    Uint8Array.from([
      ...new TextEncoder().encode('P5\n# SANE data follows\n3 2\n255\n'),
      0,
      0x80,
      0xff,
      0x10,
      0x20,
      0x30,
    ]),
  );
  t.deepEqual([grey.width, grey.height, grey.channels], [3, 2, 1]);
  t.deepEqual([...grey.data], [0, 128, 255, 16, 32, 48]);
  const deep = parsePnm(
    Uint8Array.from([...new TextEncoder().encode('P5 2 1 65535\n'), 0xff, 0xff, 0x80, 0x00]),
  );
  t.deepEqual([...deep.data], [255, 128]);
  const bits = parsePnm(Uint8Array.from([...new TextEncoder().encode('P4\n10 1\n'), 0b10100000, 0b01000000]));
  t.deepEqual([...bits.data], [0, 255, 0, 255, 255, 255, 255, 255, 255, 0]);
  const colour = parsePnm(encodePnm({ width: 1, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3]) }));
  t.deepEqual([...colour.data], [1, 2, 3]);
});

test('PNM: damaged files say what is wrong', (t) => {
  const bad = (text: string | Uint8Array) =>
    t.throws(() => parsePnm(typeof text === 'string' ? new TextEncoder().encode(text) : text), {
      instanceOf: PnmError,
    })?.message;
  t.regex(bad('GIF89a') ?? '', /not a PNM image/);
  t.regex(bad('P3\n1 1\n255\n0 0 0') ?? '', /unsupported PNM type P3/);
  t.regex(bad('P5\n4 4\n255\n\x00\x00') ?? '', /truncated: 2 of 16 sample bytes \(0 of 4 rows\)/);
  t.regex(bad('P5\n0 4\n255\n') ?? '', /image size 0×4/);
  t.regex(bad('P5\n4 4') ?? '', /header ends/);
  t.regex(bad('P5\n4 4\n0\n') ?? '', /maximum sample value 0/);
  t.regex(bad('P5\n4 x\n') ?? '', /unexpected byte 0x78/);
});

test('property: PNM round-trips any 8-bit raster, and any bytes parse or throw PnmError', (t) => {
  const raster = fc
    .record({
      width: fc.integer({ min: 1, max: 20 }),
      height: fc.integer({ min: 1, max: 20 }),
      channels: fc.constantFrom(1 as const, 3 as const),
    })
    .chain((r) =>
      fc
        .uint8Array({
          minLength: r.width * r.height * r.channels,
          maxLength: r.width * r.height * r.channels,
        })
        .map((data) => ({ ...r, data })),
    );
  fc.assert(
    fc.property(raster, (r) => {
      const back = parsePnm(encodePnm(r));
      t.deepEqual([back.width, back.height, back.channels], [r.width, r.height, r.channels]);
      t.deepEqual(back.data, r.data);
    }),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('P4', 'P5', 'P6', ''), (bytes, magic) => {
      const input = Uint8Array.from([...new TextEncoder().encode(magic), ...bytes]);
      try {
        const r = parsePnm(input);
        t.is(r.data.length, r.width * r.height * r.channels);
      } catch (error) {
        t.true(error instanceof PnmError, String(error));
      }
    }),
    { numRuns: 1000 },
  );
});

/** SANE's test backend through the real scanimage, enabled by a SANE config directory of our own. */
function saneTestConfig(extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'sane-'));
  writeFileSync(join(dir, 'dll.conf'), 'test\n');
  writeFileSync(join(dir, 'test.conf'), ['number_of_devices 1', 'test-picture "Grid"', ...extra].join('\n'));
  return dir;
}

const scanimageTest = testWhen(
  existsSync('/usr/bin/scanimage'),
  'scanimage (sane-utils) is not installed: bash .ci/setup installs it',
);

scanimageTest(
  'scanimage: lists the test scanner, reads its options, scans pages from the feeder in order',
  async (t) => {
    const backend = new ScanimageBackend({ env: { SANE_CONFIG_DIR: saneTestConfig() } });
    const [device] = await backend.listDevices();
    t.is(device?.name, 'test:0');
    const caps = await backend.capabilities('test:0');
    t.is(caps.feeder, 'Automatic Document Feeder');
    const work = mkdtempSync(join(tmpdir(), 'scan-'));
    const pages: number[] = [];
    const progress: number[] = [];
    const outcome = await backend.scan(
      {
        device: 'test:0',
        resolution: 75,
        mode: 'Gray',
        source: caps.feeder,
        widthMm: 50,
        heightMm: 60,
        maxPages: 2,
      },
      work,
      { onPage: (p) => pages.push(p.number), onProgress: (_, f) => progress.push(f) },
    );
    t.deepEqual(outcome, { ended: 'done', pages: 2, error: null });
    t.deepEqual(pages, [1, 2]);
    t.true(progress.length > 0);
    const page = parsePnm(new Uint8Array(readFileSync(join(work, 'page-1.pnm'))));
    t.is(page.width, Math.floor((50 / 25.4) * 75));
    // Until the feeder is empty (the test backend's holds ten sheets).
    const all = await backend.scan(
      {
        device: 'test:0',
        resolution: 25,
        mode: 'Gray',
        source: caps.feeder,
        widthMm: 20,
        heightMm: 20,
        maxPages: null,
      },
      mkdtempSync(join(tmpdir(), 'scan-')),
    );
    t.deepEqual(all, { ended: 'done', pages: 10, error: null });
  },
);

scanimageTest(
  'scanimage: an empty feeder, a backend I/O error and a missing frontend are told apart',
  async (t) => {
    const failing = new ScanimageBackend({
      env: { SANE_CONFIG_DIR: saneTestConfig(['read-status-code "SANE_STATUS_IO_ERROR"']) },
    });
    const work = mkdtempSync(join(tmpdir(), 'scan-'));
    const outcome = await failing.scan(
      {
        device: 'test:0',
        resolution: 50,
        mode: 'Gray',
        source: null,
        widthMm: 20,
        heightMm: 20,
        maxPages: 1,
      },
      work,
    );
    t.is(outcome.ended, 'failed');
    t.regex(outcome.error ?? '', /Error during device I\/O/);
    t.deepEqual(readdirSync(work), [], 'no partial page is left');
    const missing = new ScanimageBackend({ command: '/nonexistent/scanimage' });
    await t.throwsAsync(missing.listDevices(), {
      instanceOf: SaneError,
      message: /not installed \(Debian package sane-utils\)/,
    });
    t.throws(
      () =>
        failing.scan(
          {
            device: 'test:0',
            resolution: 0,
            mode: 'Gray',
            source: null,
            widthMm: null,
            heightMm: null,
            maxPages: 1,
          },
          work,
        ),
      { instanceOf: SaneError, message: /resolution must be positive/ },
    );
  },
);

scanimageTest(
  'scanimage: a scan cancelled mid-page stops the backend and keeps only finished pages',
  async (t) => {
    // One byte per read: a page takes seconds.
    const slow = new ScanimageBackend({
      env: { SANE_CONFIG_DIR: saneTestConfig(['read-limit true', 'read-limit-size 1']) },
      cancelGraceMs: 2000,
    });
    const controller = new AbortController();
    const work = mkdtempSync(join(tmpdir(), 'scan-'));
    const outcome = await slow.scan(
      {
        device: 'test:0',
        resolution: 200,
        mode: 'Gray',
        source: null,
        widthMm: 200,
        heightMm: 200,
        maxPages: 1,
      },
      work,
      {
        signal: controller.signal,
        onProgress: (_, f) => {
          if (f > 0.02) controller.abort();
        },
      },
    );
    t.deepEqual(outcome, { ended: 'cancelled', pages: 0, error: null });
    t.deepEqual(readdirSync(work), []);
  },
);

test('scanimage: a backend that goes silent is stopped after the stall limit, and says so', async (t) => {
  // A stand-in for a hung backend: prints nothing and never exits by itself.
  const dir = mkdtempSync(join(tmpdir(), 'hung-'));
  const command = join(dir, 'scanimage');
  writeFileSync(command, '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
  const hung = new ScanimageBackend({ command, stallTimeoutMs: 300, cancelGraceMs: 200 });
  const work = mkdtempSync(join(tmpdir(), 'scan-'));
  const outcome = await hung.scan(
    { device: 'test:0', resolution: 50, mode: 'Gray', source: null, widthMm: 20, heightMm: 20, maxPages: 1 },
    work,
  );
  t.is(outcome.ended, 'failed');
  t.regex(outcome.error ?? '', /stopped answering \(nothing for 0.3 s\).*switch it off and on again/);
  t.deepEqual(readdirSync(work), []);
});

test('scanimage: a backend that hangs at exit after its batch ended is killed and judged by what it printed', async (t) => {
  // sane-backends 1.1.1's test backend deadlocks at exit after an I/O error, now and then: the
  // frontend has printed the end of its batch and never exits.
  const dir = mkdtempSync(join(tmpdir(), 'hang-at-exit-'));
  const script = (lines: string) => {
    const command = join(dir, `scanimage-${Math.random().toString(36).slice(2)}`);
    writeFileSync(command, `#!/bin/sh\nprintf '${lines}' >&2\nexec sleep 600\n`, { mode: 0o755 });
    return command;
  };
  const settings = {
    device: 'test:0',
    resolution: 50,
    mode: 'Gray',
    source: null,
    widthMm: 20,
    heightMm: 20,
    maxPages: 2,
  } as const;
  const failing = new ScanimageBackend({
    command: script(
      'Scanning page 1\\nscanimage: sane_read: Error during device I/O\\nScanned page 1. (scanner status = 9)\\nBatch terminated, 1 page scanned\\n',
    ),
    exitGraceMs: 200,
  });
  const started = performance.now();
  const failed = await failing.scan(settings, mkdtempSync(join(tmpdir(), 'scan-')));
  t.is(failed.ended, 'failed');
  t.regex(failed.error ?? '', /Error during device I\/O/);
  t.true(performance.now() - started < 5000, 'not the 90 s stall limit');
  const emptied = new ScanimageBackend({
    command: script(
      'Scanning page 1\\nscanimage: sane_start: Document feeder out of documents\\nBatch terminated, 0 pages scanned\\n',
    ),
    exitGraceMs: 200,
  });
  const empty = await emptied.scan(settings, mkdtempSync(join(tmpdir(), 'scan-')));
  t.deepEqual(empty, { ended: 'failed', pages: 0, error: 'the document feeder is empty' });
});
