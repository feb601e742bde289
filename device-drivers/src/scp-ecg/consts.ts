/** SCP-ECG lead identification codes (EN 1064 Annex A, table A.1), index = code. */
export const LEAD_NAMES: readonly string[] = [
  'Unspecified',
  'I',
  'II',
  'V1',
  'V2',
  'V3',
  'V4',
  'V5',
  'V6',
  'V7',
  'V2R',
  'V3R',
  'V4R',
  'V5R',
  'V6R',
  'V7R',
  'X',
  'Y',
  'Z',
  'CC5',
  'CM5',
  'LA',
  'RA',
  'LL',
  'fI',
  'fE',
  'fC',
  'fA',
  'fM',
  'fF',
  'fH',
  'I-cal',
  'II-cal',
  'V1-cal',
  'V2-cal',
  'V3-cal',
  'V4-cal',
  'V5-cal',
  'V6-cal',
  'V7-cal',
  'V2R-cal',
  'V3R-cal',
  'V4R-cal',
  'V5R-cal',
  'V6R-cal',
  'V7R-cal',
  'X-cal',
  'Y-cal',
  'Z-cal',
  'CC5-cal',
  'CM5-cal',
  'LA-cal',
  'RA-cal',
  'LL-cal',
  'fI-cal',
  'fE-cal',
  'fC-cal',
  'fA-cal',
  'fM-cal',
  'fF-cal',
  'fH-cal',
  'III',
  'aVR',
  'aVL',
  'aVF',
  '-aVR',
  'V8',
  'V9',
  'V8R',
  'V9R',
  'D',
  'A',
  'J',
  'Defib',
  'ExtPace',
  'A1',
  'A2',
  'A3',
  'A4',
  'V8-cal',
  'V9-cal',
  'V8R-cal',
  'V9R-cal',
  'D-cal',
  'A-cal',
  'J-cal',
];

export function leadName(code: number): string {
  return LEAD_NAMES[code] ?? `lead-${code}`;
}

export function leadCode(name: string): number {
  const code = LEAD_NAMES.indexOf(name);
  if (code < 0) throw new RangeError(`unknown SCP-ECG lead name ${name}`);
  return code;
}

/** The standard 12 leads, in the order carts usually store them. */
export const STANDARD_12_LEADS = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6', 'III', 'aVR', 'aVL', 'aVF'];

/** Section 1 tags (EN 1064 §5.4.3). */
export const TAG = {
  lastName: 0,
  firstName: 1,
  patientId: 2,
  secondLastName: 3,
  dateOfBirth: 5,
  sex: 8,
  acquiringDevice: 14,
  /** EN 1064 §5.4.3.1, tag 24: 0 routine, 1–10 the cart's emergency (STAT) levels. */
  statCode: 24,
  dateOfAcquisition: 25,
  timeOfAcquisition: 26,
  timeZone: 34,
  terminator: 255,
} as const;

/** Protocol versions this decoder knows (EN 1064:1993 = 1.x, :2005 = 2.x, ISO 11073-91064:2009 / v3). */
export const KNOWN_PROTOCOL_VERSIONS = new Set([10, 11, 12, 13, 20, 21, 22, 29, 30]);

/** Section IDs defined by the standard; 128 and above are manufacturer-specific. */
export const STANDARD_SECTIONS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
