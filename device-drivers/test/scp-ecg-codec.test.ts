import test from 'ava';
import fc from 'fast-check';
import { crcCcitt } from '../src/scp-ecg/crc.ts';
import { decodeScp } from '../src/scp-ecg/decode.ts';
import { isScpDecodeError, ScpDecodeError } from '../src/scp-ecg/errors.ts';
import {
  encodeScp,
  replaceSectionData,
  reseal,
  sectionOffset,
  sine,
  smallRecord,
  u32,
} from './helpers/scp-fixtures.ts';

function decodeError(t: import('ava').ExecutionContext, bytes: Uint8Array): ScpDecodeError {
  const error = t.throws(() => decodeScp(bytes), { instanceOf: ScpDecodeError });
  return error as ScpDecodeError;
}

test('encode then decode returns every sample and the demographics', (t) => {
  const input = smallRecord();
  const record = decodeScp(encodeScp(input));
  t.deepEqual(record.warnings, []);
  t.deepEqual(record.patient, {
    id: 'P-001',
    lastName: 'Wang',
    firstName: 'Fang',
    birthDate: '1960-03-04',
    sex: 'F',
  });
  t.is(record.acquiredAt, '2026-11-27T10:20:30');
  t.is(record.device.model, 'ECG12');
  t.is(record.device.serialNumber, 'SN123');
  t.deepEqual([...record.leads[0]!.samples], input.leads[0]!.samples);
  t.deepEqual([...record.leads[1]!.samples], input.leads[1]!.samples);
});

test('the stat code (Section 1 tag 24): routine, STAT levels 1–10, absent; a code past 10 is routine with a warning', (t) => {
  t.is(decodeScp(encodeScp(smallRecord())).statCode, null, 'a cart that does not say');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 }), (code) => {
      const record = decodeScp(encodeScp({ ...smallRecord(), statCode: code }));
      t.is(record.statCode, code);
      t.deepEqual(record.warnings, []);
    }),
  );
  const odd = decodeScp(encodeScp({ ...smallRecord(), statCode: 200 }));
  t.is(odd.statCode, 0);
  t.deepEqual(odd.warnings, ['section 1: stat code 200 is outside 0–10; read as routine']);
});

