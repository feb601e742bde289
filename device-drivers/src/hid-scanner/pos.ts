import { AIM_SYMBOLOGY, POS } from './consts.ts';
import { HidReportError, type Scan } from './keyboard.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * HID POS decoding: a scan arrives in one or more 64-byte input reports (report ID, data length,
 * AIM identifier, data, "more follows" flag); the pieces are joined until a report without the
 * flag, and the bytes decoded as UTF-8 (QR codes carry Chinese text this way; wedge mode cannot).
 */
export class HidPosDecoder {
  private parts: Uint8Array[] = [];
  private aim: string | null = null;
  readonly counters = { reports: 0, scans: 0, badReports: 0 };

  push(report: Uint8Array): Scan[] {
    this.counters.reports++;
    if (report.length !== POS.reportBytes) {
      this.counters.badReports++;
      this.parts = [];
      throw new HidReportError(`a HID POS report has ${POS.reportBytes} bytes, not ${report.length}`);
    }
    const length = report[POS.lengthAt]!;
    if (length > POS.dataBytes) {
      this.counters.badReports++;
      this.parts = [];
      throw new HidReportError(
        `a HID POS report says ${length} data bytes; it has room for ${POS.dataBytes}`,
      );
    }
    this.aim ??= String.fromCharCode(...report.subarray(POS.aimAt, POS.aimAt + 3));
    this.parts.push(report.slice(POS.dataAt, POS.dataAt + length));
    if ((report[POS.flagAt]! & 0x01) !== 0) return [];
    const bytes = Uint8Array.from(this.parts.flatMap((p) => [...p]));
    const aim = this.aim;
    this.parts = [];
    this.aim = null;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      this.counters.badReports++;
      throw new HidReportError('the scanned data is not UTF-8 text');
    }
    this.counters.scans++;
    return [{ text, aim: /^\][A-Za-z][0-9A-Za-z]$/.test(aim) ? aim : null }];
  }
}

/** The symbology's name for an AIM identifier ("]Q1" → "QR Code"), or the identifier itself. */
export function symbologyName(aim: string | null): string | null {
  if (!aim) return null;
  return AIM_SYMBOLOGY[aim[1] ?? ''] ?? aim;
}

/** A scan as a POS-mode scanner sends it (the rig's simulated scanner). */
export function posReports(text: string, aim = ']Q1', reportId = 0x02): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const reports: Uint8Array[] = [];
  for (let at = 0; at < bytes.length || reports.length === 0; at += POS.dataBytes) {
    const chunk = bytes.subarray(at, at + POS.dataBytes);
    const report = new Uint8Array(POS.reportBytes);
    report[0] = reportId;
    report[POS.lengthAt] = chunk.length;
    report.set(new TextEncoder().encode(aim.slice(0, 3)), POS.aimAt);
    report.set(chunk, POS.dataAt);
    report[POS.flagAt] = at + POS.dataBytes < bytes.length ? 0x01 : 0x00;
    reports.push(report);
  }
  return reports;
}
