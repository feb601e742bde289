import { MAX_LENGTH, PREAMBLE } from './consts.ts';

/**
 * GA 467 frames: preamble AA AA AA 96 69, a 2-byte big-endian length of what follows (including
 * the checksum), then CMD PARA data (to the reader) or SW1 SW2 SW3 data (from it), then an XOR of
 * every byte after the preamble. Pure functions over bytes.
 */

export class IdCardFrameError extends Error {
  readonly code = 'ID_CARD_FRAME';
}

/** The XOR checksum of `bytes` (the length field onwards, without the checksum itself). */
export function xorChecksum(bytes: Uint8Array): number {
  let x = 0;
  for (const b of bytes) x ^= b;
  return x;
}

/** Preamble, length, `head` (CMD PARA, or SW1 SW2 SW3), data, checksum. */
function frame(head: readonly number[], data: Uint8Array): Uint8Array {
  const length = head.length + data.length + 1;
  const out = new Uint8Array(PREAMBLE.length + 2 + length);
  out.set(PREAMBLE, 0);
  const body = out.subarray(PREAMBLE.length);
  body[0] = length >> 8;
  body[1] = length & 0xff;
  body.set(head, 2);
  body.set(data, 2 + head.length);
  body[body.length - 1] = xorChecksum(body.subarray(0, body.length - 1));
  return out;
}

/** A command frame for the reader. */
export function encodeCommand(
  command: readonly [number, number],
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return frame(command, data);
}

/** A reply as the reader sends it (the rig's simulated reader writes these). */
export function encodeReply(
  sw: readonly [number, number, number],
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return frame(sw, data);
}

export interface Reply {
  sw1: number;
  sw2: number;
  sw3: number;
  data: Uint8Array;
}

export interface Command {
  cmd: number;
  para: number;
  data: Uint8Array;
}

export type ScanResult<T> =
  | { kind: 'frame'; frame: T; consumed: number }
  /** Not a whole frame yet: read more (bytes before a preamble may already be dropped). */
  | { kind: 'need-more'; consumed: number }
  /** A preamble whose frame is damaged: skip `consumed` bytes and scan on. */
  | { kind: 'bad'; error: IdCardFrameError; consumed: number };

const startOf = (bytes: Uint8Array, from: number): number => {
  for (let i = from; i + PREAMBLE.length <= bytes.length; i++) {
    let match = true;
    for (let k = 0; k < PREAMBLE.length && match; k++) match = bytes[i + k] === PREAMBLE[k];
    if (match) return i;
  }
  return -1;
};

/**
 * Looks for the first frame in `bytes` and returns what lies between its length field and its
 * checksum. Noise before a preamble is consumed; a damaged frame (length out of range, checksum
 * wrong) consumes only its first preamble byte, so a real frame hidden behind it is still found.
 */
function scanFrame(bytes: Uint8Array, headBytes: number): ScanResult<Uint8Array> {
  const at = startOf(bytes, 0);
  if (at < 0) {
    // Keep a tail that could be the start of a preamble.
    return { kind: 'need-more', consumed: Math.max(0, bytes.length - (PREAMBLE.length - 1)) };
  }
  const head = at + PREAMBLE.length;
  if (bytes.length < head + 2) return { kind: 'need-more', consumed: at };
  const length = (bytes[head]! << 8) | bytes[head + 1]!;
  if (length < headBytes + 1 || length > MAX_LENGTH) {
    return {
      kind: 'bad',
      error: new IdCardFrameError(`frame length ${length} out of range (${headBytes + 1}…${MAX_LENGTH})`),
      consumed: at + 1,
    };
  }
  const end = head + 2 + length;
  if (bytes.length < end) return { kind: 'need-more', consumed: at };
  const body = bytes.subarray(head, end);
  const expected = xorChecksum(body.subarray(0, body.length - 1));
  if (expected !== body[body.length - 1]) {
    return {
      kind: 'bad',
      error: new IdCardFrameError(
        `checksum ${body[body.length - 1]!.toString(16)} where ${expected.toString(16)} was due`,
      ),
      consumed: at + 1,
    };
  }
  return { kind: 'frame', frame: body.slice(2, body.length - 1), consumed: end };
}

/** The first reply (SW1 SW2 SW3 data) in bytes from a reader. */
export function scanReply(bytes: Uint8Array): ScanResult<Reply> {
  const r = scanFrame(bytes, 3);
  if (r.kind !== 'frame') return r;
  const f = r.frame;
  return {
    kind: 'frame',
    frame: { sw1: f[0]!, sw2: f[1]!, sw3: f[2]!, data: f.slice(3) },
    consumed: r.consumed,
  };
}

/** The first command (CMD PARA data) in bytes to a reader (what the rig's simulated reader reads). */
export function scanCommand(bytes: Uint8Array): ScanResult<Command> {
  const r = scanFrame(bytes, 2);
  if (r.kind !== 'frame') return r;
  const f = r.frame;
  return { kind: 'frame', frame: { cmd: f[0]!, para: f[1]!, data: f.slice(2) }, consumed: r.consumed };
}