test('property: any samples survive every difference order and both codings', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: -8000, max: 8000 }), { minLength: 1, maxLength: 300 }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.constantFrom<0 | 1 | 2>(0, 1, 2),
      fc.constantFrom<'default' | 'none'>('default', 'none'),
      (leads, difference, huffman) => {
        const names = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6', 'III', 'aVR', 'aVL', 'aVF'];
        const input = smallRecord({
          difference,
          huffman,
          leads: leads.map((samples, i) => ({ name: names[i]!, samples })),
        });
        const record = decodeScp(encodeScp(input));
        return record.leads.every(
          (lead, i) => JSON.stringify([...lead.samples]) === JSON.stringify(leads[i]),
        );
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

test('reference-beat subtraction is undone exactly', (t) => {
  const beat = sine(60, 60, 400);
  const rhythm = sine(1000, 250, 100);
  const qrs = [100, 350, 600].map((f) => ({ start: f - 20, fiducial: f, end: f + 30 }));
  const withBeats = rhythm.map((v, i) => {
    const q = qrs.find((x) => i + 1 >= x.start && i + 1 <= x.end);
    return q ? v + beat[i + 1 - q.fiducial + 30 - 1]! : v;
  });
  const input = smallRecord({
    leads: [{ name: 'II', samples: withBeats }],
    referenceBeat: { samples: [beat], fiducial: 30, qrs },
  });
  const bytes = encodeScp(input);
  const record = decodeScp(bytes);
  t.deepEqual([...record.leads[0]!.samples], withBeats);
  t.true(record.sections.some((s) => s.id === 5));
});

test('bimodal compression: protected zones exact, the rest close', (t) => {
  const samples = sine(1200, 300, 500);
  const protectedZones = [
    { start: 101, end: 200 },
    { start: 601, end: 700 },
  ];
  const record = decodeScp(
    encodeScp(smallRecord({ leads: [{ name: 'I', samples }], bimodal: { rate: 4, protectedZones } })),
  );
  const out = [...record.leads[0]!.samples];
  t.is(out.length, samples.length);
  t.is(record.leads[0]!.sampleIntervalUs, 2000);
  for (const z of protectedZones)
    t.deepEqual(out.slice(z.start - 1, z.end), samples.slice(z.start - 1, z.end));
  const worst = Math.max(...out.map((v, i) => Math.abs(v - samples[i]!)));
  t.true(worst < 25, `worst interpolation error ${worst}`);
});

test('GB 2312 names decode as Chinese; GB text under an ASCII language code decodes with a warning', (t) => {
  const chinese = decodeScp(
    encodeScp(
      smallRecord({
        languageCode: 0x27,
        patient: { id: '110101199003077777', lastName: '张', firstName: '伟' },
      }),
    ),
  );
  t.is(chinese.patient.lastName, '张');
  t.is(chinese.patient.firstName, '伟');
  t.deepEqual(chinese.warnings, []);
  const bytes = encodeScp(smallRecord({ languageCode: 0x27, patient: { id: 'X', lastName: '欧阳' } }));
  const s1 = sectionOffset(bytes, 1);
  // Find tag 14's language byte and set it to 0 (ASCII), as many Chinese carts do.
  let at = s1 + 16;
  while (bytes[at] !== 14) at += 3 + (bytes[at + 1]! | (bytes[at + 2]! << 8));
  bytes[at + 3 + 16] = 0;
  const record = decodeScp(reseal(bytes));
  t.is(record.patient.lastName, '欧阳');
  t.true(record.warnings.some((w) => w.includes('gb18030')));
});

test('protocol version 1.3 and 3.0 records decode', (t) => {
  for (const protocolVersion of [13, 30]) {
    const record = decodeScp(encodeScp(smallRecord({ protocolVersion })));
    t.is(record.protocolVersion, protocolVersion);
    t.deepEqual(record.warnings, []);
  }
});

test('a bad record CRC is refused and says so', (t) => {
  const bytes = encodeScp(smallRecord());
  bytes[0]! ^= 0xff;
  const error = decodeError(t, bytes);
  t.is(error.location, 'record');
  t.regex(error.message, /Record: CRC: stored 0x[0-9a-f]{4} does not match computed/);
});

test('a bad section CRC names the section', (t) => {
  const bytes = encodeScp(smallRecord());
  const s6 = sectionOffset(bytes, 6);
  bytes[s6]! ^= 0x01;
  const error = decodeError(t, resealRecordOnly(bytes));
  t.is(error.location, 'section 6');
  t.is(error.field, 'CRC');
});

/** Recomputes only the record CRC, so that a section's own CRC check is the one that fires. */
function resealRecordOnly(bytes: Uint8Array): Uint8Array {
  const crc = crcCcitt(bytes, 2, u32(bytes, 2));
  bytes[0] = crc & 0xff;
  bytes[1] = crc >> 8;
  return bytes;
}

test('a record cut short says how many bytes are missing', (t) => {
  const bytes = encodeScp(smallRecord());
  const error = decodeError(t, bytes.subarray(0, bytes.length - 100));
  t.is(error.field, 'length');
  t.regex(error.message, /cut short/);
});

test('a truncated section (length field pointing past the end) is refused', (t) => {
  const bytes = encodeScp(smallRecord());
  const s3 = sectionOffset(bytes, 3);
  bytes[s3 + 4] = 0xff;
  bytes[s3 + 5] = 0xff;
  const error = decodeError(t, reseal(bytes));
  t.is(error.location, 'section 3');
  t.regex(error.message, /runs past the end of the record/);
});

test('a Section 0 pointer past the end is refused', (t) => {
  const bytes = encodeScp(smallRecord());
  // pointer entries start at 22; the entry for section 6 has index at +6
  for (let at = 22; at < 22 + 130; at += 10) {
    if (bytes[at] === 6) {
      bytes[at + 6] = 0xff;
      bytes[at + 7] = 0xff;
    }
  }
  const error = decodeError(t, reseal(bytes));
  t.is(error.location, 'section 0');
  t.regex(error.field, /pointer to section 6/);
});

test('zero leads is refused; an impossible lead count is refused', (t) => {
  const zero = encodeScp(smallRecord());
  zero[sectionOffset(zero, 3) + 16] = 0;
  t.is(decodeError(t, reseal(zero)).field, 'number of leads');
  const many = encodeScp(smallRecord());
  many[sectionOffset(many, 3) + 16] = 255;
  const error = decodeError(t, reseal(many));
  t.regex(error.message, /declares 255 leads but holds definitions for only 2/);
  t.throws(
    () =>
      encodeScp(smallRecord({ leads: Array.from({ length: 1000 }, () => ({ name: 'I', samples: [1] })) })),
    {
      instanceOf: RangeError,
    },
  );
});

test('a Section 3 holding 1,000 lead definitions (the count byte wraps) is refused, naming the mismatch', (t) => {
  const base = encodeScp(smallRecord());
  const leads = 1000;
  const data = new Uint8Array(2 + leads * 9);
  data[0] = leads & 0xff;
  for (let i = 0; i < leads; i++) {
    const at = 2 + i * 9;
    data[at] = 1;
    data[at + 4] = 500 & 0xff;
    data[at + 5] = 500 >> 8;
    data[at + 8] = 1 + (i % 12);
  }
  const error = decodeError(t, replaceSectionData(base, 3, data));
  // A u8 cannot say 1000: the decoder reads the 232 it says and finds Section 6 holds 2 leads' data.
  t.is(error.message, 'Section 6: header: too short for 232 lead byte counts');
});

test('a lead declaring more samples than Section 6 holds decodes with a warning (Contec overflow)', (t) => {
  const bytes = encodeScp(smallRecord());
  const s3 = sectionOffset(bytes, 3);
  // lead 1 end sample: 500 -> 70000 (what a 16-bit length overflow looks like from the other side)
  const end = s3 + 16 + 2 + 4;
  new DataView(bytes.buffer).setUint32(end, 70000, true);
  const record = decodeScp(reseal(bytes));
  t.true(record.leads[0]!.samples.length >= 500 && record.leads[0]!.samples.length < 510);
  t.true(record.warnings.some((w) => w.includes('declares 70000 samples')));
});

test('0-based sample numbers decode with an off-by-one warning', (t) => {
  const bytes = encodeScp(smallRecord());
  const s3 = sectionOffset(bytes, 3);
  const view = new DataView(bytes.buffer);
  for (let lead = 0; lead < 2; lead++) {
    view.setUint32(s3 + 18 + lead * 9, 0, true);
    view.setUint32(s3 + 18 + lead * 9 + 4, 499, true);
  }
  const record = decodeScp(reseal(bytes));
  t.is(record.leads[0]!.samples.length, 500);
  t.true(record.warnings.some((w) => w.includes('off by one')));
});

test('strings without a NUL terminator decode with a warning', (t) => {
  const bytes = encodeScp(smallRecord({ patient: { id: 'ABC', lastName: 'Li' } }));
  const s1 = sectionOffset(bytes, 1);
  // first tag is last name "Li\0": replace the NUL with a space
  t.is(bytes[s1 + 16], 0);
  bytes[s1 + 16 + 3 + 2] = 0x20;
  const record = decodeScp(reseal(bytes));
  t.is(record.patient.lastName, 'Li');
  t.true(record.warnings.some((w) => w.includes('not NUL-terminated')));
});

test('an unknown section is kept out of decoding with a warning; vendor sections pass silently', (t) => {
  const record = decodeScp(
    encodeScp(
      smallRecord({
        extraSections: [
          { id: 40, data: Uint8Array.from([1, 2, 3, 4]) },
          { id: 200, data: Uint8Array.from([9, 9]) },
        ],
      }),
    ),
  );
  t.deepEqual(record.warnings, [
    'section 40: not defined by the standard; kept in the original file, not decoded',
  ]);
  t.true(record.sections.some((s) => s.id === 200));
  t.is(record.leads.length, 2);
});

test('property: any byte string decodes or fails with ScpDecodeError, never anything else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      try {
        decodeScp(bytes);
      } catch (error) {
        if (!isScpDecodeError(error)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: a valid record with random bytes changed and CRCs recomputed never crashes the decoder', (t) => {
  const base = encodeScp(smallRecord({ referenceBeat: undefined }));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      (edits) => {
        const bytes = Uint8Array.from(base);
        for (const [at, value] of edits) bytes[at] = value;
        try {
          decodeScp(reseal(bytes));
        } catch (error) {
          if (!isScpDecodeError(error)) throw error;
        }
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});
