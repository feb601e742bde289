/**
 * USB HID keyboard usages (HID Usage Tables 1.3, page 0x07) as a barcode scanner in
 * keyboard-wedge mode types them, and the HID POS layout (usage page 0x8C, bar code scanner).
 */

/** Modifier byte bits of a boot keyboard report: left and right Shift. */
export const SHIFT_BITS = 0x02 | 0x20;
export const ENTER = 0x28;
export const KEYPAD_ENTER = 0x58;

/** Usage → [plain, shifted] characters (US layout, which scanners use in wedge mode). */
export const KEYS: ReadonlyMap<number, readonly [string, string]> = new Map<
  number,
  readonly [string, string]
>([
  ...Array.from({ length: 26 }, (_, i): [number, [string, string]] => [
    0x04 + i,
    [String.fromCharCode(97 + i), String.fromCharCode(65 + i)],
  ]),
  ...['1!', '2@', '3#', '4$', '5%', '6^', '7&', '8*', '9(', '0)'].map((p, i): [number, [string, string]] => [
    0x1e + i,
    [p[0]!, p[1]!],
  ]),
  [0x2b, ['\t', '\t']],
  [0x2c, [' ', ' ']],
  [0x2d, ['-', '_']],
  [0x2e, ['=', '+']],
  [0x2f, ['[', '{']],
  [0x30, [']', '}']],
  [0x31, ['\\', '|']],
  [0x33, [';', ':']],
  [0x34, ["'", '"']],
  [0x35, ['`', '~']],
  [0x36, [',', '<']],
  [0x37, ['.', '>']],
  [0x38, ['/', '?']],
  // Keypad: the same characters with or without Shift.
  [0x54, ['/', '/']],
  [0x55, ['*', '*']],
  [0x56, ['-', '-']],
  [0x57, ['+', '+']],
  ...['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'].map((c, i): [number, [string, string]] => [
    0x59 + i,
    [c, c],
  ]),
  [0x63, ['.', '.']],
]);

/**
 * HID POS input report as scanners in POS mode send it (64 bytes): report ID, the number of data
 * bytes in this report, the AIM symbology identifier (3 characters, "]Q1"), the data, and in the
 * last byte a flag whose bit 0 says more reports of the same scan follow.
 */
export const POS = {
  reportBytes: 64,
  lengthAt: 1,
  aimAt: 2,
  dataAt: 5,
  /** Room for data in one report: between the AIM identifier and the flag. */
  dataBytes: 64 - 5 - 1,
  flagAt: 63,
} as const;

/** AIM symbology identifiers (ISO/IEC 15424) the terminal names; others are shown as given. */
export const AIM_SYMBOLOGY: Readonly<Record<string, string>> = {
  Q: 'QR Code',
  d: 'Data Matrix',
  L: 'PDF417',
  C: 'Code 128',
  A: 'Code 39',
  E: 'EAN/UPC',
  I: 'Interleaved 2 of 5',
  z: 'Aztec',
};
