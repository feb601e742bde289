import test from 'ava';
import fc from 'fast-check';
import { hasMedia, Mp4Error, mp4TrackHandlers, playableLength } from '../src/media/mp4-boxes.ts';

const box = (type: string, ...children: Uint8Array[]): Uint8Array => {
  const size = 8 + children.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(Buffer.from(type, 'latin1'), 4);
  let at = 8;
  for (const c of children) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};
const hdlr = (handler: string) =>
  box('hdlr', new Uint8Array(8), Buffer.from(handler, 'latin1'), new Uint8Array(13));
const trak = (handler: string) =>
  box('trak', box('tkhd', new Uint8Array(84)), box('mdia', box('mdhd'), hdlr(handler)));
const file = (...moovChildren: Uint8Array[]) =>
  Buffer.concat([
    box('ftyp', Buffer.from('iso6')),
    box('moov', box('mvhd', new Uint8Array(100)), ...moovChildren),
  ]);

test('track handlers in order, as a recorder segment has them (video, then sound)', (t) => {
  t.deepEqual(mp4TrackHandlers(file(trak('vide'), trak('soun'))), ['vide', 'soun']);
  t.deepEqual(mp4TrackHandlers(file(trak('vide'))), ['vide']);
});

test('a file cut short after its header still lists its tracks; no moov is an error that says so', (t) => {
  const whole = Buffer.concat([file(trak('vide'), trak('soun')), box('moof', new Uint8Array(40))]);
  t.deepEqual(mp4TrackHandlers(whole.subarray(0, whole.length - 20)), ['vide', 'soun']);
  t.throws(() => mp4TrackHandlers(Buffer.from('not an mp4 at all')), {
    instanceOf: Mp4Error,
    message: /no movie box/,
  });
  const badSize = file(trak('vide'));
  new DataView(badSize.buffer, badSize.byteOffset).setUint32(0, 3);
  t.throws(() => mp4TrackHandlers(badSize), { instanceOf: Mp4Error, message: /has size 3/ });
});

test('fuzz: any bytes give handlers or an Mp4Error, never another exception', (t) => {
  const valid = file(trak('vide'), trak('soun'));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .record({ at: fc.nat(valid.length - 1), value: fc.integer({ min: 0, max: 255 }) })
          .map(({ at, value }) => {
            const copy = Uint8Array.from(valid);
            copy[at] = value;
            return copy;
          }),
        fc.nat(valid.length).map((n) => valid.subarray(0, n)),
      ),
      (bytes) => {
        try {
          const handlers = mp4TrackHandlers(bytes);
          return handlers.every((h) => h.length === 4);
        } catch (error) {
          return error instanceof Mp4Error;
        }
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});

test('a fragmented file cut mid-fragment is whole up to its last complete fragment', (t) => {
  const header = file(trak('vide'), trak('soun'));
  const fragment = Buffer.concat([box('moof', new Uint8Array(24)), box('mdat', new Uint8Array(500))]);
  const whole = Buffer.concat([header, fragment, fragment]);
  t.is(playableLength(whole), whole.length, 'a closed segment is kept whole');
  const intoMdat = whole.subarray(0, whole.length - 100);
  t.is(playableLength(intoMdat), header.length + fragment.length, 'a partial mdat goes, with its moof');
  const afterMoof = whole.subarray(0, header.length + fragment.length + 32);
  t.is(playableLength(afterMoof), header.length + fragment.length, 'a moof without its mdat goes');
  t.is(playableLength(whole.subarray(0, 20)), 12, 'just the 12-byte ftyp');
  t.is(playableLength(Buffer.from('garbage!garbage!')), 0);
});

test('media in a segment: none when empty, header only, or cut inside its first fragment', (t) => {
  const header = file(trak('vide'));
  const fragment = Buffer.concat([box('moof', new Uint8Array(24)), box('mdat', new Uint8Array(500))]);
  t.false(hasMedia(new Uint8Array()));
  t.false(hasMedia(header));
  t.false(hasMedia(Buffer.concat([header, fragment]).subarray(0, header.length + 100)));
  t.true(hasMedia(Buffer.concat([header, fragment])));
  t.false(hasMedia(Buffer.from('garbage!garbage!')));
});

test('fuzz: hasMedia never throws, and is true exactly when the playable part holds a fragment', (t) => {
  const fragment = Buffer.concat([box('moof', new Uint8Array(24)), box('mdat', new Uint8Array(64))]);
  const header = file(trak('vide'));
  const valid = Buffer.concat([header, fragment, fragment]);
  fc.assert(
    fc.property(
      fc.nat(valid.length),
      (n) => hasMedia(valid.subarray(0, n)) === n >= header.length + fragment.length,
    ),
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => typeof hasMedia(bytes) === 'boolean'));
  t.pass();
});

test('fuzz: playableLength is a box boundary within the bytes, and the cut file parses to the same length', (t) => {
  const fragment = Buffer.concat([box('moof', new Uint8Array(24)), box('mdat', new Uint8Array(64))]);
  const valid = Buffer.concat([file(trak('vide')), fragment, fragment]);
  fc.assert(
    fc.property(fc.nat(valid.length), (n) => {
      const cut = valid.subarray(0, n);
      const length = playableLength(cut);
      return length <= n && playableLength(cut.subarray(0, length)) === length;
    }),
  );
  t.pass();
});
