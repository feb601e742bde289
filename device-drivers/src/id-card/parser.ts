import { PHOTO_BYTES, TEXT_BYTES, TEXT_FIELDS } from './consts.ts';
import { IdCardFrameError } from './frame.ts';

/** What a resident ID card holds, as read (GA/T 490 text fields; the photo kept opaque). */
export interface IdCardRead {
  name: string;
  /** GB/T 2261.1 code on the card: 1 male, 2 female; others kept as 'unknown'. */
  sex: 'M' | 'F' | 'unknown';
  /** GB 3304 ethnicity code ("01" Han, …). */
  ethnicityCode: string;
  /** YYYY-MM-DD, or null when the field is not a date. */
  birthDate: string | null;
  address: string;
  idNumber: string;
  issuingOffice: string;
  validFrom: string | null;
  /** YYYY-MM-DD, or '长期' (no expiry). */
  validTo: string | null;
  /** The WLT-compressed photo, 1024 bytes, never decoded here. */
  photo: Uint8Array;
}

/** Fatal: a field with an unpaired surrogate is a misread card, not a name with a '�' in it. */
const ucs2 = new TextDecoder('utf-16le', { fatal: true });

function isoDate(text: string): string | null {
  if (!/^\d{8}$/.test(text)) return null;
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/**
 * The data of a read reply: text length and photo length (2 bytes each, big endian), the text
 * block, the photo. Lengths other than the standard's are refused, naming what came.
 */
export function parseCardData(data: Uint8Array): IdCardRead {
  if (data.length < 4) throw new IdCardFrameError(`read reply of ${data.length} bytes has no length fields`);
  const textLength = (data[0]! << 8) | data[1]!;
  const photoLength = (data[2]! << 8) | data[3]!;
  if (textLength !== TEXT_BYTES)
    throw new IdCardFrameError(`text block of ${textLength} bytes (GA/T 490 has ${TEXT_BYTES})`);
  if (photoLength !== PHOTO_BYTES)
    throw new IdCardFrameError(`photo of ${photoLength} bytes (a card's WLT photo has ${PHOTO_BYTES})`);
  if (data.length !== 4 + textLength + photoLength)
    throw new IdCardFrameError(
      `read reply of ${data.length} bytes where ${4 + textLength + photoLength} were due`,
    );
  const text = data.subarray(4, 4 + textLength);
  const fields: Record<string, string> = {};
  let at = 0;
  for (const [name, size] of TEXT_FIELDS) {
    try {
      fields[name] = ucs2.decode(text.subarray(at, at + size)).replace(/[\s\u0000]+$/u, '');
    } catch {
      throw new IdCardFrameError(`the card's ${name} field is not valid UCS-2 text: read the card again`);
    }
    at += size;
  }
  const sexCode = fields['sex'];
  return {
    name: fields['name']!,
    sex: sexCode === '1' ? 'M' : sexCode === '2' ? 'F' : 'unknown',
    ethnicityCode: fields['ethnicity']!,
    birthDate: isoDate(fields['birthDate']!),
    address: fields['address']!,
    idNumber: fields['idNumber']!,
    issuingOffice: fields['issuingOffice']!,
    validFrom: isoDate(fields['validFrom']!),
    validTo: fields['validTo'] === '长期' ? '长期' : isoDate(fields['validTo']!),
    photo: data.slice(4 + textLength),
  };
}
