import {
  isSerialError,
  type PortIdentity,
  type SerialLink,
  type SerialOpener,
  selectPort,
} from '../serial/serial-link.ts';
import { Backoff, sleep } from '../util/backoff.ts';
import { ByteQueue } from '../ymodem/byte-queue.ts';
import { TIMING } from '../ymodem/consts.ts';
import { YmodemReceiver } from '../ymodem/receiver.ts';
import type { FileLinkProtocol, LinkCounters, ReceivedFile } from '../ymodem/types.ts';
import { trimXmodemPadding } from './record-bytes.ts';

/** One field for the link's state (style habit 4); `switch`es over it are exhaustive. */
export type CartLinkState = 'searching' | 'opening' | 'connected' | 'receiving' | 'stopped';

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
export class EcgCart {
  private current: CartLinkState = 'stopped';
  private detail: string | null = null;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly protocol: FileLinkProtocol;
  private readonly backoff: Backoff;
  private link: SerialLink | null = null;
  private readonly extra = { connects: 0, disconnects: 0, openFailures: 0 };

  constructor(private readonly options: EcgCartOptions) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 10_000 });
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

  get state(): CartLinkState {
    return this.current;
  }

  get lastProblem(): string | null {
    return this.detail;
  }

  get port(): string | null {
    return this.link?.path ?? null;
  }

  get counters(): CartCounters {
    return { ...this.protocol.counters, ...this.extra };
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().catch((error: unknown) => {
      if (!this.stopper.signal.aborted) this.options.onProblem?.(`cart driver stopped: ${String(error)}`);
    });
  }

  async stop(): Promise<void> {
    this.stopper.abort(new Error('cart driver stopped'));
    await this.link?.close();
    await this.loop;
    this.setState('stopped', null);
  }

  private setState(state: CartLinkState, detail: string | null): void {
    if (state === this.current && detail === this.detail) return;
    this.current = state;
    this.detail = detail;
    this.options.onState?.(state, detail);
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      this.setState('searching', this.detail);
      const found = selectPort(await this.options.opener.list(), this.options.identity);
      if (isSerialError(found)) {
        this.setState('searching', found.message);
        await sleep(this.backoff.next(), signal).catch(() => undefined);
        continue;
      }
      this.setState('opening', null);
      try {
        this.link = await this.options.opener.open(found.path, { baudRate: this.options.baudRate });
      } catch (error) {
        this.extra.openFailures++;
        this.setState('searching', isSerialError(error) ? error.message : String(error));
        await sleep(this.backoff.next(), signal).catch(() => undefined);
        continue;
      }
      this.backoff.reset();
      this.extra.connects++;
      this.setState('connected', null);
      const reason = await this.serve(this.link, signal);
      this.link = null;
      if (reason) {
        this.extra.disconnects++;
        this.options.onProblem?.(`cart link lost: ${reason}`);
        this.setState('searching', reason);
      }
    }
  }

  /** Runs the protocol on one open link until it closes; returns why, or null when stopped. */
  private async serve(link: SerialLink, signal: AbortSignal): Promise<string | null> {
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
