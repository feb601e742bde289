import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crcCcitt } from '../../src/scp-ecg/crc.ts';
import { type EncodeInput, encodeScp } from '../../src/scp-ecg/encode.ts';

/** ../shared/testdata beside the project root; tests that need it skip when it is absent. */
export const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/testdata');
export const hasTestdata = existsSync(join(TESTDATA, 'scp/reference/scp_expected.json'));

export function sine(length: number, period: number, amplitude: number, phase = 0): number[] {
  // + 0 turns Math.round's -0 into 0, which is what a decoder gives back.
  return Array.from(
    { length },
    (_, t) => Math.round(amplitude * Math.sin((2 * Math.PI * (t + phase)) / period)) + 0,
  );
}

export function smallRecord(overrides: Partial<EncodeInput> = {}): EncodeInput {
  return {
    patient: { id: 'P-001', lastName: 'Wang', firstName: 'Fang', birthDate: '1960-03-04', sex: 'F' },
    acquiredAt: '2026-11-27T10:20:30',
    device: { model: 'ECG12', deviceId: 7, serialNumber: 'SN123' },
    sampleIntervalUs: 2000,
    amplitudeNv: 5000,
    leads: [
      { name: 'I', samples: sine(500, 100, 200) },
      { name: 'II', samples: sine(500, 100, 300, 7) },
    ],
    ...overrides,
  };
}

export const u32 = (b: Uint8Array, at: number): number =>
  b[at]! + b[at + 1]! * 256 + b[at + 2]! * 65536 + b[at + 3]! * 16777216;

/** Byte offset (0-based) of section `id`'s header, from Section 0's pointers. */
export function sectionOffset(record: Uint8Array, id: number): number {
  const length0 = u32(record, 6 + 4);
  for (let at = 6 + 16; at < 6 + length0; at += 10) {
    if ((record[at]! | (record[at + 1]! << 8)) === id && u32(record, at + 2) > 0)
      return u32(record, at + 6) - 1;
  }
  throw new Error(`no section ${id}`);
}

/** Recomputes every section CRC and the record CRC after a test has edited the bytes. */
export function reseal(record: Uint8Array): Uint8Array {
  const length0 = Math.min(u32(record, 6 + 4), record.length - 6);
  for (let at = 6 + 16; at < 6 + length0; at += 10) {
    const length = u32(record, at + 2);
    if (length === 0) continue;
    const offset = u32(record, at + 6) - 1;
    if (offset + length > record.length) continue;
    const crc = crcCcitt(record, offset + 2, offset + length);
    record[offset] = crc & 0xff;
    record[offset + 1] = crc >> 8;
  }
  const crc = crcCcitt(record, 2, Math.min(u32(record, 2), record.length));
  record[0] = crc & 0xff;
  record[1] = crc >> 8;
  return record;
}

export { encodeScp };

/**
 * Rebuilds the record with section `id`'s data replaced (its header keeps id and version): the
 * pointers in Section 0, the record length and every CRC follow. For records no encoder would write.
 */
export function replaceSectionData(record: Uint8Array, id: number, data: Uint8Array): Uint8Array {
  const offset = sectionOffset(record, id);
  const oldLength = u32(record, offset + 4);
  const newLength = 16 + data.length;
  const delta = newLength - oldLength;
  const out = new Uint8Array(record.length + delta);
  out.set(record.subarray(0, offset + 16));
  out.set(data, offset + 16);
  out.set(record.subarray(offset + oldLength), offset + newLength);
  const put32 = (at: number, v: number) => {
    for (let k = 0; k < 4; k++) out[at + k] = (v >>> (8 * k)) & 0xff;
  };
  put32(offset + 4, newLength);
  put32(2, u32(record, 2) + delta);
  const s0 = sectionOffset(out, 0);
  const length0 = u32(out, s0 + 4);
  for (let at = s0 + 16; at < s0 + length0; at += 10) {
    const sid = out[at]! | (out[at + 1]! << 8);
    if (sid === id) put32(at + 2, newLength);
    else if (u32(out, at + 6) - 1 > offset) put32(at + 6, u32(out, at + 6) + delta);
  }
  return reseal(out);
}
