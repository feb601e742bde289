import { createCipheriv, createDecipheriv, randomBytes, webcrypto } from 'node:crypto';
import { StoreError } from './types.ts';

/**
 * Patient data at rest (issue 5 §5): every file holding patient data (SCP originals, JPEGs, PDFs,
 * video segments, DICOM files, scanned pages) and the patient fields of the database are sealed
 * with AES-256-GCM under the device's data key (data-key.ts).
 *
 * File format, version 1:
 *   magic "TTAR" (4) | version 0x01 (1) | nonce (12) | ciphertext | GCM tag (16)
 * The header (magic, version, nonce) is the additional authenticated data. A fresh random 96-bit
 * nonce per file: a key seals far fewer than 2^32 files in a terminal's life, the bound NIST SP
 * 800-38D §8.3 sets for random nonces.
 *
 * Fields: "enc1:" + base64(nonce | ciphertext | tag), with the column's name as additional data,
 * so that a sealed name cannot be moved into the ID column unnoticed.
 *
 * Files and fields written before encryption was turned on are plaintext (no magic, no prefix) and
 * are read as they are: every file's content hash is checked where it matters, so a plaintext file
 * swapped in for a sealed one is still caught.
 */
export interface AtRest {
  /** 'aes-256-gcm', or 'off' when the config turned encryption off (benchmarks, old terminals). */
  readonly mode: 'aes-256-gcm' | 'off';
  /**
   * The file to write for `plain`, as the parts to write in order (header, then ciphertext and
   * tag), so that megabytes are not copied only to join them. WebCrypto's AES-GCM runs on
   * libuv's thread pool: sealing a video segment of several MB does not hold up the carts' YMODEM
   * or the kiosk.
   */
  sealFile(plain: Uint8Array): Promise<Uint8Array[]>;
  /**
   * The plaintext of a file written by sealFile (or of a plaintext one), checked by its GCM tag;
   * `what` names it in errors. Off the event loop, as sealing is.
   */
  openFile(stored: Uint8Array, what: string): Promise<Uint8Array>;
  sealField(column: string, value: string | null): string | null;
  openField(column: string, stored: string | null): string | null;
}

const MAGIC = Buffer.from('TTAR', 'latin1');
const VERSION = 1;
const HEADER_BYTES = MAGIC.length + 1 + 12;
const TAG_BYTES = 16;
const FIELD_PREFIX = 'enc1:';

export const DATA_KEY_BYTES = 32;

/** True when the bytes start like a file sealed by {@link AesGcmAtRest}. */
export function isSealedFile(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, 4).equals(MAGIC);
}

const corrupted = (what: string, why: string) =>
  new StoreError('CORRUPTED', `${what} cannot be decrypted: ${why}`, false);

/**
 * The header of a sealed file (magic, version, nonce), or null for a plaintext one; a sealed file
 * too short or of an unknown version is CORRUPTED.
 */
function sealedHeader(bytes: Buffer, what: string): Buffer | null {
  if (!isSealedFile(bytes)) return null;
  if (bytes.length < HEADER_BYTES + TAG_BYTES)
    throw corrupted(what, `${bytes.length} bytes is shorter than an empty sealed file`);
  if (bytes[MAGIC.length] !== VERSION)
    throw corrupted(what, `format version ${bytes[MAGIC.length]} is not known to this firmware`);
  return bytes.subarray(0, HEADER_BYTES);
}

export class AesGcmAtRest implements AtRest {
  readonly mode = 'aes-256-gcm' as const;
  private readonly key: Buffer;
  private webKey: Promise<webcrypto.CryptoKey> | null = null;

  constructor(key: Uint8Array) {
    if (key.length !== DATA_KEY_BYTES)
      throw new Error(`the data key must be ${DATA_KEY_BYTES} bytes (AES-256), got ${key.length}`);
    this.key = Buffer.from(key);
  }

  async sealFile(plain: Uint8Array): Promise<Uint8Array[]> {
    const header = Buffer.concat([MAGIC, Buffer.of(VERSION), randomBytes(12)]);
    // WebCrypto appends the tag to the ciphertext, which is where the format has it.
    const body = await webcrypto.subtle.encrypt(
      { name: 'AES-GCM', iv: header.subarray(MAGIC.length + 1), additionalData: header, tagLength: 128 },
      await this.cryptoKey(),
      plain,
    );
    return [header, new Uint8Array(body)];
  }

  async openFile(stored: Uint8Array, what: string): Promise<Uint8Array> {
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    const header = sealedHeader(bytes, what);
    if (!header) return bytes;
    try {
      const plain = await webcrypto.subtle.decrypt(
        { name: 'AES-GCM', iv: header.subarray(MAGIC.length + 1), additionalData: header, tagLength: 128 },
        await this.cryptoKey(),
        bytes.subarray(HEADER_BYTES),
      );
      return new Uint8Array(plain);
    } catch {
      throw corrupted(
        what,
        'its authentication tag does not match (changed on disk, or sealed under another key)',
      );
    }
  }

  private cryptoKey(): Promise<webcrypto.CryptoKey> {
    this.webKey ??= webcrypto.subtle.importKey('raw', this.key, 'AES-GCM', false, ['encrypt', 'decrypt']);
    return this.webKey;
  }

  sealField(column: string, value: string | null): string | null {
    if (value === null) return null;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(column, 'utf8'));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return FIELD_PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
  }

  openField(column: string, stored: string | null): string | null {
    if (stored === null || !stored.startsWith(FIELD_PREFIX)) return stored;
    const bytes = Buffer.from(stored.slice(FIELD_PREFIX.length), 'base64');
    if (bytes.length < 12 + TAG_BYTES) throw corrupted(`the ${column} field`, 'too short');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(column, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(12, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw corrupted(`the ${column} field`, 'its authentication tag does not match');
    }
  }
}

/** Encryption turned off in the config: files and fields are stored as they are. */
export const NO_ENCRYPTION: AtRest = {
  mode: 'off',
  sealFile: async (plain) => [plain],
  openFile: async (stored) => stored,
  sealField: (_column, value) => value,
  openField: (_column, stored) => stored,
};
