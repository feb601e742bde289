import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { decodeScp } from '#device-drivers';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { readEcgWaveform } from '../../firmware/src/dicom/ecg-read.ts';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { parseWfdbHeader, readFormat212, WfdbError, wfdbToScp, wfdbWindow } from '../src/cart/wfdb.ts';
import { TESTDATA, until, world } from './helpers/harness.ts';

const HEA = join(TESTDATA, 'wfdb/100.hea');
const wfdbTest = testWhen(existsSync(HEA), '../shared/testdata/wfdb is absent (CI requires it)');

wfdbTest(
  'MIT-BIH record 100: header quirks, format 212, checksums, and V5 equal to the WFDB tools’ output',
  (t) => {
    const header = parseWfdbHeader(readFileSync(HEA, 'utf8'));
    t.is(header.frequencyHz, 360);
    t.is(header.samplesPerSignal, 650_000);
    t.deepEqual(
      header.signals.map((s) => [s.description, s.gain, s.zero, s.initial, s.checksum]),
      [
        ['MLII', 200, 1024, 995, -22131],
        ['V5', 200, 1024, 1011, 20052],
      ],
    );
    const signals = readFormat212(header, readFileSync(join(TESTDATA, 'wfdb/100.dat')));
    const reference = readFileSync(join(TESTDATA, 'wfdb/reference/100.V5.samples1-10799.rdsamp.txt'), 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    t.is(reference.length, 10_799);
    // The file is `rdsamp -f` from sample number 1 (WFDB numbers samples from 0), 10799 values.
    const v5 = signals[1]!;
    t.is(v5[0], header.signals[1]!.initial);
    t.is(
      reference.findIndex((value, i) => value !== v5[i + 1]),
      -1,
      'every V5 sample equals the WFDB tools’ value',
    );
  },
);

wfdbTest('a damaged signal file is refused by its checksum, naming the signal', (t) => {
  const header = parseWfdbHeader(readFileSync(HEA, 'utf8'));
  const bytes = new Uint8Array(readFileSync(join(TESTDATA, 'wfdb/100.dat')));
  bytes[3000]! ^= 0x01;
  t.throws(() => readFormat212(header, bytes), {
    instanceOf: WfdbError,
    message: /signal 0 \(MLII\): checksum/,
  });
  t.throws(() => readFormat212(header, bytes.subarray(0, 100)), { message: /need 1950000/ });
});

test('property: any header text and any signal bytes parse or fail with WfdbError', (t) => {
  const line = fc.oneof(
    fc.string(),
    fc.constantFrom('100 2 360 650000', '100.dat 212 200 11 1024 995 -22131 0 MLII', '# c', '', 'x 212 0'),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 6 }), fc.uint8Array({ maxLength: 64 }), (lines, bytes) => {
      try {
        const header = parseWfdbHeader(lines.join('\n'));
        readFormat212({ ...header, samplesPerSignal: Math.min(header.samplesPerSignal, 40) }, bytes);
      } catch (error) {
        if (!(error instanceof WfdbError)) throw error;
      }
    }),
  );
  t.pass();
});

wfdbTest('a real recording played by the cart arrives at the data centre sample for sample', async (t) => {
  const window = { startS: 60, seconds: 10 };
  const header = parseWfdbHeader(readFileSync(HEA, 'utf8'));
  const expected = wfdbWindow(
    header,
    readFormat212(header, readFileSync(join(TESTDATA, 'wfdb/100.dat'))),
    window,
  );
  const scp = wfdbToScp(HEA, window);
  const record = decodeScp(scp);
  t.deepEqual(
    record.leads.map((l) => l.name),
    ['II', 'V5'],
  );

  const w = await world();
  t.teardown(() => w.stop());
  await new CartSimulator(w.rig.cables[0]!.cartEnd).send([{ name: '100.SCP', bytes: scp }]);
  const row = await until('delivered', () => w.daemon.store.inState('delivered')[0]);
  const back = readEcgWaveform(await w.rig.dcs.A.instanceFile(row.sop_uid!));
  t.is(back.leads.length, 2);
  back.leads.forEach((lead, i) => {
    t.is(lead.sensitivityUv, 5, '200 adu/mV is 5 µV per unit');
    const want = expected[i]!.samples;
    t.is(lead.samples.length, want.length);
    t.is(
      want.findIndex((value, k) => value !== lead.samples[k]),
      -1,
      `${expected[i]!.name}: every sample as recorded`,
    );
  });
});
