import { SerialDevice, type SerialDeviceState } from '../serial/serial-device.ts';
import type { PortIdentity, SerialLink, SerialOpener } from '../serial/serial-link.ts';
import { Backoff } from '../util/backoff.ts';
import { ByteQueue } from '../ymodem/byte-queue.ts';
import { TIMING } from '../ymodem/consts.ts';
import { YmodemReceiver } from '../ymodem/receiver.ts';
import type { FileLinkProtocol, LinkCounters, ReceivedFile } from '../ymodem/types.ts';
import { trimXmodemPadding } from './record-bytes.ts';

/** One field for the link's state (style habit 4); `switch`es over it are exhaustive. */
export type CartLinkState = SerialDeviceState<'receiving'>;

export interface CartRecord {
  cartId: string;
  fileName: string | null;
  protocol: ReceivedFile['protocol'];
  bytes: Uint8Array;
  /** Why the transfer did not complete; such bytes are kept but the cart was never told "done". */
  incomplete: string | null;
}

export interface CartCounters extends LinkCounters {
  connects: number;
  disconnects: number;
  openFailures: number;
}

export type CartLinkProtocolName = 'ymodem';

export interface EcgCartOptions {
  id: string;
  identity: PortIdentity;
  baudRate: number;
  protocol: CartLinkProtocolName;
  opener: SerialOpener;
  /** Makes the record durable; the cart's transfer is acknowledged only after this resolves. */
  deliver(record: CartRecord): Promise<void>;
  onState?(state: CartLinkState, detail: string | null): void;
  onProblem?(message: string): void;
  timing?: typeof TIMING;
  backoff?: Backoff;
}

/**
 * Drives one ECG cart on a serial line: finds its port by identity, opens it with an exclusive
 * lock, runs the link protocol, and after an unplug keeps looking until the cart returns.
 */
export class EcgCart extends SerialDevice<'receiving'> {
  private readonly protocol: FileLinkProtocol;
  private readonly extra: { connects: number; disconnects: number; openFailures: number };

  constructor(private readonly options: EcgCartOptions) {
    const extra = { connects: 0, disconnects: 0, openFailures: 0 };
    super(
      {
        opener: options.opener,
        identity: options.identity,
        baudRate: options.baudRate,
        backoff: options.backoff ?? new Backoff({ initialMs: 500, maxMs: 10_000 }),
        counters: extra,
        name: 'cart link',
        ...(options.onProblem ? { onProblem: options.onProblem } : {}),
      },
      options.onState,
    );
    this.extra = extra;
    this.protocol = this.createProtocol(options.protocol);
  }

  private createProtocol(name: CartLinkProtocolName): FileLinkProtocol {
    switch (name) {
      case 'ymodem':
        return new YmodemReceiver(this.options.timing ?? TIMING, {
          onProblem: (message) => this.options.onProblem?.(message),
          onTransferStart: () => this.setState('receiving', null),
        });
    }
  }

  get counters(): CartCounters {
    return { ...this.protocol.counters, ...this.extra };
  }

  /** Runs the protocol on one open link until it closes; returns why, or null when stopped. */
  protected async serve(link: SerialLink, signal: AbortSignal): Promise<string | null> {
    const connection = new AbortController();
    const onStop = () => connection.abort(signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    const queue = new ByteQueue(connection.signal);
    const unsubscribe = link.onData((chunk) => queue.push(chunk));
    const io = { queue, write: (bytes: Uint8Array) => link.write(bytes) };
    const deliver = async (file: ReceivedFile) => {
      await this.options.deliver({
        cartId: this.options.id,
        fileName: file.name,
        protocol: file.protocol,
        bytes: file.protocol === 'xmodem' ? trimXmodemPadding(file.bytes) : file.bytes,
        incomplete: file.incomplete,
      });
      this.setState('connected', null);
    };
    const running = this.protocol.run(io, deliver, connection.signal).then(
      () => null,
      (error: unknown) =>
        connection.signal.aborted && signal.aborted ? null : String((error as Error).message ?? error),
    );
    const outcome = await Promise.race([running, link.closed.then((e) => (e ? e.message : null))]);
    connection.abort(new Error('link closed'));
    await running;
    unsubscribe();
    signal.removeEventListener('abort', onStop);
    await link.close();
    return signal.aborted ? null : (outcome ?? 'port closed');
  }
}
