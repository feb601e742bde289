import { CYCLE_MS, cycleStart, SCHEDULE } from './schedule.ts';

/** A sound's level over time: RMS (0–1 of full scale) per `stepMs`, from `startMs` (wall clock). */
export interface LevelTrack {
  startMs: number;
  stepMs: number;
  rms: number[];
}

export const toDb = (rms: number) => (rms > 0 ? 20 * Math.log10(rms) : -200);

/** RMS over the bins inside [fromMs, toMs), or null when the track does not cover it. */
export function windowRms(track: LevelTrack, fromMs: number, toMs: number): number | null {
  const first = Math.ceil((fromMs - track.startMs) / track.stepMs);
  const last = Math.floor((toMs - track.startMs) / track.stepMs) - 1;
  if (first < 0 || last >= track.rms.length || last < first) return null;
  let energy = 0;
  for (let i = first; i <= last; i++) energy += (track.rms[i] ?? 0) ** 2;
  return Math.sqrt(energy / (last - first + 1));
}

/** The wall-clock times a pip was sent within [fromMs, toMs). */
export function pipTimes(pip: 'specialistPip' | 'roomPip', fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let c = cycleStart(fromMs); c < toMs; c += CYCLE_MS) {
    const at = c + SCHEDULE[pip].atMs;
    if (at >= fromMs && at < toMs) out.push(at);
  }
  return out;
}

/**
 * How long after each send time its pip was heard: the first bin within `searchMs` whose level
 * reaches a third of the window's peak and stands at least 10 dB over the 300 ms before the pip.
 * Pips not heard (lost, or buried) give nothing.
 */
export function onsetDelays(track: LevelTrack, sendTimes: number[], searchMs = 800): number[] {
  const delays: number[] = [];
  for (const sent of sendTimes) {
    const first = Math.ceil((sent - track.startMs) / track.stepMs);
    const last = Math.floor((sent + searchMs - track.startMs) / track.stepMs);
    const before = windowRms(track, sent - 300, sent);
    if (first < 0 || last >= track.rms.length || before === null) continue;
    let peak = 0;
    for (let i = first; i <= last; i++) peak = Math.max(peak, track.rms[i] ?? 0);
    if (peak <= 0 || peak < before * 10 ** 0.5) continue;
    for (let i = first; i <= last; i++) {
      if ((track.rms[i] ?? 0) >= peak / 3) {
        delays.push(track.startMs + i * track.stepMs - sent);
        break;
      }
    }
  }
  return delays;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? null;
}

/** The level (dBFS) over each cycle's window, shifted by `delayMs`, 100 ms trimmed at each end. */
export function windowsDb(
  track: LevelTrack,
  window: { fromMs: number; toMs: number },
  delayMs: number,
  fromMs: number,
  toMs: number,
): number | null {
  let energy = 0;
  let n = 0;
  for (let c = cycleStart(fromMs); c < toMs; c += CYCLE_MS) {
    const from = c + window.fromMs + delayMs + 100;
    const to = c + window.toMs + delayMs - 100;
    if (from < fromMs || to > toMs) continue;
    const rms = windowRms(track, from, to);
    if (rms === null) continue;
    energy += rms ** 2;
    n++;
  }
  return n === 0 ? null : toDb(Math.sqrt(energy / n));
}
