import { BitReader } from './bit-reader.ts';

/** Section 2 value meaning "use the default Huffman table" (EN 1064 §5.5.2). */
export const DEFAULT_TABLE_MARKER = 19999;

/** One Huffman code structure from Section 2 (9 bytes on the wire). */
export interface HuffmanCode {
  prefixBits: number;
  totalBits: number;
  /** 1 = a value; 0 = switch to table number `baseValue` (1-based). */
  tableModeSwitch: number;
  baseValue: number;
  /** The prefix as read most-significant bit first (the wire stores it bit-reversed). */
  prefix: number;
}

export type HuffmanTables =
  | { kind: 'default' }
  | { kind: 'none' }
  | { kind: 'custom'; tables: HuffmanCode[][] };

export function reverseBits(value: number, count: number): number {
  let out = 0;
  for (let i = 0; i < count; i++) out = out * 2 + (Math.floor(value / 2 ** i) & 1);
  return out;
}

/** Why a lead's Huffman stream stopped: it delivered what was asked, or ran out of bits. */
export interface HuffmanResult {
  values: number[];
  exhausted: boolean;
}

/**
 * The default table (EN 1064 Annex C, 19 codes): n ones then a zero code ±n with a sign bit
 * (n = 1..8, "0" alone is 0); nine ones then 0/1 escape to an original 8- or 16-bit value.
 */
function decodeDefault(reader: BitReader, count: number): HuffmanResult {
  const values: number[] = [];
  while (values.length < count) {
    let ones = 0;
    let bit = reader.readBit();
    while (bit === 1 && ones < 9) {
      ones++;
      if (ones < 9) bit = reader.readBit();
    }
    if (bit < 0) return { values, exhausted: true };
    if (ones === 0) {
      values.push(0);
      continue;
    }
    if (ones < 9) {
      const sign = reader.readBit();
      if (sign < 0) return { values, exhausted: true };
      values.push(sign ? -ones : ones);
      continue;
    }
    const wide = reader.readBit();
    if (wide < 0) return { values, exhausted: true };
    const value = reader.readSigned(wide ? 16 : 8);
    if (value === null) return { values, exhausted: true };
    values.push(value);
  }
  return { values, exhausted: false };
}

/** Thrown when a custom-table stream holds a bit pattern that no code structure matches. */
export class HuffmanCodeError extends Error {
  constructor(readonly sampleIndex: number) {
    super(`no Huffman code matches the bits at sample ${sampleIndex}`);
  }
}

function decodeCustom(reader: BitReader, count: number, tables: HuffmanCode[][]): HuffmanResult {
  const values: number[] = [];
  let table = tables[0] ?? [];
  const longest = (codes: HuffmanCode[]) => codes.reduce((max, c) => Math.max(max, c.prefixBits), 0);
  let maxPrefix = longest(table);
  while (values.length < count) {
    let code = 0;
    let hit: HuffmanCode | undefined;
    for (let bits = 1; bits <= maxPrefix && !hit; bits++) {
      const bit = reader.readBit();
      if (bit < 0) return { values, exhausted: true };
      code = code * 2 + bit;
      hit = table.find((c) => c.prefixBits === bits && c.prefix === code);
    }
    if (!hit) throw new HuffmanCodeError(values.length);
    if (hit.tableModeSwitch === 0) {
      const next = tables[hit.baseValue - 1];
      if (!next) throw new HuffmanCodeError(values.length);
      table = next;
      maxPrefix = longest(table);
      continue;
    }
    if (hit.totalBits > hit.prefixBits) {
      const extra = reader.readSigned(hit.totalBits - hit.prefixBits);
      if (extra === null) return { values, exhausted: true };
      values.push(hit.baseValue + extra);
    } else {
      values.push(hit.baseValue);
    }
  }
  return { values, exhausted: false };
}

/** Uncompressed streams (Section 2 absent or 0 tables): 16-bit little-endian signed values. */
function decodeRaw(bytes: Uint8Array, start: number, end: number, count: number): HuffmanResult {
  const values: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = start; at + 2 <= end && values.length < count; at += 2) values.push(view.getInt16(at, true));
  return { values, exhausted: values.length < count };
}

/** Decodes up to `count` values from bytes [start, end) of one lead's stream. */
export function decodeHuffman(
  bytes: Uint8Array,
  start: number,
  end: number,
  count: number,
  tables: HuffmanTables,
): HuffmanResult {
  switch (tables.kind) {
    case 'none':
      return decodeRaw(bytes, start, end, count);
    case 'default':
      return decodeDefault(new BitReader(bytes, start, end), count);
    case 'custom':
      return decodeCustom(new BitReader(bytes, start, end), count, tables.tables);
  }
}

/** Reconstructs samples from first or second differences (EN 1064 §5.9.2); 0 = none. */
export function undifference(values: number[], difference: number): number[] {
  if (difference === 0) return values;
  const out = new Array<number>(values.length);
  for (let n = 0; n < values.length; n++) {
    const d = values[n]!;
    if (difference === 1) out[n] = n === 0 ? d : d + out[n - 1]!;
    else out[n] = n < 2 ? d : d + 2 * out[n - 1]! - out[n - 2]!;
  }
  return out;
}

/** Inverse of undifference, for encoders. */
export function difference(samples: ArrayLike<number>, order: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < samples.length; n++) {
    const x = samples[n]!;
    if (order === 0 || n < order) out.push(x);
    else if (order === 1) out.push(x - samples[n - 1]!);
    else out.push(x - 2 * samples[n - 1]! + samples[n - 2]!);
  }
  return out;
}

/** Encodes values with the default table, MSB first, padded to an even byte count (EN 1064 §5.9). */
export function encodeDefaultHuffman(values: number[]): Uint8Array {
  const bits: number[] = [];
  const push = (value: number, count: number) => {
    for (let i = count - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) & 1);
  };
  for (const v of values) {
    const magnitude = Math.abs(v);
    if (v === 0) bits.push(0);
    else if (magnitude <= 8) {
      push(2 ** magnitude - 1, magnitude);
      bits.push(0, v < 0 ? 1 : 0);
    } else if (v >= -128 && v <= 127) {
      push(0x1ff, 9);
      bits.push(0);
      push(v < 0 ? v + 256 : v, 8);
    } else {
      if (v < -32768 || v > 32767)
        throw new RangeError(`difference ${v} does not fit the 16-bit escape code`);
      push(0x1ff, 9);
      bits.push(1);
      push(v < 0 ? v + 65536 : v, 16);
    }
  }
  let length = Math.ceil(bits.length / 8);
  if (length % 2) length++;
  const out = new Uint8Array(length);
  bits.forEach((bit, i) => {
    if (bit) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}
