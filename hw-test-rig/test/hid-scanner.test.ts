import test from 'ava';
import { Backoff, BarcodeScanner, NodeHidOpener, pickScanner, type Scan } from '#device-drivers';
import { SimHidScanner } from '../src/hid/sim-hid-scanner.ts';
import { until } from './helpers/harness.ts';

function driver(sim: SimHidScanner, mode: 'wedge' | 'pos') {
  const scans: Array<Scan & { symbology: string | null }> = [];
  const problems: string[] = [];
  const scanner = new BarcodeScanner({
    identity: { vendorId: '0c2e', productId: '0b61' },
    mode,
    opener: sim,
    onScan: (s) => scans.push(s),
    onProblem: (m) => problems.push(m),
    backoff: new Backoff({ initialMs: 20, maxMs: 100 }),
  });
  return { scanner, scans, problems };
}

test.serial(
  'keyboard-wedge scanner: scans arrive as typed; unplugged and back, it scans again',
  async (t) => {
    const sim = new SimHidScanner();
    const { scanner, scans, problems } = driver(sim, 'wedge');
    scanner.start();
    t.teardown(() => scanner.stop());
    await until('connected', () => scanner.state === 'connected', 2000);
    t.true(sim.scan('CLINIC-LABEL-000123'));
    t.deepEqual(scans, [{ text: 'CLINIC-LABEL-000123', aim: null, symbology: null }]);
    sim.unplug();
    await until('searching', () => scanner.state === 'searching', 2000);
    t.regex(scanner.lastProblem ?? '', /no scanner 0c2e:0b61 is plugged in|could not read/);
    t.true(problems.some((p) => /scanner lost/.test(p)));
    sim.plug();
    await until('back', () => scanner.state === 'connected' && scanner.counters.connects === 2, 2000);
    sim.scan('410105197001020018');
    t.is(scans.at(-1)!.text, '410105197001020018');
  },
);

test.serial(
  'HID POS scanner: a long QR code in Chinese arrives whole, named by its symbology; a scanner in the wrong mode is named',
  async (t) => {
    const sim = new SimHidScanner(undefined, 'pos');
    const { scanner, scans } = driver(sim, 'pos');
    scanner.start();
    t.teardown(() => scanner.stop());
    await until('connected', () => scanner.state === 'connected', 2000);
    const text = `医保电子凭证|${'4101051970010200180000'.repeat(5)}|张三`;
    sim.scan(text);
    t.deepEqual(scans, [{ text, aim: ']Q1', symbology: 'QR Code' }]);
    sim.setMode('wedge');
    await until('wrong mode seen', () => /not in HID POS mode/.test(scanner.lastProblem ?? ''), 2000);
    t.like(
      pickScanner(await sim.list(), { identity: { vendorId: '0x0C2E', productId: '0B61' }, mode: 'wedge' }),
      {
        path: '/dev/hidraw-rig-scanner',
      },
    );
  },
);

test('the real opener on node-hid loads its binding and lists this machine’s HID devices (none here: no /dev/uhid)', async (t) => {
  const devices = await new NodeHidOpener().list();
  t.true(Array.isArray(devices));
  for (const d of devices) t.is(typeof d.vendorId, 'number');
});
