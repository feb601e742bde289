import iconv from 'iconv-lite';
import { leadCode, TAG } from './consts.ts';
import { crcCcitt } from './crc.ts';
import { DEFAULT_TABLE_MARKER, difference as differenceOf, encodeDefaultHuffman } from './huffman.ts';
import { bimodalRuns } from './signal.ts';
import type { Sex } from './types.ts';

/** What a cart puts into a record. Used by the rig's cart simulator and by codec tests. */
export interface EncodeInput {
  patient?: {
    id?: string;
    lastName?: string;
    firstName?: string;
    birthDate?: string;
    sex?: Sex;
  };
  /** Local time of the cart, YYYY-MM-DDTHH:MM:SS. */
  acquiredAt?: string;
  /** Section 1 tag 24: 0 routine, 1–10 emergency (STAT); left out when absent. */
  statCode?: number;
  device?: {
    model?: string;
    deviceId?: number;
    institution?: number;
    department?: number;
    serialNumber?: string;
  };
  /** 0x00 ASCII (default), 0x27 GB 2312 (written as GB 18030). */
  languageCode?: number;
  protocolVersion?: number;
  sampleIntervalUs: number;
  amplitudeNv: number;
  leads: Array<{ name: string; samples: ArrayLike<number> }>;
  difference?: 0 | 1 | 2;
  huffman?: 'default' | 'none';
  /** Reference-beat subtraction (Sections 4 and 5); samples are per lead, at the rhythm rate. */
  referenceBeat?: {
    samples: number[][];
    /** 1-based sample of the fiducial point within the beat. */
    fiducial: number;
    qrs: Array<{ start: number; fiducial: number; end: number }>;
  };
  /** Bimodal compression: outside the protected zones keep one mean per `rate` samples. */
  bimodal?: { rate: 2 | 3 | 4; protectedZones: Array<{ start: number; end: number }> };
  /** Further sections as carts write them (vendor sections 128+, or ones this codec does not read). */
  extraSections?: Array<{ id: number; data: Uint8Array }>;
}

