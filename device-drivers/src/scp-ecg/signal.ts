import { leadName } from './consts.ts';
import { ScpDecodeError } from './errors.ts';
import type { Section } from './framing.ts';
import { u32 } from './framing.ts';
import {
  DEFAULT_TABLE_MARKER,
  decodeHuffman,
  type HuffmanCode,
  HuffmanCodeError,
  type HuffmanTables,
  reverseBits,
  undifference,
} from './huffman.ts';
import type { ScpLead } from './types.ts';

const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const s16 = (b: Uint8Array, at: number) => (u16(b, at) << 16) >> 16;

export interface LeadDefinition {
  start: number;
  end: number;
  code: number;
}

export interface LeadSet {
  leads: LeadDefinition[];
  referenceBeatSubtracted: boolean;
  simultaneous: boolean;
}

interface Qrs {
  type: number;
  start: number;
  fiducial: number;
  end: number;
}

interface QrsLocations {
  referenceLengthMs: number;
  referenceFiducial: number;
  qrs: Qrs[];
  protectedZones: Array<{ start: number; end: number }>;
}

/** Section 2: Huffman tables (EN 1064 §5.5). */
export function readHuffmanTables(bytes: Uint8Array, section: Section | undefined): HuffmanTables {
  if (!section || section.dataEnd - section.dataStart < 2) return { kind: 'none' };
  const count = u16(bytes, section.dataStart);
  if (count === DEFAULT_TABLE_MARKER) return { kind: 'default' };
  if (count === 0) return { kind: 'none' };
  const tables: HuffmanCode[][] = [];
  let at = section.dataStart + 2;
  for (let t = 0; t < count; t++) {
    if (at + 2 > section.dataEnd) {
      throw new ScpDecodeError(
        'section 2',
        `table ${t + 1}`,
        `declared ${count} tables but the section ends after ${t}`,
      );
    }
    const codes = u16(bytes, at);
    at += 2;
    if (at + codes * 9 > section.dataEnd) {
      throw new ScpDecodeError(
        'section 2',
        `table ${t + 1}`,
        `${codes} code structures do not fit in the section`,
      );
    }
    const table: HuffmanCode[] = [];
    for (let c = 0; c < codes; c++, at += 9) {
      const prefixBits = bytes[at]!;
      if (prefixBits < 1 || prefixBits > 32) {
        throw new ScpDecodeError(
          'section 2',
          `table ${t + 1} code ${c + 1}`,
          `prefix of ${prefixBits} bits is impossible`,
        );
      }
      table.push({
        prefixBits,
        totalBits: bytes[at + 1]!,
        tableModeSwitch: bytes[at + 2]!,
        baseValue: s16(bytes, at + 3),
        prefix: reverseBits(u32(bytes, at + 5), prefixBits),
      });
    }
    tables.push(table);
  }
  return { kind: 'custom', tables };
}

/** Section 3: lead definition (EN 1064 §5.6). */
export function readLeadSet(bytes: Uint8Array, section: Section | undefined, warnings: string[]): LeadSet {
  if (!section) throw new ScpDecodeError('section 3', 'presence', 'the lead definition section is missing');
  const available = section.dataEnd - section.dataStart;
  if (available < 2) throw new ScpDecodeError('section 3', 'length', 'holds no lead count');
  const count = bytes[section.dataStart]!;
  const flags = bytes[section.dataStart + 1]!;
  if (count === 0)
    throw new ScpDecodeError('section 3', 'number of leads', 'declares 0 leads: the record holds no ECG');
  const room = Math.floor((available - 2) / 9);
  if (count > room) {
    throw new ScpDecodeError(
      'section 3',
      'number of leads',
      `declares ${count} leads but holds definitions for only ${room}`,
    );
  }
  const leads: LeadDefinition[] = [];
  let zeroBased = false;
  for (let i = 0, at = section.dataStart + 2; i < count; i++, at += 9) {
    let start = u32(bytes, at);
    let end = u32(bytes, at + 4);
    if (start === 0) {
      zeroBased = true;
      start += 1;
      end += 1;
    }
    if (end < start) {
      throw new ScpDecodeError(
        'section 3',
        `lead ${i + 1}`,
        `ends at sample ${end}, before its start ${start}`,
      );
    }
    leads.push({ start, end, code: bytes[at + 8]! });
  }
  if (zeroBased) warnings.push('section 3: sample numbers start at 0, not 1 (off by one); shifted by one');
  return { leads, referenceBeatSubtracted: (flags & 1) === 1, simultaneous: (flags & 4) === 4 };
}

