import { leadCode } from './consts.ts';
import { ScpDecodeError } from './errors.ts';
import type { Section } from './framing.ts';
import type { ScpLead } from './types.ts';

/**
 * Healforce Prince 180D (handheld, sold in China) writes SCP-ECG files that break the standard
 * in fixed ways, seen in the device's own exports:
 * - the record length is 16-bit (bytes 4–5), the file padded to 32 KiB;
 * - CRCs are not CRC-CCITT, so they cannot be verified;
 * - Section 0 indexes are 0-based;
 * - Section 1 dates and times are big-endian;
 * - Section 6 holds the sampling rate in Hz (150) where the interval in µs belongs, one byte
 *   count for all leads, and the leads interleaved sample by sample;
 * - samples are 12 bits (10-bit offset-binary value + 2 beat-marker bits), four packed into
 *   three little-endian 16-bit words: the fourth sample's nibbles are bits 10–13 of each word.
 */
export const HEALFORCE_PROFILE = 'healforce-prince-180d';

const LEADS = ['I', 'II', 'III'];

/** The signature: Section 0's own pointer at 0-based index 6, and a 16-bit record length. */
export function looksLikeHealforce(bytes: Uint8Array): boolean {
  if (bytes.length < 32) return false;
  const sectionZeroId = bytes[8]! | (bytes[9]! << 8);
  const firstPointerId = bytes[22]! | (bytes[23]! << 8);
  const firstPointerIndex = bytes[28]! | (bytes[29]! << 8) | (bytes[30]! << 16) | (bytes[31]! << 24);
  return (
    sectionZeroId === 0 && firstPointerId === 0 && firstPointerIndex === 6 && bytes[2] === 0 && bytes[3] === 0
  );
}

export function healforceRecordLength(bytes: Uint8Array): number {
  return bytes[4]! | (bytes[5]! << 8);
}

/** Unpacks the interleaved 12-bit stream of Section 6 into leads. */
export function readHealforceLeads(bytes: Uint8Array, sections: Map<number, Section>): ScpLead[] {
  const leadSection = sections.get(3);
  const rhythm = sections.get(6);
  if (!leadSection || !rhythm) {
    throw new ScpDecodeError(
      leadSection ? 'section 6' : 'section 3',
      'presence',
      'missing from the Healforce record',
    );
  }
  const leadCount = bytes[leadSection.dataStart]!;
  if (leadCount < 1 || leadCount > LEADS.length) {
    throw new ScpDecodeError(
      'section 3',
      'number of leads',
      `${leadCount} is not 1–3 as the Prince 180D records`,
    );
  }
  const at = rhythm.dataStart;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const avm = view.getUint16(at, true);
  const rateHz = view.getUint16(at + 2, true);
  const byteCount = view.getUint16(at + 6, true);
  if (rateHz === 0) throw new ScpDecodeError('section 6', 'sampling rate', 'is 0 Hz');
  if (at + 8 + byteCount > rhythm.dataEnd) {
    throw new ScpDecodeError(
      'section 6',
      'byte count',
      `${byteCount} bytes declared but the section is shorter`,
    );
  }
  const words = Math.floor(byteCount / 6) * 3;
  const values: number[] = [];
  for (let w = 0; w < words; w += 3) {
    const triple = [0, 1, 2].map((k) => view.getUint16(at + 8 + 2 * (w + k), true));
    const fourth =
      ((triple[0]! & 0x3c00) >> 2) | ((triple[1]! & 0x3c00) >> 6) | ((triple[2]! & 0x3c00) >> 10);
    for (const packed of [...triple, fourth]) values.push((packed & 0x3ff) - 512);
  }
  const perLead = Math.floor(values.length / leadCount);
  return LEADS.slice(0, leadCount).map((name, lead) => {
    const samples = new Int32Array(perLead);
    for (let t = 0; t < perLead; t++) samples[t] = values[t * leadCount + lead]!;
    return {
      name,
      code: leadCode(name),
      sampleRateHz: rateHz,
      sampleIntervalUs: Math.round(1e6 / rateHz),
      amplitudeNv: avm,
      samples,
    };
  });
}
