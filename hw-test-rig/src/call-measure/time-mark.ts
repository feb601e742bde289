/*
 * A time mark burnt into a picture: the sender's wall clock (milliseconds, modulo 2^32) as a strip
 * of black and white cells along the bottom edge, read back wherever the picture is decoded. The
 * one-way delay of a call is then "when this picture was shown" minus "when it was taken", both on
 * this machine's clock: camera to glass, encoder, network, jitter buffer and decoder included.
 *
 * Layout, across the whole width, in the bottom 1/20 of the height:
 *   cell 0 black, cell 1 white   the two reference levels (what black and white became after the
 *                                encoder, the scaler and the decoder)
 *   cells 2–33                   32 bits of the time, most significant first, white = 1
 *   cells 34–35                  the number of 1 bits, modulo 4: a torn or smeared strip fails it
 * Cells are W/36 wide: 17.8 px at 640, still 8.9 px when the resolution ladder halves the picture,
 * and read at their centre, away from the edges that compression blurs.
 *
 * Pure functions: the rig camera draws with them, the specialist's page (bundled for the browser)
 * draws and reads with them, and the rig reads the terminal's far-end pictures with them.
 */

export const MARK_CELLS = 36;
const DATA_BITS = 32;
/** The strip's height as a fraction of the picture's. */
export const MARK_HEIGHT_FRACTION = 1 / 20;
/** Below this contrast between the reference cells there is no strip to read (a black frame). */
const MIN_CONTRAST = 60;

/** The cells for `timeMs`: true is white. */
export function markCells(timeMs: number): boolean[] {
  const value = Math.floor(timeMs) >>> 0;
  const bits: boolean[] = [];
  for (let i = DATA_BITS - 1; i >= 0; i--) bits.push(((value >>> i) & 1) === 1);
  const ones = bits.filter(Boolean).length % 4;
  return [false, true, ...bits, (ones & 2) !== 0, (ones & 1) !== 0];
}

/** Where the strip lies in a picture of `width` × `height`. */
export function markGeometry(width: number, height: number) {
  const stripHeight = Math.max(4, Math.round(height * MARK_HEIGHT_FRACTION));
  return { top: height - stripHeight, stripHeight, cellWidth: width / MARK_CELLS };
}

/** The strip as SVG rectangles over a `width` × `height` picture (for rsvgoverlay). */
export function markSvg(timeMs: number, width: number, height: number): string {
  const { top, stripHeight, cellWidth } = markGeometry(width, height);
  const cells = markCells(timeMs)
    .map((white, i) =>
      white
        ? ''
        : `<rect x="${(i * cellWidth).toFixed(2)}" y="${top}" width="${cellWidth.toFixed(2)}" height="${stripHeight}"/>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="0" y="${top}" width="${width}" height="${stripHeight}" fill="#fff"/><g fill="#000">${cells}</g></svg>`;
}

/**
 * Reads a strip: `luma(x, y)` gives a pixel's brightness (0–255). Returns the time modulo 2^32, or
 * null when there is no readable strip (too little contrast, or the check cells disagree).
 */
export function readMark(
  luma: (x: number, y: number) => number,
  width: number,
  height: number,
): number | null {
  if (width < MARK_CELLS * 4 || height < 40) return null;
  const { top, stripHeight, cellWidth } = markGeometry(width, height);
  const y0 = Math.round(top + stripHeight / 2);
  const level = (cell: number) => {
    const x0 = Math.round((cell + 0.5) * cellWidth);
    const r = Math.max(1, Math.floor(Math.min(cellWidth, stripHeight) / 6));
    let sum = 0;
    let n = 0;
    for (let y = y0 - r; y <= y0 + r; y++)
      for (let x = x0 - r; x <= x0 + r; x++) {
        sum += luma(x, y);
        n++;
      }
    return sum / n;
  };
  const black = level(0);
  const white = level(1);
  if (white - black < MIN_CONTRAST) return null;
  const threshold = (black + white) / 2;
  const cells: boolean[] = [];
  for (let i = 0; i < MARK_CELLS; i++) cells.push(level(i) > threshold);
  const bits = cells.slice(2, 2 + DATA_BITS);
  const ones = bits.filter(Boolean).length % 4;
  if ((cells[34] ? 2 : 0) + (cells[35] ? 1 : 0) !== ones) return null;
  let value = 0;
  for (const bit of bits) value = value * 2 + (bit ? 1 : 0);
  return value;
}

/** The wall-clock time a mark (modulo 2^32) stands for: the latest such time not after `nowMs`. */
export function unwrapMark(mark: number, nowMs: number): number {
  const back = (((Math.floor(nowMs) - mark) % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return Math.floor(nowMs) - back;
}

/** Luma of an RGBA pixel array (ITU-R BT.601 weights), as `readMark` wants it. */
export function rgbaLuma(data: ArrayLike<number>, width: number): (x: number, y: number) => number {
  return (x, y) => {
    const i = (y * width + x) * 4;
    return 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
  };
}
