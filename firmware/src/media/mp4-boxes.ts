/**
 * Just enough of the ISO base media file format (ISO/IEC 14496-12 §4.2, §8.4.3) to list the
 * tracks of an MP4 file by handler type — `vide`, `soun` — and where a cut file stops being whole. Pure functions
 * over bytes; a malformed file is an Mp4Error naming where it broke.
 */

export class Mp4Error extends Error {
  readonly code = 'MP4_INVALID';
}

interface Box {
  type: string;
  /** Offset of the payload (after the header) and its end. */
  start: number;
  end: number;
  /** All the bytes its size declares are there (the last box of a cut file may be short). */
  complete: boolean;
}

function* boxes(bytes: Uint8Array, from: number, to: number): Generator<Box> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const code = bytes.subarray(at + 4, at + 8);
    // Four-character codes are printable (© in some metadata boxes); anything else is not a box.
    if (!code.every((c) => (c >= 0x20 && c <= 0x7e) || c === 0xa9))
      throw new Mp4Error(`bytes at ${at} are not an MP4 box (type ${Buffer.from(code).toString('hex')})`);
    const type = String.fromCharCode(...code);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) throw new Mp4Error(`box ${type} at byte ${at}: truncated 64-bit size`);
      const large = view.getBigUint64(at + 8);
      if (large > BigInt(to - at)) throw new Mp4Error(`box ${type} at byte ${at} runs past its parent`);
      size = Number(large);
      header = 16;
    } else if (size === 0) {
      size = to - at; // "extends to the end of the file"
    }
    if (size < header) throw new Mp4Error(`box ${type} at byte ${at} has size ${size}`);
    // The last box of a file cut by a power failure may be short: it ends where the bytes end.
    const end = Math.min(at + size, to);
    yield { type, start: at + header, end, complete: at + size <= to };
    at += size;
  }
}

function child(bytes: Uint8Array, parent: Box, type: string): Box | null {
  for (const box of boxes(bytes, parent.start, parent.end)) if (box.type === type) return box;
  return null;
}

/** Handler types of the tracks in the file's movie box, in order (`vide`, `soun`, …). */
export function mp4TrackHandlers(bytes: Uint8Array): string[] {
  let moov: Box | null = null;
  for (const box of boxes(bytes, 0, bytes.length)) {
    if (box.type === 'moov') {
      moov = box;
      break;
    }
  }
  if (!moov) throw new Mp4Error('no movie box (moov): not an MP4 file, or its header was never written');
  const handlers: string[] = [];
  for (const trak of boxes(bytes, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue;
    const mdia = child(bytes, trak, 'mdia');
    const hdlr = mdia ? child(bytes, mdia, 'hdlr') : null;
    // FullBox version+flags (4), pre_defined (4), handler_type (4).
    if (!hdlr || hdlr.end - hdlr.start < 12) throw new Mp4Error(`track at byte ${trak.start} has no handler`);
    handlers.push(String.fromCharCode(...bytes.subarray(hdlr.start + 8, hdlr.start + 12)));
  }
  return handlers;
}

/**
 * Whether a (fragmented) MP4 holds any media: a complete fragment (moof then mdat) or, in a
 * plain MP4, an mdat. A recorder killed as a segment began leaves a file with a header only, or
 * nothing at all: no picture in it to keep.
 */
export function hasMedia(bytes: Uint8Array): boolean {
  const playable = playableLength(bytes);
  try {
    for (const box of boxes(bytes, 0, playable)) if (box.complete && box.type === 'mdat') return true;
  } catch (error) {
    if (!(error instanceof Mp4Error)) throw error;
  }
  return false;
}

/**
 * How many leading bytes of a (fragmented) MP4 make a whole file: up to the end of the last
 * complete box, never ending on a movie fragment header (moof) without its media data (mdat).
 * A segment cut by a kill or a power failure ends in a partial fragment; cut there, it is a
 * well-formed file that plays to its last complete fragment. Bytes that are not boxes end it too.
 */
export function playableLength(bytes: Uint8Array): number {
  let end = 0;
  let beforeFragment = 0;
  let last: string | null = null;
  try {
    for (const box of boxes(bytes, 0, bytes.length)) {
      if (!box.complete) break;
      if (box.type === 'moof') beforeFragment = end;
      end = box.end;
      last = box.type;
    }
  } catch (error) {
    if (!(error instanceof Mp4Error)) throw error;
  }
  return last === 'moof' ? beforeFragment : end;
}
