import { SUB } from '../ymodem/consts.ts';

/**
 * XMODEM carries no file size, so the last block arrives padded with SUB (0x1A). An SCP-ECG
 * record states its own length in bytes 2–5; when that length ends inside the last block and only
 * SUB follows, the padding is cut. Anything else is left exactly as received.
 */
export function trimXmodemPadding(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 6) return bytes;
  const declared = bytes[2]! + bytes[3]! * 256 + bytes[4]! * 65536 + bytes[5]! * 16777216;
  if (declared > bytes.length || declared <= bytes.length - 1024) return bytes;
  for (let i = declared; i < bytes.length; i++) if (bytes[i] !== SUB) return bytes;
  return bytes.subarray(0, declared);
}