class Writer {
  private chunks: number[] = [];
  u8(v: number) {
    this.chunks.push(v & 0xff);
    return this;
  }
  u16(v: number) {
    return this.u8(v).u8(v >> 8);
  }
  u32(v: number) {
    return this.u16(v & 0xffff).u16(Math.floor(v / 0x10000));
  }
  bytes(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]!);
    return this;
  }
  get length() {
    return this.chunks.length;
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function section(id: number, data: Uint8Array, version: number): Uint8Array {
  const padded = data.length % 2 ? Uint8Array.from([...data, 0]) : data;
  const length = 16 + padded.length;
  const out = new Writer().u16(0).u16(id).u32(length).u8(version).u8(version);
  if (id === 0) out.bytes(Buffer.from('SCPECG', 'latin1'));
  else out.bytes([0, 0, 0, 0, 0, 0]);
  const bytes = new Writer().bytes(out.toBytes()).bytes(padded).toBytes();
  const crc = crcCcitt(bytes, 2);
  bytes[0] = crc & 0xff;
  bytes[1] = crc >> 8;
  return bytes;
}

function encodeText(text: string, languageCode: number): Uint8Array {
  const body = languageCode === 0x27 ? iconv.encode(text, 'gb18030') : Buffer.from(text, 'latin1');
  return Uint8Array.from([...body, 0]);
}

function tag(w: Writer, id: number, value: ArrayLike<number>) {
  w.u8(id).u16(value.length).bytes(value);
}

function section1(input: EncodeInput): Uint8Array {
  const w = new Writer();
  const lang = input.languageCode ?? 0;
  const p = input.patient ?? {};
  if (p.lastName !== undefined) tag(w, TAG.lastName, encodeText(p.lastName, lang));
  if (p.firstName !== undefined) tag(w, TAG.firstName, encodeText(p.firstName, lang));
  tag(w, TAG.patientId, encodeText(p.id ?? '', lang));
  if (p.birthDate) {
    const [y, m, d] = p.birthDate.split('-').map(Number);
    tag(w, TAG.dateOfBirth, [y! & 0xff, y! >> 8, m!, d!]);
  }
  if (p.sex) tag(w, TAG.sex, [p.sex === 'M' ? 1 : p.sex === 'F' ? 2 : 0]);
  const dev = input.device ?? {};
  const model = Buffer.alloc(6);
  model.write((dev.model ?? '').slice(0, 5), 'latin1');
  const device = new Writer()
    .u16(dev.institution ?? 0)
    .u16(dev.department ?? 0)
    .u16(dev.deviceId ?? 0)
    .u8(1)
    .u8(255)
    .bytes(model)
    .u8(input.protocolVersion ?? 20)
    .u8(0xa0)
    .u8(lang)
    .u8(0xd0)
    .u8(1)
    .bytes(new Uint8Array(16))
    .u8(0)
    .bytes(encodeText(dev.serialNumber ?? '', 0))
    .bytes([0, 0, 0]);
  tag(w, TAG.acquiringDevice, device.toBytes());
  if (input.statCode !== undefined) tag(w, TAG.statCode, [input.statCode & 0xff]);
  if (input.acquiredAt) {
    const [date, time = '00:00:00'] = input.acquiredAt.split('T');
    const [y, m, d] = date!.split('-').map(Number);
    const [hh, mm, ss] = time.split(':').map(Number);
    tag(w, TAG.dateOfAcquisition, [y! & 0xff, y! >> 8, m!, d!]);
    tag(w, TAG.timeOfAcquisition, [hh!, mm!, ss!]);
  }
  w.u8(TAG.terminator).u16(0);
  return w.toBytes();
}

function encodeStream(values: number[], input: EncodeInput): Uint8Array {
  if (input.huffman === 'none') {
    const w = new Writer();
    for (const v of values) w.u16(v < 0 ? v + 0x10000 : v);
    return w.toBytes();
  }
  return encodeDefaultHuffman(values);
}

function dataSection(
  avm: number,
  intervalUs: number,
  diff: number,
  flag: number,
  streams: Uint8Array[],
): Uint8Array {
  const w = new Writer().u16(avm).u16(intervalUs).u8(diff).u8(flag);
  for (const s of streams) w.u16(s.length);
  for (const s of streams) w.bytes(s);
  return w.toBytes();
}

function decimate(samples: number[], zones: EncodeInput['bimodal'] & object): number[] {
  const out: number[] = [];
  for (const run of bimodalRuns({ start: 1, end: samples.length }, zones.protectedZones)) {
    const part = samples.slice(run.start - 1, run.end);
    if (run.protected) out.push(...part);
    else {
      for (let k = 0; k < part.length; k += zones.rate) {
        const block = part.slice(k, k + zones.rate);
        out.push(Math.round(block.reduce((a, b) => a + b, 0) / block.length));
      }
    }
  }
  return out;
}

/** Builds a standard SCP-ECG record (EN 1064, default Huffman table) from samples. */
export function encodeScp(input: EncodeInput): Uint8Array {
  if (input.leads.length === 0 || input.leads.length > 255) {
    throw new RangeError(`an SCP-ECG record holds 1–255 leads, not ${input.leads.length}`);
  }
  const version = input.protocolVersion ?? 20;
  const diff = input.difference ?? 2;
  const ref = input.referenceBeat;
  const bimodal = input.bimodal;
  const sections = new Map<number, Uint8Array>();
  sections.set(1, section(1, section1(input), version));
  if (input.huffman !== 'none')
    sections.set(2, section(2, new Writer().u16(DEFAULT_TABLE_MARKER).toBytes(), version));
  const s3 = new Writer().u8(input.leads.length).u8((ref ? 1 : 0) | 4 | (input.leads.length << 3));
  for (const lead of input.leads) s3.u32(1).u32(lead.samples.length).u8(leadCode(lead.name));
  sections.set(3, section(3, s3.toBytes(), version));
  if (ref || bimodal) {
    const qrs = ref?.qrs ?? [];
    const s4 = new Writer()
      .u16(ref ? Math.round((ref.samples[0]!.length * input.sampleIntervalUs) / 1000) : 0)
      .u16(ref?.fiducial ?? 0)
      .u16(Math.max(qrs.length, bimodal?.protectedZones.length ?? 0));
    const zones = bimodal?.protectedZones ?? qrs.map((q) => ({ start: q.start, end: q.end }));
    for (let i = 0; i < Math.max(qrs.length, zones.length); i++) {
      const q = qrs[i] ?? { start: zones[i]!.start, fiducial: zones[i]!.start, end: zones[i]!.start - 1 };
      s4.u16(0).u32(q.start).u32(q.fiducial).u32(q.end);
    }
    for (const z of zones) s4.u32(z.start).u32(z.end);
    sections.set(4, section(4, s4.toBytes(), version));
    const refStreams = input.leads.map((_, i) =>
      encodeStream(differenceOf(ref?.samples[i] ?? [0], diff), input),
    );
    sections.set(
      5,
      section(5, dataSection(input.amplitudeNv, input.sampleIntervalUs, diff, 0, refStreams), version),
    );
  }
  const rhythm = input.leads.map((lead, i) => {
    let samples = Array.from(lead.samples);
    if (ref) {
      const beat = ref.samples[i]!;
      for (const q of ref.qrs) {
        for (let t = q.start; t <= q.end; t++) {
          const r = t - q.fiducial + ref.fiducial - 1;
          if (r >= 0 && r < beat.length && t - 1 < samples.length)
            samples[t - 1] = samples[t - 1]! - beat[r]!;
        }
      }
    }
    if (bimodal) samples = decimate(samples, bimodal);
    return encodeStream(differenceOf(samples, diff), input);
  });
  const interval = bimodal ? input.sampleIntervalUs * bimodal.rate : input.sampleIntervalUs;
  sections.set(
    6,
    section(6, dataSection(input.amplitudeNv, interval, diff, bimodal ? 1 : 0, rhythm), version),
  );
  for (const extra of input.extraSections ?? [])
    sections.set(extra.id, section(extra.id, extra.data, version));

  const ids = [...sections.keys()].sort((a, b) => a - b);
  const pointerIds = [...new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...ids])].sort((a, b) => a - b);
  const section0Length = 16 + pointerIds.length * 10;
  let index = 7 + section0Length;
  const pointers = new Writer();
  for (const id of pointerIds) {
    const body = sections.get(id);
    if (id === 0) pointers.u16(0).u32(section0Length).u32(7);
    else if (!body) pointers.u16(id).u32(0).u32(0);
    else {
      pointers.u16(id).u32(body.length).u32(index);
      index += body.length;
    }
  }
  const s0 = section(0, pointers.toBytes(), version);
  const body = new Writer().bytes(s0);
  for (const id of ids) body.bytes(sections.get(id)!);
  const record = new Writer()
    .u16(0)
    .u32(6 + body.length)
    .bytes(body.toBytes())
    .toBytes();
  const crc = crcCcitt(record, 2);
  record[0] = crc & 0xff;
  record[1] = crc >> 8;
  return record;
}
