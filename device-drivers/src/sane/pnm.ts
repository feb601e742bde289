/**
 * Netpbm images as `scanimage --format=pnm` writes them (netpbm's pbm/pgm/ppm): P4 bitmap, P5 grey
 * and P6 colour, 8 or 16 bits per sample, big-endian. Decoded to 8-bit samples, one or three per
 * pixel, which is all the page pipeline needs. Pure: bytes in, raster out.
 */

export class PnmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PnmError';
  }
}

export interface Raster {
  width: number;
  height: number;
  /** 1 (grey; a bitmap becomes 0/255 grey) or 3 (RGB). */
  channels: 1 | 3;
  /** Row-major 8-bit samples, `width × height × channels` bytes. */
  data: Uint8Array;
}

/** Scanners produce pages up to A3 at 1200 dpi; anything larger is a damaged header. */
const MAX_SIDE = 40_000;

const isSpace = (b: number) =>
  b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;

/** Reads the header's whitespace-separated decimal fields, skipping `#` comments. */
function headerFields(bytes: Uint8Array, count: number): { fields: number[]; dataStart: number } {
  const fields: number[] = [];
  let i = 2;
  while (fields.length < count) {
    if (i >= bytes.length) throw new PnmError('the header ends before width, height and maximum value');
    const b = bytes[i] as number;
    if (isSpace(b)) {
      i++;
    } else if (b === 0x23) {
      while (i < bytes.length && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i++;
    } else if (b >= 0x30 && b <= 0x39) {
      let value = 0;
      while (i < bytes.length && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x39) {
        value = value * 10 + ((bytes[i] as number) - 0x30);
        if (value > 0xffff_ffff) throw new PnmError('a header number is out of range');
        i++;
      }
      fields.push(value);
    } else {
      throw new PnmError(`unexpected byte 0x${b.toString(16).padStart(2, '0')} in the header at offset ${i}`);
    }
  }
  // Exactly one whitespace byte separates the header from the samples.
  if (i >= bytes.length || !isSpace(bytes[i] as number)) throw new PnmError('no samples follow the header');
  return { fields, dataStart: i + 1 };
}

export function parsePnm(input: Uint8Array): Raster {
  if (input.length < 3 || input[0] !== 0x50) throw new PnmError('not a PNM image (no "P" magic number)');
  const kind = input[1];
  if (kind !== 0x34 && kind !== 0x35 && kind !== 0x36)
    throw new PnmError(
      `unsupported PNM type P${String.fromCharCode(kind ?? 0x3f)}: only P4, P5 and P6 are scanner output`,
    );
  const bitmap = kind === 0x34;
  const { fields, dataStart } = headerFields(input, bitmap ? 2 : 3);
  const [width, height] = fields as [number, number];
  const maxval = bitmap ? 1 : (fields[2] as number);
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    throw new PnmError(`image size ${width}×${height} is outside 1..${MAX_SIDE}`);
  if (maxval < 1 || maxval > 65535) throw new PnmError(`maximum sample value ${maxval} is outside 1..65535`);
  const channels: 1 | 3 = kind === 0x36 ? 3 : 1;
  const bytesPerSample = maxval > 255 ? 2 : 1;
  const rowBytes = bitmap ? Math.ceil(width / 8) : width * channels * bytesPerSample;
  const needed = rowBytes * height;
  const body = input.subarray(dataStart);
  if (body.length < needed)
    throw new PnmError(
      `the image is truncated: ${body.length} of ${needed} sample bytes (${Math.floor(body.length / rowBytes)} of ${height} rows)`,
    );
  const data = new Uint8Array(width * height * channels);
  if (bitmap) {
    // PBM: 1 is black. Each row starts on a byte boundary.
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const bit = ((body[y * rowBytes + (x >> 3)] as number) >> (7 - (x & 7))) & 1;
        data[y * width + x] = bit ? 0 : 255;
      }
  } else if (bytesPerSample === 1 && maxval === 255) {
    data.set(body.subarray(0, needed));
  } else {
    const samples = width * height * channels;
    for (let s = 0; s < samples; s++) {
      const raw =
        bytesPerSample === 2
          ? ((body[2 * s] as number) << 8) | (body[2 * s + 1] as number)
          : (body[s] as number);
      data[s] = Math.round((Math.min(raw, maxval) * 255) / maxval);
    }
  }
  return { width, height, channels, data };
}

/** A P5/P6 file of an 8-bit raster (the rig's and tests' way to make scanner output). */
export function encodePnm(raster: Raster): Uint8Array {
  const header = new TextEncoder().encode(
    `P${raster.channels === 3 ? 6 : 5}\n${raster.width} ${raster.height}\n255\n`,
  );
  const out = new Uint8Array(header.length + raster.data.length);
  out.set(header);
  out.set(raster.data, header.length);
  return out;
}
