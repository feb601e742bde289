import type { IdCardRead } from '#device-drivers';
import { checkIdNumber } from './id-number.ts';

/**
 * Who the patient is, from whichever source identified them (an ID card now; a QR code or the
 * kiosk's manual entry later). Only what a study needs is kept — ID number, name, sex, birth
 * date; never the card's address or photo. Until the province confirms it (its API comes later)
 * an identity is 'unverified'.
 */
export interface PatientIdentity {
  source: 'id-card' | 'qr' | 'manual';
  idNumber: string;
  name: string;
  sex: 'M' | 'F' | 'unknown';
  /** YYYY-MM-DD */
  birthDate: string;
  verification: 'unverified' | 'verified';
  /** When it was read (ISO time). */
  at: string;
}

export type IdentityResult = { ok: true; identity: PatientIdentity } | { ok: false; problems: string[] };

/**
 * An ID card read → the patient's identity, or why not: the number must pass GB 11643 and its
 * birth date must agree with the card's own field (a mismatch means a forged or misread card).
 */
export function identityFromCard(card: IdCardRead, now: Date = new Date()): IdentityResult {
  const checked = checkIdNumber(card.idNumber, now);
  if (!checked.ok) return { ok: false, problems: checked.problems };
  const problems: string[] = [];
  if (card.birthDate !== checked.facts.birthDate)
    problems.push("the birth date in the ID number does not match the card's birth date field");
  if (card.sex !== 'unknown' && card.sex !== checked.facts.sex)
    problems.push("the sex the ID number encodes does not match the card's sex field");
  if (!card.name.trim()) problems.push('the card carries no name');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    identity: {
      source: 'id-card',
      idNumber: card.idNumber.toUpperCase(),
      name: card.name.trim(),
      sex: card.sex,
      birthDate: checked.facts.birthDate,
      verification: 'unverified',
      at: now.toISOString(),
    },
  };
}

/** For screens: the first 4 and last 4 characters, the rest masked (the number is personal data). */
export function maskIdNumber(idNumber: string): string {
  return idNumber.length <= 8
    ? '*'.repeat(idNumber.length)
    : `${idNumber.slice(0, 4)}${'*'.repeat(idNumber.length - 8)}${idNumber.slice(-4)}`;
}
