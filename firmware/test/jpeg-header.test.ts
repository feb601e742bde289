import test from 'ava';
import fc from 'fast-check';
import { JpegError, jpegInfo } from '../src/dicom/jpeg-header.ts';

/** SOI, an APP0 segment, then SOF0 for 640×360, 3 components. */
const BASELINE = Uint8Array.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x68, 0x02, 0x80, 0x03,
]);

test('the frame header gives size, components and whether it is baseline', (t) => {
  t.deepEqual(jpegInfo(BASELINE), { width: 640, height: 360, components: 3, baseline: true });
  const progressive = BASELINE.slice();
  progressive[9] = 0xc2;
  t.false(jpegInfo(progressive).baseline);
  t.throws(() => jpegInfo(Uint8Array.of(0x89, 0x50, 0x4e, 0x47)), {
    instanceOf: JpegError,
    message: /no SOI/,
  });
  t.throws(() => jpegInfo(BASELINE.subarray(0, 8)), { message: /no frame header/ });
});

test('property: any bytes after SOI give an answer or JpegError, never anything else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      try {
        jpegInfo(Uint8Array.from([0xff, 0xd8, ...tail]));
      } catch (error) {
        if (!(error instanceof JpegError)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
