/*
 * What the specialist and the clinic's room say, and when: a 10-second cycle on the wall clock,
 * the same for the specialist's page and the rig's room, so that whoever hears something knows
 * when it was said.
 *
 *   0.0 s        the specialist's pip (100 ms, 1 kHz): its arrival at the terminal's loudspeaker
 *                against the picture's delay is the lip sync at the terminal
 *   0.5–2.5 s    the specialist talks alone: what comes back to them is their echo
 *   4.0 s        the room's pip (100 ms, 1.5 kHz): lip sync at the specialist
 *   4.5–6.5 s    the clinic talks alone: its level at the specialist
 *   7.0–9.0 s    both talk (double talk): the clinic's level must hold within 6 dB
 *
 * "Talking" is a voice-like sound, not noise (noise suppression would take noise out): harmonics
 * of a gliding pitch, with syllables four times a second.
 */

export const CYCLE_MS = 10_000;
export const SAMPLE_RATE = 48_000;

export const SCHEDULE = {
  specialistPip: { atMs: 0, durationMs: 100, hz: 1000 },
  roomPip: { atMs: 4000, durationMs: 100, hz: 1500 },
  specialistAlone: { fromMs: 500, toMs: 2500 },
  roomAlone: { fromMs: 4500, toMs: 6500 },
  doubleTalk: { fromMs: 7000, toMs: 9000 },
} as const;

export type Talker = 'specialist' | 'room';

const VOICE = {
  specialist: { pitchHz: 120, glideHz: 30, amplitude: 0.12 },
  room: { pitchHz: 210, glideHz: 40, amplitude: 0.12 },
} as const;

const inWindow = (t: number, w: { fromMs: number; toMs: number }) => t >= w.fromMs && t < w.toMs;

/** Whether `who` talks at this point of the cycle (ms from the cycle's start). */
export function talking(who: Talker, tInCycle: number): boolean {
  const alone = who === 'specialist' ? SCHEDULE.specialistAlone : SCHEDULE.roomAlone;
  return inWindow(tInCycle, alone) || inWindow(tInCycle, SCHEDULE.doubleTalk);
}

/** The cycle start at or before `wallMs`. */
export function cycleStart(wallMs: number): number {
  return Math.floor(wallMs / CYCLE_MS) * CYCLE_MS;
}

/** What `who` says at wall-clock time `wallMs` (one sample, −1…1). */
export function voiceSample(who: Talker, wallMs: number): number {
  const t = ((wallMs % CYCLE_MS) + CYCLE_MS) % CYCLE_MS;
  const pip = who === 'specialist' ? SCHEDULE.specialistPip : SCHEDULE.roomPip;
  const seconds = wallMs / 1000;
  if (t >= pip.atMs && t < pip.atMs + pip.durationMs) return 0.3 * Math.sin(2 * Math.PI * pip.hz * seconds);
  if (!talking(who, t)) return 0;
  const v = VOICE[who];
  // Phase of a pitch gliding at 0.5 Hz: the integral of pitch + glide·sin(πt).
  const phase = 2 * Math.PI * (v.pitchHz * seconds - (v.glideHz / Math.PI) * Math.cos(Math.PI * seconds));
  let sample = 0;
  for (let k = 1; k <= 12; k++) sample += Math.sin(k * phase) / k;
  const syllable = Math.sin(Math.PI * ((seconds * 4) % 1)) ** 2;
  return v.amplitude * syllable * sample;
}

/** `count` samples of `who` from `wallMs` on, as 16-bit PCM. */
export function voicePcm(who: Talker, wallMs: number, count: number, rate = SAMPLE_RATE): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++)
    out[i] = Math.round(Math.max(-1, Math.min(1, voiceSample(who, wallMs + (i * 1000) / rate))) * 32_767);
  return out;
}
