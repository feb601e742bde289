/**
 * Resident ID card readers (SAM module, GA 467 serial protocol) as pure data: the frame preamble,
 * the commands the terminal uses, the status codes (SW3) and the GA/T 490 layout of the card's
 * text block. Everything here is bytes from the standard; the codec and the driver use it.
 */

/** Every frame, both ways, starts with these five bytes. */
export const PREAMBLE = Uint8Array.of(0xaa, 0xaa, 0xaa, 0x96, 0x69);

/** Commands: CMD and PARA bytes. */
export const COMMAND = {
  /** Find a card in the field (anti-collision start). */
  findCard: [0x20, 0x01],
  /** Select the card found. */
  selectCard: [0x20, 0x02],
  /** Read the text block and the photo. */
  readCard: [0x30, 0x01],
  /** Reset the SAM (after a fault). */
  resetSam: [0x10, 0xff],
  /** SAM status (is the module alive). */
  samStatus: [0x11, 0xff],
} as const;

export type CommandName = keyof typeof COMMAND;

/** SW3 of a reply. */
export const STATUS = {
  success: 0x90,
  /** Find card: a card is in the field. */
  cardFound: 0x9f,
  /** Find card: no card. */
  noCard: 0x80,
  selectFailed: 0x81,
  readFailed: 0x41,
  checksumError: 0x10,
  lengthError: 0x11,
  unknownCommand: 0x21,
} as const;

/** GA/T 490 text block: 256 bytes of UCS-2 (little endian), fields in this order, space-padded. */
export const TEXT_FIELDS = [
  ['name', 30],
  ['sex', 2],
  ['ethnicity', 4],
  ['birthDate', 16],
  ['address', 70],
  ['idNumber', 36],
  ['issuingOffice', 30],
  ['validFrom', 16],
  ['validTo', 16],
  ['reserved', 36],
] as const;

export const TEXT_BYTES = 256;
export const PHOTO_BYTES = 1024;
/** Largest frame length field a reader sends (read reply: SW 3 + lengths 4 + 256 + 1024 + CHK 1). */
export const MAX_LENGTH = 3 + 4 + TEXT_BYTES + PHOTO_BYTES + 1;
