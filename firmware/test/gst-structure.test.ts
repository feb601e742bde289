import test from 'ava';
import fc from 'fast-check';
import { numberField, parseStructure, StructureParseError } from '../src/media/gst-structure.ts';

const SRT_STATS =
  'application/x-srt-statistics, packets-sent=(gint64)84, packets-sent-lost=(int)0, packets-retransmitted=(int)3, ' +
  'packet-ack-received=(int)33, send-rate-mbps=(double)0.88957735066668253, negotiated-latency-ms=(int)125, ' +
  'rtt-ms=(double)0.044999999999999998, bytes-sent-total=(guint64)213568;';

test('srtsink statistics as GStreamer serialises them', (t) => {
  const s = parseStructure(SRT_STATS);
  t.is(s.name, 'application/x-srt-statistics');
  t.is(numberField(s, 'packets-sent'), 84);
  t.is(numberField(s, 'packets-retransmitted'), 3);
  t.is(numberField(s, 'rtt-ms'), 0.044999999999999998);
  t.is(numberField(s, 'bytes-sent-total'), 213568);
  t.is(numberField(s, 'missing'), null);
});

test('before the handshake only the total is there; an empty answer is refused clearly', (t) => {
  const s = parseStructure('application/x-srt-statistics, bytes-sent-total=(guint64)0;');
  t.is(numberField(s, 'packet-ack-received'), null);
  t.throws(() => parseStructure(''), { instanceOf: StructureParseError, message: /expected a name/ });
});

test('strings with escapes, booleans, and lists or ranges skipped', (t) => {
  const s = parseStructure(
    'x, name=(string)"a \\"quoted\\", text", ok=(boolean)true, sizes={ (int)1, (int)2 }, r=[ 1, 5 ], n=(int)7;',
  );
  t.is(s.fields['name'], 'a "quoted", text');
  t.is(s.fields['ok'], true);
  t.false('sizes' in s.fields);
  t.is(s.fields['n'], 7);
});

test('fuzz: any text either parses or throws StructureParseError naming where', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        parseStructure(text);
      } catch (error) {
        if (!(error instanceof StructureParseError)) throw error;
        if (!/at character \d+/.test(error.message)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.dictionary(fc.stringMatching(/^[a-z][a-z-]{0,12}$/), fc.integer({ min: -1e9, max: 1e9 }), {
        maxKeys: 12,
      }),
      (fields) => {
        const text = `s${Object.entries(fields)
          .map(([k, v]) => `, ${k}=(gint64)${v}`)
          .join('')};`;
        const parsed = parseStructure(text);
        for (const [k, v] of Object.entries(fields)) if (numberField(parsed, k) !== v) return false;
        return true;
      },
    ),
  );
  t.pass();
});
