export { leadCode, leadName, STANDARD_12_LEADS } from './consts.ts';
export { crc16Xmodem, crcCcitt } from './crc.ts';
export { type DecodeOptions, decodeScp, type VendorProfile } from './decode.ts';
export { type EncodeInput, encodeScp } from './encode.ts';
export { isScpDecodeError, ScpDecodeError } from './errors.ts';
export { HEALFORCE_PROFILE } from './healforce.ts';
export type * from './types.ts';
