import { ENTER, KEYPAD_ENTER, KEYS, SHIFT_BITS } from './consts.ts';

export class HidReportError extends Error {
  readonly code = 'HID_REPORT';
}

/** A finished scan: the text and, when the scanner prefixes one, its AIM symbology identifier. */
export interface Scan {
  text: string;
  /** "]Q1" etc.; null when the scanner sends none (wedge mode usually does not). */
  aim: string | null;
}

/** "]Q1" at the start of a wedge scan (scanners can be set to prefix it): split off. */
export function splitAim(text: string): Scan {
  const m = /^(\][A-Za-z][0-9A-Za-z])/.exec(text);
  return m ? { text: text.slice(3), aim: m[1]! } : { text, aim: null };
}

/**
 * Keyboard-wedge decoding: boot keyboard reports (modifier, reserved, six key usages) to typed
 * characters, a scan ending at Enter. A key counts when it appears in a report, not while it stays
 * down (so "aa" needs a release between, as a scanner sends it). Usages the table does not know
 * are counted and skipped, never guessed.
 *
 * INVARIANTS: `held` is exactly the keys down in the last report; `text` is what was typed since
 * the last Enter.
 */
export class KeyboardWedgeDecoder {
  private held = new Set<number>();
  private text = '';
  readonly counters = { reports: 0, unknownKeys: 0, scans: 0 };

  /** Feeds one report; returns the scans it finished (usually none or one). */
  push(report: Uint8Array): Scan[] {
    if (report.length !== 8)
      throw new HidReportError(`a boot keyboard report has 8 bytes, not ${report.length}`);
    this.counters.reports++;
    const shift = (report[0]! & SHIFT_BITS) !== 0;
    const keys = [...report.subarray(2)].filter((k) => k !== 0);
    // 0x01 in every slot is the keyboard's "too many keys" (ErrorRollOver): nothing new happened.
    if (keys.length > 0 && keys.every((k) => k === 0x01)) return [];
    const scans: Scan[] = [];
    for (const key of keys) {
      if (this.held.has(key)) continue;
      if (key === ENTER || key === KEYPAD_ENTER) {
        if (this.text.length > 0) {
          scans.push(splitAim(this.text));
          this.counters.scans++;
        }
        this.text = '';
        continue;
      }
      const chars = KEYS.get(key);
      if (!chars) {
        this.counters.unknownKeys++;
        continue;
      }
      this.text += chars[shift ? 1 : 0];
    }
    this.held = new Set(keys);
    return scans;
  }
}

/** Characters the wedge can type, to their usage and Shift (what the rig's scanner sends). */
export function keyFor(char: string): { usage: number; shift: boolean } | null {
  for (const [usage, [plain, shifted]] of KEYS) {
    if (usage >= 0x54) continue; // the main block, as a scanner types
    if (plain === char) return { usage, shift: false };
    if (shifted === char) return { usage, shift: true };
  }
  return null;
}

/** A text as a wedge scanner types it: press and release per character, then Enter. */
export function wedgeReports(text: string): Uint8Array[] {
  const reports: Uint8Array[] = [];
  for (const char of text) {
    const key = keyFor(char);
    if (!key) throw new RangeError(`a keyboard-wedge scanner cannot type ${JSON.stringify(char)}`);
    reports.push(Uint8Array.of(key.shift ? 0x02 : 0, 0, key.usage, 0, 0, 0, 0, 0), new Uint8Array(8));
  }
  reports.push(Uint8Array.of(0, 0, ENTER, 0, 0, 0, 0, 0), new Uint8Array(8));
  return reports;
}
