import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeScp, leadCode } from '#device-drivers';

/** A WFDB header or signal file that cannot be read, naming the line or field. */
export class WfdbError extends Error {
  readonly code = 'WFDB_BAD_INPUT';
}

export interface WfdbSignal {
  file: string;
  format: number;
  /** ADC units per millivolt. */
  gain: number;
  zero: number;
  initial: number;
  checksum: number;
  description: string;
}

export interface WfdbHeader {
  record: string;
  frequencyHz: number;
  samplesPerSignal: number;
  signals: WfdbSignal[];
}

function int(text: string | undefined, what: string, line: number): number {
  const value = Number(text);
  if (text === undefined || !Number.isInteger(value)) {
    throw new WfdbError(
      `header line ${line}: ${what} is ${text === undefined ? 'missing' : `"${text}", not an integer`}`,
    );
  }
  return value;
}

/**
 * Parses a WFDB header (PhysioNet `header(5)`): a record line, then one line per signal. Comment
 * lines (`#`) and blank lines are skipped wherever they are, as the WFDB library does. Only what
 * the rig plays is supported: one signal file, format 212, one sample per frame per signal.
 */
export function parseWfdbHeader(text: string): WfdbHeader {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.trim(), n: i + 1 }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
  const recordLine = lines[0];
  if (!recordLine) throw new WfdbError('header has no record line');
  const [record, nSig, freq, nSamp] = recordLine.text.split(/\s+/);
  const count = int(nSig, 'the number of signals', recordLine.n);
  if (count < 1 || count > 64)
    throw new WfdbError(`header line ${recordLine.n}: ${count} signals is not plausible`);
  const frequencyHz = Number((freq ?? '').split('/')[0]);
  if (!(frequencyHz > 0 && frequencyHz <= 100_000)) {
    throw new WfdbError(
      `header line ${recordLine.n}: sampling frequency "${freq ?? ''}" is not a positive number`,
    );
  }
  const samplesPerSignal = int(nSamp, 'the number of samples per signal', recordLine.n);
  if (samplesPerSignal < 1) throw new WfdbError(`header line ${recordLine.n}: no samples`);
  const signals: WfdbSignal[] = [];
  for (const line of lines.slice(1, 1 + count)) {
    const f = line.text.split(/\s+/);
    const format = int(f[1]?.split(/[x:+]/)[0], 'the format', line.n);
    if (format !== 212)
      throw new WfdbError(`header line ${line.n}: format ${format}; the rig plays format 212 only`);
    const gainText = (f[2] ?? '200').split(/[(/]/)[0]!;
    const gain = Number(gainText) || 200;
    signals.push({
      file: f[0]!,
      format,
      gain,
      zero: int(f[4] ?? '0', 'the ADC zero', line.n),
      initial: int(f[5] ?? '0', 'the initial value', line.n),
      checksum: int(f[6] ?? '0', 'the checksum', line.n),
      description: f.slice(8).join(' '),
    });
  }
  if (signals.length !== count)
    throw new WfdbError(`header declares ${count} signals but describes ${signals.length}`);
  if (new Set(signals.map((s) => s.file)).size !== 1)
    throw new WfdbError('signals in several files are not supported');
  return { record: record!, frequencyHz, samplesPerSignal, signals };
}

/**
 * Format 212: two 12-bit two's-complement samples in three bytes, signals interleaved frame by frame.
 * Checks each signal's 16-bit checksum when the whole record is present.
 */
export function readFormat212(header: WfdbHeader, bytes: Uint8Array): Int16Array[] {
  const n = header.signals.length;
  const total = header.samplesPerSignal * n;
  const needed = Math.ceil(total / 2) * 3;
  if (bytes.length < needed) {
    throw new WfdbError(
      `signal file has ${bytes.length} bytes; ${header.samplesPerSignal} samples × ${n} signals need ${needed}`,
    );
  }
  const out = header.signals.map(() => new Int16Array(header.samplesPerSignal));
  const twelve = (v: number) => (v & 0x800 ? v - 0x1000 : v);
  for (let k = 0; k < total; k++) {
    const at = (k >> 1) * 3;
    const value =
      k & 1
        ? twelve(((bytes[at + 1]! & 0xf0) << 4) | bytes[at + 2]!)
        : twelve(((bytes[at + 1]! & 0x0f) << 8) | bytes[at]!);
    out[k % n]![Math.floor(k / n)] = value;
  }
  header.signals.forEach((s, i) => {
    let sum = 0;
    for (const v of out[i]!) sum = (sum + v) & 0xffff;
    const signed = sum >= 0x8000 ? sum - 0x10000 : sum;
    if (signed !== s.checksum) {
      throw new WfdbError(
        `signal ${i} (${s.description}): checksum ${signed} does not match the header's ${s.checksum}`,
      );
    }
    if (out[i]![0] !== s.initial) {
      throw new WfdbError(
        `signal ${i} (${s.description}): first sample ${out[i]![0]} is not the header's ${s.initial}`,
      );
    }
  });
  return out;
}

/** WFDB signal names to SCP-ECG lead names. MLII (modified lead II, Holter) is stored as II. */
function leadName(description: string): string {
  const name = description === 'MLII' ? 'II' : description === 'MLIII' ? 'III' : description;
  try {
    leadCode(name);
    return name;
  } catch {
    return 'Unspecified';
  }
}

export interface WfdbWindow {
  startS?: number;
  seconds?: number;
}

/** The samples the cart will send: `seconds` from `startS`, minus the ADC zero, per signal. */
export function wfdbWindow(header: WfdbHeader, signals: Int16Array[], window: WfdbWindow = {}) {
  const from = Math.round((window.startS ?? 0) * header.frequencyHz);
  const length = Math.round((window.seconds ?? 10) * header.frequencyHz);
  if (from < 0 || from + length > header.samplesPerSignal) {
    throw new WfdbError(
      `the record has ${header.samplesPerSignal / header.frequencyHz} s; cannot play ${window.seconds ?? 10} s from ${window.startS ?? 0} s`,
    );
  }
  return header.signals.map((s, i) => ({
    name: leadName(s.description),
    samples: Array.from(signals[i]!.subarray(from, from + length), (v) => v - s.zero),
    amplitudeNv: Math.round(1_000_000 / s.gain),
  }));
}

/**
 * A real recording, as a cart would send it: a window of a WFDB record encoded as SCP-ECG. SCP
 * stores the sample interval in whole microseconds, so 360 Hz becomes 2778 µs (359.97 Hz).
 */
export function wfdbToScp(headerPath: string, window: WfdbWindow = {}): Uint8Array {
  const header = parseWfdbHeader(readFileSync(headerPath, 'utf8'));
  const signals = readFormat212(header, readFileSync(join(dirname(headerPath), header.signals[0]!.file)));
  const leads = wfdbWindow(header, signals, window);
  const amplitudes = new Set(leads.map((l) => l.amplitudeNv));
  if (amplitudes.size !== 1)
    throw new WfdbError('signals with different gains cannot share one SCP amplitude');
  return encodeScp({
    patient: { id: `WFDB-${header.record}`, lastName: 'MIT-BIH', firstName: header.record },
    device: { model: 'rig WFDB player' },
    sampleIntervalUs: Math.round(1_000_000 / header.frequencyHz),
    amplitudeNv: leads[0]!.amplitudeNv,
    leads: leads.map((l) => ({ name: l.name, samples: l.samples })),
    difference: 2,
  });
}