/** Section 4: QRS locations, needed to undo reference-beat subtraction and bimodal compression. */
function readQrsLocations(bytes: Uint8Array, section: Section | undefined): QrsLocations | null {
  if (!section || section.dataEnd - section.dataStart < 6) return null;
  const at0 = section.dataStart;
  const count = u16(bytes, at0 + 4);
  if (at0 + 6 + count * 14 > section.dataEnd) {
    throw new ScpDecodeError(
      'section 4',
      'number of QRS complexes',
      `${count} complexes do not fit in the section`,
    );
  }
  const qrs: Qrs[] = [];
  for (let i = 0, at = at0 + 6; i < count; i++, at += 14) {
    qrs.push({
      type: u16(bytes, at),
      start: u32(bytes, at + 2),
      fiducial: u32(bytes, at + 6),
      end: u32(bytes, at + 10),
    });
  }
  const protectedZones: QrsLocations['protectedZones'] = [];
  for (let i = 0, at = at0 + 6 + count * 14; i < count && at + 8 <= section.dataEnd; i++, at += 8) {
    protectedZones.push({ start: u32(bytes, at), end: u32(bytes, at + 4) });
  }
  return { referenceLengthMs: u16(bytes, at0), referenceFiducial: u16(bytes, at0 + 2), qrs, protectedZones };
}

interface EncodedLeads {
  avm: number;
  intervalUs: number;
  difference: number;
  bimodal: boolean;
  streams: Array<{ start: number; end: number }>;
}

/** Common header of Sections 5 and 6: AVM, interval, difference, flag, per-lead byte counts. */
function readEncodedLeads(bytes: Uint8Array, section: Section, leadCount: number): EncodedLeads {
  const where = `section ${section.id}` as const;
  const at0 = section.dataStart;
  if (at0 + 6 + 2 * leadCount > section.dataEnd) {
    throw new ScpDecodeError(where, 'header', `too short for ${leadCount} lead byte counts`);
  }
  const avm = u16(bytes, at0);
  const intervalUs = u16(bytes, at0 + 2);
  const difference = bytes[at0 + 4]!;
  if (avm === 0)
    throw new ScpDecodeError(where, 'amplitude value multiplier', 'is 0 nV: amplitudes are unknowable');
  if (intervalUs === 0) throw new ScpDecodeError(where, 'sample time interval', 'is 0 µs');
  if (difference > 2)
    throw new ScpDecodeError(where, 'difference data used', `${difference} is not 0, 1 or 2`);
  const streams: EncodedLeads['streams'] = [];
  let data = at0 + 6 + 2 * leadCount;
  for (let i = 0; i < leadCount; i++) {
    const length = u16(bytes, at0 + 6 + 2 * i);
    if (data + length > section.dataEnd) {
      throw new ScpDecodeError(
        where,
        `lead ${i + 1} byte count`,
        `${length} bytes declared but ${Math.max(0, section.dataEnd - data)} remain in the section`,
      );
    }
    streams.push({ start: data, end: data + length });
    data += length;
  }
  return { avm, intervalUs, difference, bimodal: bytes[at0 + 5] === 1, streams };
}

function decodeStream(
  bytes: Uint8Array,
  stream: { start: number; end: number },
  count: number,
  tables: HuffmanTables,
  difference: number,
  where: 'section 5' | 'section 6',
  lead: string,
): { samples: number[]; short: boolean } {
  try {
    const { values, exhausted } = decodeHuffman(bytes, stream.start, stream.end, count, tables);
    return { samples: undifference(values, difference), short: exhausted };
  } catch (error) {
    if (error instanceof HuffmanCodeError) throw new ScpDecodeError(where, `lead ${lead}`, error.message);
    throw error;
  }
}

/**
 * Runs of a lead's time axis: protected (stored at full rate) or not (stored as block means).
 * Works on the zone list, not sample by sample, so a corrupt sample range cannot make it spin.
 */
export function bimodalRuns(
  def: { start: number; end: number },
  zones: ReadonlyArray<{ start: number; end: number }>,
): Array<{ start: number; end: number; protected: boolean }> {
  const clipped = zones
    .map((z) => ({ start: Math.max(z.start, def.start), end: Math.min(z.end, def.end) }))
    .filter((z) => z.start <= z.end)
    .sort((x, y) => x.start - y.start);
  const runs: Array<{ start: number; end: number; protected: boolean }> = [];
  let t = def.start;
  for (const z of clipped) {
    if (z.end < t) continue;
    const start = Math.max(z.start, t);
    if (start > t) runs.push({ start: t, end: start - 1, protected: false });
    runs.push({ start, end: z.end, protected: true });
    t = z.end + 1;
  }
  if (t <= def.end) runs.push({ start: t, end: def.end, protected: false });
  return runs;
}

function bimodalStoredCount(
  def: LeadDefinition,
  zones: QrsLocations['protectedZones'],
  rate: number,
): number {
  return bimodalRuns(def, zones).reduce(
    (sum, run) =>
      sum + (run.protected ? run.end - run.start + 1 : Math.ceil((run.end - run.start + 1) / rate)),
    0,
  );
}

/**
 * Expands bimodally compressed data (EN 1064 §5.10.3): protected zones were stored at full rate
 * and come back exact; elsewhere each stored value is the mean of `rate` samples, and the
 * samples between block centres are interpolated linearly.
 */
