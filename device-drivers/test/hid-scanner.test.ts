import test from 'ava';
import fc from 'fast-check';
import { HidReportError, KeyboardWedgeDecoder, keyFor, wedgeReports } from '../src/hid-scanner/keyboard.ts';
import { HidPosDecoder, posReports, symbologyName } from '../src/hid-scanner/pos.ts';

const feed = (
  decoder: { push(r: Uint8Array): Array<{ text: string; aim: string | null }> },
  reports: Uint8Array[],
) => reports.flatMap((r) => decoder.push(r));

test('keyboard wedge: Shift gives capitals and symbols, a repeated letter needs its release, Enter ends the scan', (t) => {
  const d = new KeyboardWedgeDecoder();
  const r = (mod: number, ...keys: number[]) =>
    Uint8Array.of(mod, 0, ...keys, ...new Array(6 - keys.length).fill(0));
  const scans = feed(d, [
    r(0x02, 0x04), // A
    r(0), // release
    r(0, 0x05), // b
    r(0, 0x05), // still held: no second b
    r(0), // release
    r(0, 0x05), // b again
    r(0),
    r(0x20, 0x1f), // right Shift + 2 → @
    r(0),
    r(0, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01), // rollover: nothing new
    r(0, 0x28), // Enter
    r(0),
  ]);
  t.deepEqual(scans, [{ text: 'Abb@', aim: null }]);
});

test('keyboard wedge: an AIM prefix is split off; unknown usages are counted, not guessed; 7-byte reports refused', (t) => {
  const d = new KeyboardWedgeDecoder();
  t.deepEqual(feed(d, wedgeReports(']Q1HELLO-42')), [{ text: 'HELLO-42', aim: ']Q1' }]);
  d.push(Uint8Array.of(0, 0, 0x3a, 0, 0, 0, 0, 0)); // F1
  t.is(d.counters.unknownKeys, 1);
  t.throws(() => d.push(new Uint8Array(7)), { instanceOf: HidReportError, message: /8 bytes, not 7/ });
});

test('property: any text a wedge scanner can type comes back as typed', (t) => {
  const typable = fc
    .string({ minLength: 1, maxLength: 80 })
    .filter((s) => [...s].every((c) => keyFor(c) !== null) && !/^\][A-Za-z][0-9A-Za-z]/.test(s));
  fc.assert(
    fc.property(typable, (text) => {
      const scans = feed(new KeyboardWedgeDecoder(), wedgeReports(text));
      return scans.length === 1 && scans[0]!.text === text;
    }),
  );
  t.pass();
});

test('HID POS: a QR code of Chinese text across three reports is joined and decoded as UTF-8, with its symbology', (t) => {
  const text = '医保电子凭证:4101051970010200180000|张三|河南省郑州市金水区医疗保障局'.repeat(2);
  const reports = posReports(text);
  t.true(reports.length >= 3);
  const d = new HidPosDecoder();
  const scans = feed(d, reports);
  t.deepEqual(scans, [{ text, aim: ']Q1' }]);
  t.is(symbologyName(scans[0]!.aim), 'QR Code');
});

test('HID POS: wrong sizes and bytes that are not UTF-8 are refused, and the next scan still decodes', (t) => {
  const d = new HidPosDecoder();
  t.throws(() => d.push(new Uint8Array(63)), { instanceOf: HidReportError, message: /64 bytes, not 63/ });
  const tooLong = posReports('x')[0]!;
  tooLong[1] = 60;
  t.throws(() => d.push(tooLong), { message: /says 60 data bytes; it has room for 58/ });
  const notUtf8 = posReports('ab')[0]!;
  notUtf8[5] = 0xff;
  t.throws(() => d.push(notUtf8), { message: /not UTF-8/ });
  t.deepEqual(feed(d, posReports('OK-123', ']C0')), [{ text: 'OK-123', aim: ']C0' }]);
  t.is(d.counters.badReports, 3);
});

test('fuzz: any report bytes give scans or a HidReportError, in both modes', (t) => {
  const wedge = new KeyboardWedgeDecoder();
  const pos = new HidPosDecoder();
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), (bytes) => {
      for (const d of [wedge, pos]) {
        try {
          d.push(bytes);
        } catch (error) {
          if (!(error instanceof HidReportError)) return false;
        }
      }
      return true;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('HID relay frames: round trip, split anywhere, garbage refused with the reason', async (t) => {
  const { encodeRelayFrame, RelayFrameReader, HidRelayError } = await import(
    '../src/hid-scanner/hid-relay.ts'
  );
  const frames = [
    {
      type: 'info' as const,
      device: { vendorId: 0x0c2e, productId: 0x0b61, serialNumber: 'S1', usagePage: 0x8c },
    },
    { type: 'report' as const, report: Uint8Array.from([2, 0, 0x04, 0, 0, 0, 0, 0]) },
    { type: 'open' as const },
    { type: 'info' as const, device: null },
  ];
  const bytes = Uint8Array.from(frames.flatMap((f) => [...encodeRelayFrame(f)]));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 6 }), (cuts) => {
      const reader = new RelayFrameReader();
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const out = points.slice(1).flatMap((end, i) => reader.push(bytes.subarray(points[i], end)));
      t.deepEqual(out, frames);
    }),
    { numRuns: 200 },
  );
  t.throws(() => new RelayFrameReader().push(Uint8Array.from([0x58, 0, 0])), {
    instanceOf: HidRelayError,
    message: /unknown relay frame type 0x58/,
  });
  const notJson = Uint8Array.from([0x49, 0, 2, 0x7b, 0x7b]);
  t.throws(() => new RelayFrameReader().push(notJson), { message: /not JSON/ });
  const badIds = new TextEncoder().encode('{"vendorId":"x","productId":2}');
  const badInfo = Uint8Array.from([0x49, 0, badIds.length, ...badIds]);
  t.throws(() => new RelayFrameReader().push(badInfo), { message: /without numeric vendorId\/productId/ });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (junk) => {
      try {
        new RelayFrameReader().push(junk);
      } catch (error) {
        t.true(error instanceof HidRelayError, String(error));
      }
    }),
    { numRuns: 500 },
  );
});
