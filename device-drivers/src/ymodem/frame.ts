import { crc16Xmodem } from '../scp-ecg/crc.ts';
import { BLOCK_LARGE, BLOCK_SMALL, SOH, STX, SUB } from './consts.ts';

/** Bytes of one block on the wire: header, seq, ~seq, data, CRC-16 big-endian. */
export function encodeBlock(seq: number, data: Uint8Array, size: 128 | 1024, padding = SUB): Uint8Array {
  if (data.length > size) throw new RangeError(`block data of ${data.length} bytes exceeds ${size}`);
  const out = new Uint8Array(3 + size + 2);
  out[0] = size === BLOCK_LARGE ? STX : SOH;
  out[1] = seq & 0xff;
  out[2] = 0xff - (seq & 0xff);
  out.fill(padding, 3, 3 + size);
  out.set(data, 3);
  const crc = crc16Xmodem(out, 3, 3 + size);
  out[3 + size] = crc >> 8;
  out[4 + size] = crc & 0xff;
  return out;
}

export type BlockCheck =
  | { ok: true; seq: number; data: Uint8Array }
  | { ok: false; reason: 'sequence' | 'crc' };

/** Checks a complete block (header byte included); pure, so it is tested on bytes. */
export function checkBlock(block: Uint8Array): BlockCheck {
  const size = block[0] === STX ? BLOCK_LARGE : BLOCK_SMALL;
  if (block.length !== size + 5)
    throw new RangeError(`a ${size}-byte block is ${size + 5} bytes on the wire`);
  const seq = block[1]!;
  if (block[2] !== 0xff - seq) return { ok: false, reason: 'sequence' };
  const crc = (block[3 + size]! << 8) | block[4 + size]!;
  if (crc16Xmodem(block, 3, 3 + size) !== crc) return { ok: false, reason: 'crc' };
  return { ok: true, seq, data: block.slice(3, 3 + size) };
}

export interface FileHeader {
  name: string;
  size: number | null;
}

/**
 * YMODEM block 0: "name\0size[ mtime[ mode]]\0…" (NUL-padded). An empty name ends the batch (null).
 */
export function parseHeaderBlock(data: Uint8Array): FileHeader | null {
  if (data[0] === 0) return null;
  const nameEnd = data.indexOf(0);
  const name = Buffer.from(data.subarray(0, nameEnd < 0 ? data.length : nameEnd)).toString('latin1');
  let size: number | null = null;
  if (nameEnd >= 0) {
    const restEnd = data.indexOf(0, nameEnd + 1);
    const rest = Buffer.from(data.subarray(nameEnd + 1, restEnd < 0 ? data.length : restEnd)).toString(
      'latin1',
    );
    const parsed = /^(\d+)/.exec(rest.trim());
    if (parsed) size = Number(parsed[1]);
  }
  return { name, size };
}

export function encodeHeaderBlock(header: FileHeader | null): Uint8Array {
  const data = new Uint8Array(BLOCK_SMALL);
  if (header) {
    const text = Buffer.from(`${header.name}\0${header.size ?? ''}`, 'latin1');
    if (text.length >= BLOCK_SMALL) throw new RangeError(`file name ${header.name} is too long for block 0`);
    data.set(text);
  }
  return encodeBlock(0, data, BLOCK_SMALL, 0);
}
