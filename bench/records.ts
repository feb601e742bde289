import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeScp } from '#device-drivers';

export const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '../../shared/testdata');

const LEADS = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6', 'III', 'aVR', 'aVL', 'aVF'];

/**
 * Benchmark input: a 10 s, 500 Hz, 12-lead record whose samples change with `seed` (so every
 * record in a burst is a distinct capture). A spiky periodic wave plus noise compresses roughly as
 * an ECG does; clinical plausibility is the rig synthesizer's job, not this one's.
 */
export function twelveLeadRecord(
  seed: number,
  coding: { huffman: 'default' | 'none'; difference: 0 | 1 | 2 } = { huffman: 'default', difference: 2 },
): Uint8Array {
  let state = (seed * 2654435761) >>> 0 || 1;
  const noise = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff - 0.5;
  };
  const rate = 500;
  const beat = rate * (60 / (66 + (seed % 20)));
  const leads = LEADS.map((name, l) => ({
    name,
    samples: Array.from({ length: rate * 10 }, (_, i) => {
      const phase = (i % beat) / beat;
      const qrs = Math.exp(-(((phase - 0.3) / 0.012) ** 2)) * (400 + 40 * l);
      const t = Math.exp(-(((phase - 0.55) / 0.05) ** 2)) * 80;
      const p = Math.exp(-(((phase - 0.15) / 0.03) ** 2)) * 40;
      return Math.round((qrs + t + p) / 5 + noise() * 4);
    }),
  }));
  return encodeScp({
    patient: { id: `BENCH-${seed}`, lastName: '基准', firstName: '测试', sex: 'M', birthDate: '1960-05-01' },
    acquiredAt: '2026-11-28T09:00:00',
    device: { model: 'bench' },
    sampleIntervalUs: 2000,
    amplitudeNv: 5000,
    leads,
    ...coding,
  });
}
