import test from 'ava';
import fc from 'fast-check';
import { COMMAND, PREAMBLE, STATUS } from '../src/id-card/consts.ts';
import {
  encodeCommand,
  encodeReply,
  IdCardFrameError,
  scanReply,
  xorChecksum,
} from '../src/id-card/frame.ts';
import { parseCardData } from '../src/id-card/parser.ts';
import { type CardText, encodeCardData } from '../src/id-card/writer.ts';

const card: CardText = {
  name: '张三丰',
  sexCode: '1',
  ethnicityCode: '01',
  birthDate: '19700102',
  address: '河南省郑州市金水区经三路1号',
  idNumber: '410105197001020018',
  issuingOffice: '郑州市公安局金水分局',
  validFrom: '20200101',
  validTo: '长期',
};

test('command frames: preamble, big-endian length, CMD PARA, XOR over everything after the preamble', (t) => {
  // Find card, as every SAM reader's manual prints it.
  t.deepEqual(
    [...encodeCommand(COMMAND.findCard)],
    [0xaa, 0xaa, 0xaa, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22],
  );
  t.deepEqual([...encodeCommand(COMMAND.readCard)].slice(-3), [0x30, 0x01, 0x32]);
  t.is(xorChecksum(Uint8Array.of(0x00, 0x03, 0x20, 0x02)), 0x21);
});

test('a read reply round-trips: the GA/T 490 fields decoded from UCS-2, the photo kept as bytes', (t) => {
  const photo = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
  const frame = encodeReply([0, 0, STATUS.success], encodeCardData(card, photo));
  t.is(frame.length, 5 + 2 + 1288, 'length field 0x0508');
  const scanned = scanReply(frame);
  if (scanned.kind !== 'frame') return t.fail(scanned.kind);
  t.is(scanned.consumed, frame.length);
  t.is(scanned.frame.sw3, STATUS.success);
  const read = parseCardData(scanned.frame.data);
  t.like(read, {
    name: '张三丰',
    sex: 'M',
    ethnicityCode: '01',
    birthDate: '1970-01-02',
    address: '河南省郑州市金水区经三路1号',
    idNumber: '410105197001020018',
    issuingOffice: '郑州市公安局金水分局',
    validFrom: '2020-01-01',
    validTo: '长期',
  });
  t.deepEqual(read.photo, photo);
});

test('noise before a reply, a damaged copy, and a reply cut in two: the real frame is still found', (t) => {
  const reply = encodeReply([0, 0, STATUS.cardFound], Uint8Array.of(0, 0, 0, 0));
  const damaged = Uint8Array.from(reply);
  damaged[damaged.length - 1]! ^= 0xff;
  const stream = Uint8Array.from([0x00, 0xaa, 0x13, ...damaged, ...reply]);
  const first = scanReply(stream);
  t.is(first.kind, 'bad');
  if (first.kind === 'bad') t.regex(first.error.message, /checksum/);
  const rest = stream.subarray(first.consumed);
  let found: ReturnType<typeof scanReply> | null = null;
  for (let at = 0; at < rest.length; ) {
    const r = scanReply(rest.subarray(at));
    if (r.kind === 'frame') {
      found = r;
      break;
    }
    if (r.consumed === 0) break;
    at += r.consumed;
  }
  t.is(found?.kind, 'frame');
  t.is(found?.kind === 'frame' ? found.frame.sw3 : null, STATUS.cardFound);
  const half = scanReply(reply.subarray(0, 9));
  t.deepEqual(half, { kind: 'need-more', consumed: 0 });
});

test('a read reply with lengths other than the standard is refused, naming them', (t) => {
  const data = encodeCardData(card);
  const wrong = Uint8Array.from(data);
  wrong[1] = 0x80; // 0x0180 = 384 text bytes
  t.throws(() => parseCardData(wrong), { instanceOf: IdCardFrameError, message: /text block of 384 bytes/ });
  t.throws(() => parseCardData(data.subarray(0, 500)), {
    instanceOf: IdCardFrameError,
    message: /500 bytes/,
  });
});

test('fuzz: scanning any bytes makes progress or asks for more, never throws; a frame in noise is found', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = scanReply(bytes);
      if (r.kind === 'frame') return r.consumed > 0 && r.consumed <= bytes.length;
      if (r.kind === 'bad') return r.consumed > 0 && r.error instanceof IdCardFrameError;
      return r.consumed >= 0 && r.consumed <= bytes.length;
    }),
    { numRuns: 5000 },
  );
  const reply = encodeReply([0, 0, STATUS.success], Uint8Array.of(1, 2, 3));
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 60 }).filter((n) => !n.includes(PREAMBLE[0]!)),
      (noise) => {
        let bytes = Uint8Array.from([...noise, ...reply]);
        for (let guard = 0; guard < 200; guard++) {
          const r = scanReply(bytes);
          if (r.kind === 'frame') return r.frame.data.length === 3 && r.frame.sw3 === STATUS.success;
          if (r.consumed === 0) return false;
          bytes = bytes.subarray(r.consumed);
        }
        return false;
      },
    ),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1400 }), (bytes) => {
      try {
        parseCardData(bytes);
        return true;
      } catch (error) {
        return error instanceof IdCardFrameError;
      }
    }),
  );
  t.pass();
});

test('a text block with malformed UCS-2 (an unpaired surrogate) is refused, naming the field', (t) => {
  const data = encodeCardData(
    {
      name: '李四',
      sexCode: '2',
      ethnicityCode: '01',
      birthDate: '19851203',
      address: '河南省',
      idNumber: '410203198512030020',
      issuingOffice: '开封市公安局',
      validFrom: '20150101',
      validTo: '20350101',
    },
    new Uint8Array(1024),
  );
  // The name field starts right after the two length fields: a lone high surrogate (D800).
  data[4] = 0x00;
  data[5] = 0xd8;
  data[6] = 0x41;
  data[7] = 0x00;
  t.throws(() => parseCardData(data), { message: /the card's name field is not valid UCS-2 text/ });
});