export function expandBimodal(
  stored: number[],
  def: { start: number; end: number },
  zones: ReadonlyArray<{ start: number; end: number }>,
  rate: number,
): number[] {
  const out: number[] = [];
  let next = 0;
  for (const run of bimodalRuns(def, zones)) {
    const length = run.end - run.start + 1;
    if (run.protected) {
      out.push(...stored.slice(next, next + length));
      next += length;
      continue;
    }
    const means = stored.slice(next, next + Math.ceil(length / rate));
    next += means.length;
    if (means.length === 0) break;
    const centre = (k: number) => k * rate + (Math.min(rate, length - k * rate) - 1) / 2;
    for (let u = 0; u < Math.min(length, means.length * rate); u++) {
      let j = Math.min(Math.floor(u / rate), means.length - 1);
      if (u < centre(j)) j--;
      if (j < 0) out.push(means[0]!);
      else if (j + 1 >= means.length) out.push(means[means.length - 1]!);
      else {
        const w = (u - centre(j)) / (centre(j + 1) - centre(j));
        out.push(Math.round(means[j]! + w * (means[j + 1]! - means[j]!)));
      }
    }
  }
  return out;
}

export interface SignalInput {
  bytes: Uint8Array;
  sections: Map<number, Section>;
  warnings: string[];
}

/** Sections 2–6 to leads: Huffman, differences, bimodal expansion, reference-beat addition. */
export function readLeads({ bytes, sections, warnings }: SignalInput): ScpLead[] {
  const tables = readHuffmanTables(bytes, sections.get(2));
  const set = readLeadSet(bytes, sections.get(3), warnings);
  const rhythmSection = sections.get(6);
  if (!rhythmSection) throw new ScpDecodeError('section 6', 'presence', 'the rhythm data section is missing');
  const rhythm = readEncodedLeads(bytes, rhythmSection, set.leads.length);
  const qrs = readQrsLocations(bytes, sections.get(4));
  const referenceSection = sections.get(5);
  const reference = referenceSection ? readEncodedLeads(bytes, referenceSection, set.leads.length) : null;
  if (set.referenceBeatSubtracted && (!qrs || !reference)) {
    throw new ScpDecodeError(
      'section 3',
      'reference beat subtraction',
      'is flagged but Section 4 or 5 is missing: the rhythm cannot be reconstructed',
    );
  }
  let rate = 1;
  let fullIntervalUs = rhythm.intervalUs;
  if (rhythm.bimodal) {
    if (!qrs || !reference) {
      throw new ScpDecodeError(
        'section 6',
        'bimodal compression',
        'is flagged but Section 4 or 5 is missing',
      );
    }
    rate = rhythm.intervalUs / reference.intervalUs;
    if (!Number.isInteger(rate) || rate < 1 || rate > 4) {
      throw new ScpDecodeError(
        'section 6',
        'bimodal compression',
        `decimation factor ${rate} is not 1, 2, 3 or 4`,
      );
    }
    fullIntervalUs = reference.intervalUs;
  }
  return set.leads.map((def, i) => {
    const name = leadName(def.code);
    const declared = def.end - def.start + 1;
    const expected = rate > 1 && qrs ? bimodalStoredCount(def, qrs.protectedZones, rate) : declared;
    const decoded = decodeStream(
      bytes,
      rhythm.streams[i]!,
      expected,
      tables,
      rhythm.difference,
      'section 6',
      name,
    );
    let samples =
      rate > 1 && qrs ? expandBimodal(decoded.samples, def, qrs.protectedZones, rate) : decoded.samples;
    if (samples.length === 0) throw new ScpDecodeError('section 6', `lead ${name}`, 'holds no samples');
    if (samples.length < declared) {
      warnings.push(
        `section 6: lead ${name} declares ${declared} samples but the data holds ${samples.length}; the data's length is used`,
      );
    }
    if (set.referenceBeatSubtracted && qrs && reference) {
      const refCount = Math.round((qrs.referenceLengthMs * 1000) / reference.intervalUs);
      const ref = decodeStream(
        bytes,
        reference.streams[i]!,
        refCount,
        tables,
        reference.difference,
        'section 5',
        name,
      );
      const scale = reference.avm / rhythm.avm;
      samples = samples.slice();
      for (const beat of qrs.qrs) {
        if (beat.type !== 0) continue;
        // Clip the zone to the lead and to the reference beat before looping: corrupt sample
        // numbers must not turn into billions of iterations.
        const offset = qrs.referenceFiducial - 1 - beat.fiducial;
        const first = Math.max(beat.start, def.start, -offset);
        const last = Math.min(beat.end, def.start + samples.length - 1, ref.samples.length - 1 - offset);
        for (let t = first; t <= last; t++)
          samples[t - def.start] = samples[t - def.start]! + Math.round(ref.samples[t + offset]! * scale);
      }
    }
    return {
      name,
      code: def.code,
      sampleIntervalUs: fullIntervalUs,
      sampleRateHz: Math.round(1e8 / fullIntervalUs) / 100,
      amplitudeNv: rhythm.avm,
      samples: Int32Array.from(samples),
    };
  });
}
