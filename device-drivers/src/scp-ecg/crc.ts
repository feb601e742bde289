/**
 * CRC-CCITT as SCP-ECG uses it (EN 1064 §5.3.1): polynomial 0x1021, initial value 0xFFFF,
 * not reflected, no final XOR. Not XMODEM's CRC, which starts at 0 (see crc16Xmodem).
 */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number, initial: number): number {
  let crc = initial;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** SCP-ECG record and section CRC over bytes [start, end). */
export function crcCcitt(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc16(bytes, start, end, 0xffff);
}

/** XMODEM/YMODEM block CRC-16 (same polynomial, initial value 0). */
export function crc16Xmodem(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc16(bytes, start, end, 0);
}
