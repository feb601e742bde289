/**
 * Resolution steps for live video on a weak link. A rate too low for the picture size gives
 * blocky, smeared video; a smaller picture at the same rate stays sharp. The adapted bitrate
 * decides the size: each rung holds while the rate gives it at least `MIN_BITS_PER_PIXEL` per
 * pixel per frame, and the next larger rung is taken only with 25 % to spare (hysteresis, so the
 * size does not flap at a boundary). Pure; the consultation applies a rung by changing the
 * caps in front of the encoder, which renegotiates every encoder in the table the same way.
 */

export interface Size {
  width: number;
  height: number;
}

/** H.264 at these sizes looks acceptable down to about 0.05 bit per pixel and frame (x264, CBR). */
export const MIN_BITS_PER_PIXEL = 0.05;
const STEP_UP_MARGIN = 1.25;
/** Rungs as fractions of the target size: 1080p → 720p → 540p → 360p. */
const FRACTIONS = [1, 2 / 3, 1 / 2, 1 / 3];

/** Sizes encoders accept everywhere: multiples of 8 (macroblock rows for V4L2/VPU encoders). */
const even8 = (n: number) => Math.max(8, Math.round(n / 8) * 8);

export function ladder(target: Size): Size[] {
  const rungs: Size[] = [];
  for (const f of FRACTIONS) {
    const size = { width: even8(target.width * f), height: even8(target.height * f) };
    if (!rungs.some((r) => r.width === size.width && r.height === size.height)) rungs.push(size);
  }
  return rungs;
}

const needsKbps = (size: Size, fps: number) => (size.width * size.height * fps * MIN_BITS_PER_PIXEL) / 1000;

/**
 * The rung for `kbps`, given the one in use: down to the largest rung the rate holds (the
 * smallest if none), up only when the larger rung's need is met with margin.
 */
export function rungFor(kbps: number, fps: number, rungs: readonly Size[], current: number): number {
  let rung = Math.min(Math.max(0, current), rungs.length - 1);
  while (rung < rungs.length - 1 && kbps < needsKbps(rungs[rung]!, fps)) rung++;
  while (rung > 0 && kbps >= needsKbps(rungs[rung - 1]!, fps) * STEP_UP_MARGIN) rung--;
  return rung;
}
