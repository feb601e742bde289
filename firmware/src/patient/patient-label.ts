import { checkIdNumber } from './id-number.ts';
import type { IdentityResult, PatientIdentity } from './patient-identity.ts';

/**
 * Patient identities from a scanned code and from the kiosk's manual entry. Pure.
 *
 * A scanned code is one of:
 * - the clinic's patient label, `TMP1|<ID number>|<name>|<M or F>|<YYYY-MM-DD>` (printed as a QR
 *   code at registration; UTF-8, so it needs a scanner in HID POS mode for a Chinese name — in
 *   keyboard mode only ASCII arrives);
 * - a bare 18-character resident ID number (a Code 128 on an old label, or typed): the name is
 *   then unknown until staff add it.
 * The medical-insurance e-voucher QR is a token only the insurance platform can resolve; it is
 * refused with that reason until the province API exists.
 */
export const LABEL_PREFIX = 'TMP1|';

function checked(
  fields: { idNumber: string; name: string; sex: 'M' | 'F' | null; birthDate: string | null },
  source: PatientIdentity['source'],
  now: Date,
): IdentityResult {
  const number = checkIdNumber(fields.idNumber, now);
  if (!number.ok) return { ok: false, problems: number.problems };
  const problems: string[] = [];
  if (fields.birthDate !== null && fields.birthDate !== number.facts.birthDate)
    problems.push('the birth date given does not match the birth date in the ID number');
  if (fields.sex !== null && fields.sex !== number.facts.sex)
    problems.push('the sex given does not match the sex the ID number encodes');
  if (fields.name.length > 64) problems.push('the name is longer than 64 characters');
  if (/[|\\^=\p{Cc}]/u.test(fields.name))
    problems.push('the name holds characters a name cannot (| \\ ^ = or control characters)');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    identity: {
      source,
      idNumber: fields.idNumber.trim().toUpperCase(),
      name: fields.name.trim(),
      sex: number.facts.sex,
      birthDate: number.facts.birthDate,
      verification: 'unverified',
      at: now.toISOString(),
    },
  };
}

export function identityFromScan(text: string, now = new Date()): IdentityResult {
  const code = text.trim();
  if (code.startsWith(LABEL_PREFIX)) {
    const parts = code.slice(LABEL_PREFIX.length).split('|');
    if (parts.length !== 4)
      return {
        ok: false,
        problems: ['the patient label does not have its 4 fields (ID number, name, sex, birth date)'],
      };
    const [idNumber, name, sex, birthDate] = parts as [string, string, string, string];
    const problems: string[] = [];
    if (!name.trim()) problems.push('the patient label carries no name');
    if (sex !== 'M' && sex !== 'F') problems.push('the sex on the patient label is not M or F');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate))
      problems.push('the birth date on the patient label is not YYYY-MM-DD');
    if (problems.length > 0) return { ok: false, problems };
    return checked({ idNumber, name, sex: sex as 'M' | 'F', birthDate }, 'qr', now);
  }
  if (/^\d{17}[\dXx]$/.test(code))
    return checked({ idNumber: code, name: '', sex: null, birthDate: null }, 'qr', now);
  return {
    ok: false,
    problems: [
      'the code is neither a patient label nor a resident ID number (an insurance e-voucher needs the province platform): read the ID card or enter the patient by hand',
    ],
  };
}

export interface ManualEntry {
  idNumber: string;
  name: string;
  sex?: 'M' | 'F';
  birthDate?: string;
}

/** The kiosk's form: ID number and name required; sex and birth date, when given, must agree. */
export function identityFromEntry(entry: unknown, now = new Date()): IdentityResult {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    return { ok: false, problems: ['the entry must be a JSON object'] };
  const e = entry as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof e['idNumber'] !== 'string')
    problems.push('idNumber is required (the 18-character resident ID number)');
  if (typeof e['name'] !== 'string' || !e['name'].trim()) problems.push('name is required');
  if (e['sex'] !== undefined && e['sex'] !== 'M' && e['sex'] !== 'F') problems.push("sex must be 'M' or 'F'");
  if (
    e['birthDate'] !== undefined &&
    (typeof e['birthDate'] !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(e['birthDate']))
  )
    problems.push('birthDate must be YYYY-MM-DD');
  if (problems.length > 0) return { ok: false, problems };
  return checked(
    {
      idNumber: e['idNumber'] as string,
      name: e['name'] as string,
      sex: (e['sex'] as 'M' | 'F' | undefined) ?? null,
      birthDate: (e['birthDate'] as string | undefined) ?? null,
    },
    'manual',
    now,
  );
}
