import { ReadTimeout } from './byte-queue.ts';
import { ACK, BLOCK_LARGE, BLOCK_SMALL, CAN, CRC_REQUEST, EOT, NAK, TIMING } from './consts.ts';
import { encodeBlock, encodeHeaderBlock } from './frame.ts';
import type { LinkIo } from './types.ts';

export type SendMode = 'ymodem' | 'xmodem-1k' | 'xmodem-crc';

export class TransferFailed extends Error {
  readonly code = 'TRANSFER_FAILED';
  constructor(
    message: string,
    readonly cancelledByReceiver: boolean,
  ) {
    super(message);
  }
}

export interface SendOptions {
  mode: SendMode;
  /** How long to wait for the receiver's first 'C'. */
  startTimeoutMs?: number;
  /** How long the final ACK may take: the receiver makes the file durable before it. */
  finalAckTimeoutMs?: number;
  /** Called after each block, for progress and for tests that cut the line mid-file. */
  onBlock?(sent: number, total: number): void;
  /** Called when the receiver acknowledged the end of file `index` (it has made the file durable). */
  onFileAcknowledged?(index: number): void;
  timing?: typeof TIMING;
}

/**
 * The sending side of XMODEM-CRC/1K and YMODEM batch, as an ECG cart runs it. Resolves when the
 * receiver acknowledged the end of every file; rejects with TransferFailed otherwise.
 */
export async function sendFiles(
  io: LinkIo,
  files: Array<{ name: string; bytes: Uint8Array }>,
  options: SendOptions,
): Promise<void> {
  const timing = options.timing ?? TIMING;
  if (options.mode !== 'ymodem' && files.length !== 1) throw new RangeError('XMODEM sends exactly one file');

  // One deadline for the answer, however many unwanted bytes (a receiver's repeated 'C', noise)
  // arrive before it: otherwise a receiver prompting every 3 s keeps a 10 s wait from ever ending.
  const awaitByte = async (wanted: number[], timeoutMs: number): Promise<number> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) throw new ReadTimeout(timeoutMs);
      const byte = await io.queue.readByte(left);
      if (byte === CAN) {
        const next = await io.queue.readByte(timing.byteTimeoutMs).catch(() => -1);
        if (next === CAN) throw new TransferFailed('the receiver cancelled the transfer', true);
      }
      if (wanted.includes(byte)) return byte;
    }
  };
  const exchange = async (wire: Uint8Array, what: string, ackTimeoutMs = timing.blockTimeoutMs) => {
    for (let attempt = 0; attempt <= timing.maxRetries; attempt++) {
      await io.write(wire);
      try {
        if ((await awaitByte([ACK, NAK], ackTimeoutMs)) === ACK) return;
      } catch (error) {
        if (!(error instanceof ReadTimeout)) throw error;
      }
    }
    throw new TransferFailed(`${what} was not acknowledged after ${timing.maxRetries + 1} tries`, false);
  };
  const awaitCrcRequest = async (timeoutMs: number) => {
    try {
      await awaitByte([CRC_REQUEST], timeoutMs);
    } catch (error) {
      if (error instanceof ReadTimeout) throw new TransferFailed('the receiver never asked for data', false);
      throw error;
    }
  };

  const startTimeout = options.startTimeoutMs ?? 60_000;
  for (const file of files) {
    await awaitCrcRequest(startTimeout);
    if (options.mode === 'ymodem') {
      await exchange(encodeHeaderBlock({ name: file.name, size: file.bytes.length }), 'the file header');
      await awaitCrcRequest(timing.blockTimeoutMs);
    }
    let seq = 1;
    for (let at = 0; at < file.bytes.length; seq++) {
      const remaining = file.bytes.length - at;
      const size = options.mode === 'xmodem-crc' || remaining <= BLOCK_SMALL ? BLOCK_SMALL : BLOCK_LARGE;
      const chunk = file.bytes.subarray(at, at + size);
      await exchange(encodeBlock(seq, chunk, size), `block ${seq}`);
      at += chunk.length;
      options.onBlock?.(at, file.bytes.length);
    }
    // The receiver NAKs the first EOT and ACKs the repeat once the file is safe.
    await exchange(Uint8Array.of(EOT), 'the end of the file', options.finalAckTimeoutMs ?? 30_000);
    options.onFileAcknowledged?.(files.indexOf(file));
  }
  if (options.mode === 'ymodem') {
    await awaitCrcRequest(timing.blockTimeoutMs);
    await exchange(encodeHeaderBlock(null), 'the end of the batch');
  }
}
