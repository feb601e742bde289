import { STANDARD_SECTIONS } from './consts.ts';
import { crcCcitt } from './crc.ts';
import { ScpDecodeError } from './errors.ts';
import type { ScpSectionInfo } from './types.ts';

export const SECTION_HEADER_BYTES = 16;
const POINTER_BYTES = 10;

/** A section located in the record: header fields plus the byte range of its data part. */
export interface Section extends ScpSectionInfo {
  dataStart: number;
  dataEnd: number;
}

export interface Framing {
  recordCrc: number;
  recordLength: number;
  sections: Map<number, Section>;
}

export interface FramingOptions {
  /** Section 0 indexes are 1-based in the standard; some vendors write 0-based ones. */
  pointerBase: 0 | 1;
  /** Vendors whose CRCs are not CRC-CCITT cannot be checked; the caller records a warning. */
  checkCrc: boolean;
  /** Record length as the file states it (vendors differ in where they put it). */
  recordLength: number;
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

export function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x1000000;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

function readSectionHeader(bytes: Uint8Array, offset: number, limit: number, id: number): Section {
  if (offset + SECTION_HEADER_BYTES > limit) {
    throw new ScpDecodeError(
      `section ${id}`,
      'header',
      `starts at byte ${offset} but the record ends at ${limit}`,
    );
  }
  const length = u32(bytes, offset + 4);
  if (length < SECTION_HEADER_BYTES) {
    throw new ScpDecodeError(`section ${id}`, 'length', `${length} bytes is shorter than the 16-byte header`);
  }
  if (offset + length > limit) {
    throw new ScpDecodeError(
      `section ${id}`,
      'length',
      `${length} bytes from byte ${offset} runs past the end of the record (${limit} bytes)`,
    );
  }
  return {
    id: u16(bytes, offset + 2),
    offset,
    length,
    version: bytes[offset + 8]!,
    protocol: bytes[offset + 9]!,
    crc: u16(bytes, offset),
    crcOk: null,
    dataStart: offset + SECTION_HEADER_BYTES,
    dataEnd: offset + length,
  };
}

function checkSectionCrc(bytes: Uint8Array, section: Section): void {
  const computed = crcCcitt(bytes, section.offset + 2, section.offset + section.length);
  section.crcOk = computed === section.crc;
  if (!section.crcOk) {
    throw new ScpDecodeError(
      `section ${section.id}`,
      'CRC',
      `stored ${hex(section.crc)} does not match computed ${hex(computed)}: the section is corrupt`,
    );
  }
}

/** Locates every section through Section 0's pointers and verifies the CRCs (EN 1064 §5.3). */
export function readFraming(bytes: Uint8Array, options: FramingOptions, warnings: string[]): Framing {
  const minimum = 6 + SECTION_HEADER_BYTES;
  if (bytes.length < minimum) {
    throw new ScpDecodeError(
      'record',
      'length',
      `file is ${bytes.length} bytes; an SCP-ECG record needs at least ${minimum}`,
    );
  }
  const recordLength = options.recordLength;
  if (recordLength > bytes.length) {
    throw new ScpDecodeError(
      'record',
      'length',
      `header says ${recordLength} bytes but the file holds ${bytes.length}: the transfer was cut short`,
    );
  }
  if (recordLength < minimum) {
    throw new ScpDecodeError(
      'record',
      'length',
      `header says ${recordLength} bytes, too short for any record`,
    );
  }
  if (recordLength < bytes.length) {
    warnings.push(`record: ${bytes.length - recordLength} bytes after the record's end are ignored`);
  }
  const recordCrc = u16(bytes, 0);
  if (options.checkCrc) {
    const computed = crcCcitt(bytes, 2, recordLength);
    if (computed !== recordCrc) {
      throw new ScpDecodeError(
        'record',
        'CRC',
        `stored ${hex(recordCrc)} does not match computed ${hex(computed)}: the record is corrupt`,
      );
    }
  }
  const section0 = readSectionHeader(bytes, 6, recordLength, 0);
  if (section0.id !== 0) {
    throw new ScpDecodeError(
      'section 0',
      'id',
      `the record must start with Section 0, found Section ${section0.id}`,
    );
  }
  if (options.checkCrc) checkSectionCrc(bytes, section0);
  const sections = new Map<number, Section>([[0, section0]]);
  for (let at = section0.dataStart; at + POINTER_BYTES <= section0.dataEnd; at += POINTER_BYTES) {
    const id = u16(bytes, at);
    const length = u32(bytes, at + 2);
    const index = u32(bytes, at + 6);
    if (id === 0 || length === 0) continue;
    const offset = index - options.pointerBase;
    if (offset < 6 || offset + length > recordLength) {
      throw new ScpDecodeError(
        'section 0',
        `pointer to section ${id}`,
        `${length} bytes at index ${index} lies outside the record (${recordLength} bytes)`,
      );
    }
    const section = readSectionHeader(bytes, offset, recordLength, id);
    if (section.id !== id) {
      throw new ScpDecodeError(
        'section 0',
        `pointer to section ${id}`,
        `points at a header of section ${section.id}`,
      );
    }
    if (section.length !== length) {
      warnings.push(
        `section 0: pointer gives section ${id} ${length} bytes, its header ${section.length}; the header is used`,
      );
    }
    if (options.checkCrc) checkSectionCrc(bytes, section);
    if (!STANDARD_SECTIONS.has(id) && id < 128) {
      warnings.push(`section ${id}: not defined by the standard; kept in the original file, not decoded`);
    }
    sections.set(id, section);
  }
  return { recordCrc, recordLength, sections };
}
