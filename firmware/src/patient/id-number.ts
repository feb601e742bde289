/**
 * Citizen identification numbers (GB 11643-1999): 6-digit address code, 8-digit birth date,
 * 3-digit sequence (odd for men, even for women), and an ISO 7064 MOD 11-2 check character
 * (0–9 or X). Pure; every problem found is named.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export interface IdNumberFacts {
  /** YYYY-MM-DD from the number itself. */
  birthDate: string;
  /** From the sequence's parity. */
  sex: 'M' | 'F';
}

export type IdNumberCheck = { ok: true; facts: IdNumberFacts } | { ok: false; problems: string[] };

/** The check character the first 17 digits call for. */
export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

function realDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Checks a number as read or typed (a lower-case x is accepted as X). `today` bounds the birth
 * date: nobody is born in the future or more than 150 years ago.
 */
export function checkIdNumber(raw: string, today = new Date()): IdNumberCheck {
  const number = raw.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(number)) {
    return {
      ok: false,
      // The number itself stays out of the message: problems reach logs and the NOC.
      problems: [`the ID number is not 17 digits and a check digit or X (${number.length} characters)`],
    };
  }
  const problems: string[] = [];
  const expected = checkCharacter(number.slice(0, 17));
  if (number[17] !== expected)
    problems.push(`check digit is ${number[17]}, the number calls for ${expected}`);
  const y = Number(number.slice(6, 10));
  const m = Number(number.slice(10, 12));
  const d = Number(number.slice(12, 14));
  const birthDate = number.slice(6, 14).replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3');
  if (!realDate(y, m, d)) problems.push(`birth date ${birthDate} in the number is not a real date`);
  else {
    const born = Date.UTC(y, m - 1, d);
    if (born > today.getTime()) problems.push(`birth date ${birthDate} is in the future`);
    if (today.getUTCFullYear() - y > 150) problems.push(`birth date ${birthDate} is more than 150 years ago`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, facts: { birthDate, sex: Number(number[16]) % 2 === 1 ? 'M' : 'F' } };
}
