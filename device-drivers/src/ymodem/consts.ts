/** XMODEM/YMODEM control bytes (Chuck Forsberg, "XMODEM/YMODEM Protocol Reference", 1988). */
export const SOH = 0x01; // 128-byte block
export const STX = 0x02; // 1024-byte block
export const EOT = 0x04;
export const ACK = 0x06;
export const NAK = 0x15;
export const CAN = 0x18;
export const CRC_REQUEST = 0x43; // 'C': receiver asks for CRC-16 blocks
export const SUB = 0x1a; // padding of the last block

export const BLOCK_SMALL = 128;
export const BLOCK_LARGE = 1024;

/** Reference timeouts: 10 s for a block, 'C' repeated every 3 s, 10 retries per block. */
export const TIMING = {
  blockTimeoutMs: 10_000,
  byteTimeoutMs: 1_000,
  crcRequestIntervalMs: 3_000,
  maxRetries: 10,
  /**
   * After a damaged block the line is drained until it has been silent this long before the NAK
   * (lrzsz's purgeline does the same): the rest of the damaged block, still arriving, must not be
   * read as a new block and answered a second time, which would leave the cart one reply ahead.
   */
  quietMs: 100,
};
