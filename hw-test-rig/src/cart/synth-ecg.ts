import { type EncodeInput, encodeScp } from '#device-drivers';

/**
 * A plausible resting 12-lead ECG for the cart simulator: P-QRS-T complexes as sums of Gaussians
 * on leads I and II, the other limb leads derived with Einthoven's and Goldberger's equations, and
 * precordial leads with the usual R-wave progression. Seeded noise keeps records distinct.
 */
export interface SynthOptions {
  seconds?: number;
  sampleRateHz?: number;
  heartRateBpm?: number;
  seed?: number;
  patient?: EncodeInput['patient'];
  acquiredAt?: string;
  languageCode?: number;
  /** SCP-ECG Section 1 tag 24: 1–10 marks the recording STAT (emergency). */
  statCode?: number;
}

type Wave = [centreS: number, widthS: number, amplitudeUv: number];

// Waves relative to the R peak: P, Q, R, S, T.
const LIMB_I: Wave[] = [
  [-0.16, 0.025, 80],
  [-0.025, 0.01, -60],
  [0, 0.012, 700],
  [0.03, 0.012, -120],
  [0.28, 0.05, 180],
];
const LIMB_II: Wave[] = [
  [-0.16, 0.025, 120],
  [-0.025, 0.01, -80],
  [0, 0.012, 1100],
  [0.03, 0.012, -150],
  [0.28, 0.05, 260],
];
const PRECORDIAL: Record<string, Wave[]> = {
  V1: [
    [-0.16, 0.025, 60],
    [0, 0.012, 250],
    [0.03, 0.014, -900],
    [0.28, 0.05, -80],
  ],
  V2: [
    [-0.16, 0.025, 70],
    [0, 0.012, 500],
    [0.03, 0.014, -1300],
    [0.28, 0.05, 300],
  ],
  V3: [
    [-0.16, 0.025, 70],
    [0, 0.012, 800],
    [0.03, 0.014, -800],
    [0.28, 0.05, 350],
  ],
  V4: [
    [-0.16, 0.025, 70],
    [-0.02, 0.01, -80],
    [0, 0.012, 1300],
    [0.03, 0.013, -400],
    [0.28, 0.05, 320],
  ],
  V5: [
    [-0.16, 0.025, 70],
    [-0.02, 0.01, -100],
    [0, 0.012, 1200],
    [0.03, 0.012, -200],
    [0.28, 0.05, 260],
  ],
  V6: [
    [-0.16, 0.025, 60],
    [-0.02, 0.01, -90],
    [0, 0.012, 900],
    [0.03, 0.012, -100],
    [0.28, 0.05, 200],
  ],
};

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000 - 0.5;
  };
}

function trace(waves: Wave[], beats: number[], rate: number, length: number, noise: () => number): number[] {
  return Array.from({ length }, (_, n) => {
    const t = n / rate;
    let v = 40 * Math.sin(2 * Math.PI * 0.15 * t) + 8 * noise();
    for (const r of beats) {
      if (Math.abs(t - r) > 0.6) continue;
      for (const [c, w, a] of waves) v += a * Math.exp(-(((t - r - c) / w) ** 2) / 2);
    }
    return v;
  });
}

export function synthEcgRecord(options: SynthOptions = {}): Uint8Array {
  const rate = options.sampleRateHz ?? 500;
  const seconds = options.seconds ?? 10;
  const length = rate * seconds;
  const noise = random(options.seed ?? 1);
  const rr = 60 / (options.heartRateBpm ?? 72);
  const beats: number[] = [];
  for (let t = 0.35; t < seconds + rr; t += rr * (1 + 0.03 * noise())) beats.push(t);
  const i = trace(LIMB_I, beats, rate, length, noise);
  const ii = trace(LIMB_II, beats, rate, length, noise);
  const uvPerUnit = 2.5;
  const units = (uv: number[]) => uv.map((v) => Math.round(v / uvPerUnit) + 0);
  const leads: EncodeInput['leads'] = [
    { name: 'I', samples: units(i) },
    { name: 'II', samples: units(ii) },
    ...Object.entries(PRECORDIAL).map(([name, waves]) => ({
      name,
      samples: units(trace(waves, beats, rate, length, noise)),
    })),
    { name: 'III', samples: units(ii.map((v, k) => v - i[k]!)) },
    { name: 'aVR', samples: units(i.map((v, k) => -(v + ii[k]!) / 2)) },
    { name: 'aVL', samples: units(i.map((v, k) => v - ii[k]! / 2)) },
    { name: 'aVF', samples: units(ii.map((v, k) => v - i[k]! / 2)) },
  ];
  return encodeScp({
    patient: options.patient ?? {
      id: `SIM-${options.seed ?? 1}`,
      lastName: '测试',
      firstName: '患者',
      sex: 'F',
      birthDate: '1970-01-01',
    },
    acquiredAt: options.acquiredAt ?? new Date().toISOString().slice(0, 19),
    ...(options.statCode !== undefined ? { statCode: options.statCode } : {}),
    device: { model: 'SIM12', deviceId: 1, serialNumber: 'RIG-CART-1' },
    languageCode: options.languageCode ?? 0x27,
    sampleIntervalUs: Math.round(1e6 / rate),
    amplitudeNv: uvPerUnit * 1000,
    difference: 2,
    leads,
  });
}
