import { ByteQueue, NodeSerialOpener, type SendMode, sendFiles } from '#device-drivers';

export interface SendFaults {
  /** Line noise before the transfer starts (a cart powering up, a loose connector). */
  garbageBefore?: Uint8Array;
  /** Pull the cable (close the cart's end) after this many bytes of the file were acknowledged. */
  cutAfterBytes?: number;
  /** Flip a bit in this fraction of the bytes the cart sends. */
  bitErrorRate?: number;
}

/**
 * An ECG cart on the far end of the serial cable: it sends SCP-ECG files with YMODEM (or plain
 * XMODEM-1K/CRC) through the real `serialport` and the real protocol code, as a cart would.
 */
export class CartSimulator {
  constructor(
    private readonly cartEnd: string,
    private readonly baudRate = 115200,
  ) {}

  async send(
    files: Array<{ name: string; bytes: Uint8Array }>,
    mode: SendMode = 'ymodem',
    faults: SendFaults = {},
    options: {
      /** Give up at once (the terminal at the far end was killed). */
      signal?: AbortSignal;
      /** The terminal acknowledged file `index` as saved (before the batch ends). */
      onFileAcknowledged?(index: number): void;
    } = {},
  ): Promise<void> {
    const link = await new NodeSerialOpener().open(this.cartEnd, { baudRate: this.baudRate });
    const controller = new AbortController();
    const giveUp = () => {
      controller.abort(options.signal?.reason ?? new Error('aborted'));
      void link.close();
    };
    if (options.signal?.aborted) giveUp();
    options.signal?.addEventListener('abort', giveUp, { once: true });
    const queue = new ByteQueue(controller.signal);
    link.onData((chunk) => queue.push(chunk));
    let seed = 12345;
    const flip = (bytes: Uint8Array): Uint8Array => {
      const rate = faults.bitErrorRate ?? 0;
      if (rate <= 0) return bytes;
      return bytes.map((b) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff < rate ? b ^ (1 << (seed & 7)) : b;
      });
    };
    try {
      if (faults.garbageBefore) await link.write(faults.garbageBefore);
      await sendFiles({ queue, write: (bytes) => link.write(flip(bytes)) }, files, {
        mode,
        startTimeoutMs: 30_000,
        ...(options.onFileAcknowledged ? { onFileAcknowledged: options.onFileAcknowledged } : {}),
        onBlock: (sent) => {
          if (faults.cutAfterBytes !== undefined && sent >= faults.cutAfterBytes) {
            controller.abort(new Error('cable cut by the rig'));
            void link.close();
          }
        },
      });
    } finally {
      options.signal?.removeEventListener('abort', giveUp);
      controller.abort(new Error('transfer over'));
      await link.close();
    }
  }
}
