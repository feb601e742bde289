import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { decodeScp } from '../src/scp-ecg/decode.ts';
import { hasTestdata, TESTDATA } from './helpers/scp-fixtures.ts';
import { testWhen } from './helpers/test-when.ts';

interface Expected {
  size: number;
  record_crc: string;
  sections: Record<string, { offset: number; length: number; crc: string; crc_ok: boolean }>;
  section6: { avm_nV: number; sample_interval_us: number };
  leads: Array<{
    code: number;
    name: string;
    samples: number;
    first10: number[];
    sum: number;
    min: number;
    max: number;
  }>;
}

const reference: Record<string, Expected> = hasTestdata
  ? JSON.parse(readFileSync(join(TESTDATA, 'scp/reference/scp_expected.json'), 'utf8'))
  : {};

const testdataTest = testWhen(hasTestdata, '../shared/testdata/scp is absent (CI requires it)');

testdataTest('the reference covers every compliant SCP file of the test data', (t) => {
  const files = readdirSync(join(TESTDATA, 'scp')).filter((f) => /\.scp$/i.test(f));
  t.deepEqual(Object.keys(reference).sort(), files.map((f) => `scp/${f}`).sort());
});

for (const [file, expected] of Object.entries(reference)) {
  test(`${file} decodes to the reference values`, (t) => {
    const bytes = readFileSync(join(TESTDATA, file));
    t.is(bytes.length, expected.size);
    const record = decodeScp(bytes);
    t.deepEqual(record.warnings, []);
    t.is(record.vendorProfile, null);
    t.is(`0x${record.recordCrc.toString(16).padStart(4, '0')}`, expected.record_crc);
    for (const [id, s] of Object.entries(expected.sections)) {
      const got = record.sections.find((x) => x.id === Number(id));
      t.truthy(got, `section ${id} found`);
      t.is(got!.offset, s.offset);
      t.is(got!.length, s.length);
      t.is(got!.crcOk, s.crc_ok);
    }
    t.is(record.leads.length, expected.leads.length);
    record.leads.forEach((lead, i) => {
      const e = expected.leads[i]!;
      const samples = [...lead.samples];
      t.is(lead.name, e.name);
      t.is(lead.code, e.code);
      t.is(lead.amplitudeNv, expected.section6.avm_nV);
      t.is(lead.sampleIntervalUs, expected.section6.sample_interval_us);
      t.is(samples.length, e.samples);
      t.deepEqual(samples.slice(0, 10), e.first10);
      t.is(
        samples.reduce((a, b) => a + b, 0),
        e.sum,
        `${e.name} sum`,
      );
      t.is(Math.min(...samples), e.min);
      t.is(Math.max(...samples), e.max);
    });
  });
}

testdataTest('ECG Toolkit example: Section 1 demographics and device', (t) => {
  const record = decodeScp(readFileSync(join(TESTDATA, 'scp/ecgtoolkit_Example.scp')));
  t.deepEqual(record.patient, {
    id: 'SBJ-123',
    lastName: 'Clark',
    firstName: null,
    birthDate: '1953-05-08',
    sex: 'M',
  });
  t.is(record.acquiredAt, '2002-11-22T09:10:00');
  t.is(record.device.model, 'ELI250');
  t.is(record.device.deviceId, 51);
  t.is(record.device.department, 11);
  t.is(record.device.manufacturerCode, 255);
  t.is(record.leads[0]!.sampleRateHz, 500);
});

for (const file of ['healforce_62.SCP', 'healforce_63.SCP']) {
  testdataTest(`${file} decodes with the Healforce Prince 180D profile`, (t) => {
    const record = decodeScp(readFileSync(join(TESTDATA, 'scp/quirks', file)));
    t.is(record.vendorProfile, 'healforce-prince-180d');
    t.true(record.warnings.some((w) => w.includes('Healforce')));
    t.is(record.acquiredAt, '2019-08-08T00:04:10');
    t.is(record.patient.id, '00000');
    t.deepEqual(
      record.leads.map((l) => l.name),
      ['I', 'II', 'III'],
    );
    for (const lead of record.leads) {
      t.is(lead.sampleRateHz, 150);
      t.is(lead.samples.length, 4500);
      t.true(lead.samples.every((v) => v >= -512 && v <= 511));
    }
    // Einthoven: II = I + III. The device quantises each lead on its own, so allow a few units.
    const [i, ii, iii] = record.leads.map((l) => l.samples);
    let error = 0;
    for (let k = 0; k < i!.length; k++) error += Math.abs(ii![k]! - i![k]! - iii![k]!);
    t.true(error / i!.length < 4, `mean |II − I − III| = ${error / i!.length}`);
  });
}
