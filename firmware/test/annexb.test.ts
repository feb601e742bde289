import test from 'ava';
import fc from 'fast-check';
import { AnnexBError, nalUnits, summarize } from '../src/media/annexb.ts';

const sps = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e];
const pps = [0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
const idr = [0, 0, 1, 0x65, 0x88, 0x84, 0x00];
const p = [0, 0, 1, 0x41, 0x9a, 0x02];
/** A second slice of the same picture: first_mb_in_slice ≠ 0 (ue(v) starts with a 0 bit). */
const p2 = [0, 0, 1, 0x41, 0x40, 0x02];

test('NAL units and pictures are found; a second slice of a picture is not a new frame', (t) => {
  const stream = Uint8Array.from([...sps, ...pps, ...idr, ...p, ...p2, ...p]);
  t.deepEqual(
    nalUnits(stream).map((u) => u.type),
    [7, 8, 5, 1, 1, 1],
  );
  t.deepEqual(summarize(stream), { frames: 3, idrFrames: 1, hasParameterSets: true });
});

test('not a byte stream: a clear error', (t) => {
  t.throws(() => nalUnits(Uint8Array.of(1, 2, 3, 4)), { instanceOf: AnnexBError, message: /no start code/ });
  t.throws(() => nalUnits(Uint8Array.of(9, 0, 0, 1, 0x65, 1)), {
    message: /1 bytes before the first start code/,
  });
  t.throws(() => nalUnits(Uint8Array.of(0, 0, 1, 0xe5, 1)), { message: /forbidden_zero_bit/ });
});

test('property: any bytes parse or fail with AnnexBError; units never overlap or leave the stream', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        const units = nalUnits(bytes);
        let last = 0;
        for (const u of units) {
          if (u.offset < last || u.offset + u.length > bytes.length || u.length < 1)
            throw new Error('bad unit bounds');
          last = u.offset + u.length;
        }
        summarize(bytes);
      } catch (error) {
        if (!(error instanceof AnnexBError)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
