/** Reads bits most-significant first from a byte range, as SCP-ECG Huffman streams are packed. */
export class BitReader {
  private bit: number;
  private readonly endBit: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    end: number,
  ) {
    this.bit = start * 8;
    this.endBit = end * 8;
  }

  get remaining(): number {
    return this.endBit - this.bit;
  }

  /** One bit, or -1 past the end. */
  readBit(): number {
    if (this.bit >= this.endBit) return -1;
    const value = (this.bytes[this.bit >> 3]! >> (7 - (this.bit & 7))) & 1;
    this.bit++;
    return value;
  }

  /** `count` bits (≤ 32) as an unsigned number, or -1 when fewer remain. */
  readBits(count: number): number {
    if (this.remaining < count) return -1;
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.readBit();
    return value;
  }

  /** `count` bits as a two's-complement signed number, or null when fewer remain. */
  readSigned(count: number): number | null {
    const raw = this.readBits(count);
    if (raw < 0) return null;
    return raw >= 2 ** (count - 1) ? raw - 2 ** count : raw;
  }
}
