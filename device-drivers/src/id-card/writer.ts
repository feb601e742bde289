import { PHOTO_BYTES, TEXT_BYTES, TEXT_FIELDS } from './consts.ts';

/** A card's text fields as a reader's read reply carries them (what the rig's simulated card holds). */
export interface CardText {
  name: string;
  /** '1' male, '2' female (GB/T 2261.1). */
  sexCode: string;
  ethnicityCode: string;
  /** YYYYMMDD */
  birthDate: string;
  address: string;
  idNumber: string;
  issuingOffice: string;
  validFrom: string;
  validTo: string;
}

/** The read reply's data: lengths, the 256-byte UCS-2LE text block (space-padded), the photo. */
export function encodeCardData(card: CardText, photo: Uint8Array = new Uint8Array(PHOTO_BYTES)): Uint8Array {
  if (photo.length !== PHOTO_BYTES) throw new RangeError(`a card photo has ${PHOTO_BYTES} bytes`);
  const values: Record<string, string> = {
    name: card.name,
    sex: card.sexCode,
    ethnicity: card.ethnicityCode,
    birthDate: card.birthDate,
    address: card.address,
    idNumber: card.idNumber,
    issuingOffice: card.issuingOffice,
    validFrom: card.validFrom,
    validTo: card.validTo,
    reserved: '',
  };
  const out = new Uint8Array(4 + TEXT_BYTES + PHOTO_BYTES);
  out.set([TEXT_BYTES >> 8, TEXT_BYTES & 0xff, PHOTO_BYTES >> 8, PHOTO_BYTES & 0xff], 0);
  let at = 4;
  for (const [field, size] of TEXT_FIELDS) {
    const chars = size / 2;
    const value = values[field] ?? '';
    if (value.length > chars) throw new RangeError(`${field} is longer than ${chars} characters`);
    const padded = value.padEnd(chars, ' ');
    for (let i = 0; i < chars; i++) {
      const code = padded.charCodeAt(i);
      out[at + i * 2] = code & 0xff;
      out[at + i * 2 + 1] = code >> 8;
    }
    at += size;
  }
  out.set(photo, 4 + TEXT_BYTES);
  return out;
}
