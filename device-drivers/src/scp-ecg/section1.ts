import { TAG } from './consts.ts';
import { ScpDecodeError } from './errors.ts';
import type { Section } from './framing.ts';
import { decodeText } from './text.ts';
import type { ScpDevice, ScpPatient, Sex } from './types.ts';

export interface Demographics {
  patient: ScpPatient;
  acquiredAt: string | null;
  statCode: number | null;
  device: ScpDevice;
}

export interface Section1Options {
  /** Healforce writes dates and times big-endian. */
  bigEndianDates: boolean;
}

const TAG_NAMES: Record<number, string> = {
  [TAG.lastName]: 'last name',
  [TAG.firstName]: 'first name',
  [TAG.patientId]: 'patient ID',
  [TAG.secondLastName]: 'second last name',
};

type Tags = Map<number, Uint8Array>;

function readTags(bytes: Uint8Array, section: Section, warnings: string[]): Tags {
  const tags: Tags = new Map();
  let at = section.dataStart;
  while (at + 3 <= section.dataEnd) {
    const tag = bytes[at]!;
    const length = bytes[at + 1]! | (bytes[at + 2]! << 8);
    if (tag === TAG.terminator) return tags;
    if (at + 3 + length > section.dataEnd) {
      warnings.push(
        `section 1: tag ${tag} declares ${length} bytes but only ${section.dataEnd - at - 3} remain; the rest of Section 1 is ignored`,
      );
      return tags;
    }
    if (!tags.has(tag)) tags.set(tag, bytes.subarray(at + 3, at + 3 + length));
    at += 3 + length;
  }
  return tags;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function readDate(
  value: Uint8Array | undefined,
  bigEndian: boolean,
  what: string,
  warnings: string[],
): string | null {
  if (!value || value.length < 4) return null;
  const year = bigEndian ? (value[0]! << 8) | value[1]! : value[0]! | (value[1]! << 8);
  const month = value[2]!;
  const day = value[3]!;
  if (year === 0 && month === 0 && day === 0) return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCDate() !== day) {
    warnings.push(`section 1: ${what} ${year}-${month}-${day} is not a calendar date; left out`);
    return null;
  }
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

function readTime(value: Uint8Array | undefined, warnings: string[]): string | null {
  if (!value || value.length < 3) return null;
  const [h, m, s] = [value[0]!, value[1]!, value[2]!];
  if (h > 23 || m > 59 || s > 60) {
    warnings.push(`section 1: time of acquisition ${h}:${m}:${s} is not a time of day; left out`);
    return null;
  }
  return `${pad(h)}:${pad(m)}:${pad(s)}`;
}

function readZone(value: Uint8Array | undefined): string {
  if (!value || value.length < 2) return '';
  const offset = ((value[0]! | (value[1]! << 8)) << 16) >> 16;
  if (offset === 0x7fff || offset < -780 || offset > 780) return '';
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function text(tags: Tags, tag: number, languageCode: number, warnings: string[]): string | null {
  const value = tags.get(tag);
  if (!value) return null;
  const decoded = decodeText(value, languageCode);
  const name = TAG_NAMES[tag] ?? `tag ${tag}`;
  if (!decoded.terminated && value.length > 0) warnings.push(`section 1: ${name} is not NUL-terminated`);
  if (decoded.fallbackCharset) {
    warnings.push(
      `section 1: ${name} is not in the charset its language code names; read as ${decoded.fallbackCharset}`,
    );
  }
  return decoded.text === '' ? null : decoded.text;
}

function readStatCode(value: Uint8Array | undefined, warnings: string[]): number | null {
  if (!value || value.length < 1) return null;
  const code = value[0]!;
  if (code > 10) {
    // Not a level the standard defines; urgency is not guessed from it.
    warnings.push(`section 1: stat code ${code} is outside 0–10; read as routine`);
    return 0;
  }
  return code;
}

function readSex(value: Uint8Array | undefined): Sex | null {
  if (!value || value.length < 1) return null;
  switch (value[0]) {
    case 1:
      return 'M';
    case 2:
      return 'F';
    default:
      return 'U';
  }
}

/** Acquiring device (tag 14, EN 1064 §5.4.3.14): fixed part then NUL-separated strings. */
function readDevice(value: Uint8Array | undefined, warnings: string[]): ScpDevice {
  const device: ScpDevice = {
    model: null,
    institution: null,
    department: null,
    deviceId: null,
    deviceType: null,
    manufacturerCode: null,
    protocolRevision: null,
    languageCode: 0,
    serialNumber: null,
    softwareVersion: null,
    manufacturer: null,
  };
  if (!value) return device;
  if (value.length < 17) {
    warnings.push(
      `section 1: acquiring device (tag 14) is ${value.length} bytes, shorter than its 36-byte fixed part`,
    );
    if (value.length < 8) return device;
  }
  const u16 = (at: number) => value[at]! | (value[at + 1]! << 8);
  device.institution = u16(0);
  device.department = u16(2);
  device.deviceId = u16(4);
  device.deviceType = value[6]!;
  device.manufacturerCode = value[7]!;
  device.languageCode = value[16] ?? 0;
  device.model = decodeText(value.subarray(8, Math.min(14, value.length)), 0).text || null;
  device.protocolRevision = value[14] ?? null;
  if (value.length > 36) {
    const revisionLength = value[35]!;
    let at = 36 + revisionLength;
    const strings: string[] = [];
    while (at < value.length && strings.length < 4) {
      let end = value.indexOf(0, at);
      if (end < 0) end = value.length;
      strings.push(decodeText(value.subarray(at, end), device.languageCode).text);
      at = end + 1;
    }
    device.serialNumber = strings[0] || null;
    device.softwareVersion = strings[1] || null;
    device.manufacturer = strings[3] || null;
  }
  return device;
}

export function readSection1(
  bytes: Uint8Array,
  section: Section | undefined,
  options: Section1Options,
  warnings: string[],
): Demographics {
  if (!section) {
    throw new ScpDecodeError(
      'section 1',
      'presence',
      'the patient data section is missing (it is mandatory)',
    );
  }
  const tags = readTags(bytes, section, warnings);
  const device = readDevice(tags.get(TAG.acquiringDevice), warnings);
  const lang = device.languageCode;
  const date = readDate(
    tags.get(TAG.dateOfAcquisition),
    options.bigEndianDates,
    'date of acquisition',
    warnings,
  );
  const time = readTime(tags.get(TAG.timeOfAcquisition), warnings);
  return {
    patient: {
      id: text(tags, TAG.patientId, lang, warnings),
      lastName: text(tags, TAG.lastName, lang, warnings),
      firstName: text(tags, TAG.firstName, lang, warnings),
      birthDate: readDate(tags.get(TAG.dateOfBirth), options.bigEndianDates, 'date of birth', warnings),
      sex: readSex(tags.get(TAG.sex)),
    },
    acquiredAt: date ? `${date}T${time ?? '00:00:00'}${readZone(tags.get(TAG.timeZone))}` : null,
    statCode: readStatCode(tags.get(TAG.statCode), warnings),
    device,
  };
}
