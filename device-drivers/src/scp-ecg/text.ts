/**
 * Text in Section 1 is in the character set named by the language support code (Section 1
 * tag 14, byte 16; EN 1064 §5.4.3.1 table 'language support code').
 */
const CHARSETS: Record<number, string> = {
  0: 'ascii',
  1: 'iso-8859-1',
  3: 'iso-8859-2',
  11: 'iso-8859-4',
  19: 'iso-8859-5',
  27: 'iso-8859-6',
  35: 'iso-8859-7',
  43: 'iso-8859-8',
  51: 'iso-8859-11',
  59: 'iso-8859-15',
  7: 'utf-16le',
  15: 'shift_jis',
  23: 'euc-jp',
  31: 'euc-jp',
  // GB 2312: decoded as GB 18030, its superset, because Chinese carts write GBK/GB 18030
  // characters (rare surnames) into fields labelled GB 2312.
  39: 'gb18030',
  47: 'euc-kr',
  55: 'utf-8',
};

export function charsetFor(languageCode: number): string | undefined {
  return CHARSETS[languageCode];
}

export interface DecodedText {
  text: string;
  terminated: boolean;
  /** Set when the bytes were not what the language code promised and another charset was used. */
  fallbackCharset?: string;
}

function isAscii(bytes: Uint8Array): boolean {
  return bytes.every((b) => b < 0x80);
}

/**
 * Decodes one NUL-terminated string field. A missing terminator is reported (real carts omit
 * it), not fatal: the field's length bounds the text anyway.
 */
export function decodeText(bytes: Uint8Array, languageCode: number): DecodedText {
  const wide = languageCode === 0x07;
  let end = bytes.length;
  let terminated = false;
  for (let i = 0; i + (wide ? 1 : 0) < bytes.length; i += wide ? 2 : 1) {
    if (bytes[i] === 0 && (!wide || bytes[i + 1] === 0)) {
      end = i;
      terminated = true;
      break;
    }
  }
  const raw = bytes.subarray(0, end);
  const charset = charsetFor(languageCode) ?? 'ascii';
  if ((charset === 'ascii' || charset === 'iso-8859-1') && !isAscii(raw)) {
    // Chinese carts commonly leave the language code at 0 (ASCII) and write GB 18030.
    const gb = new TextDecoder('gb18030', { fatal: false }).decode(raw);
    if (!gb.includes('\uFFFD')) return { text: gb.trim(), terminated, fallbackCharset: 'gb18030' };
  }
  const label = charset === 'ascii' ? 'windows-1252' : charset;
  return { text: new TextDecoder(label, { fatal: false }).decode(raw).trim(), terminated };
}
