import { SerialDevice, type SerialDeviceState } from '../serial/serial-device.ts';
import type { PortIdentity, SerialLink, SerialOpener } from '../serial/serial-link.ts';
import { Backoff, sleep } from '../util/backoff.ts';
import { COMMAND, type CommandName, STATUS } from './consts.ts';
import { encodeCommand, IdCardFrameError, type Reply, scanReply } from './frame.ts';
import { type IdCardRead, parseCardData } from './parser.ts';

/** One field for the reader's state (style habit 4). */
export type IdReaderState = SerialDeviceState<'reading'>;

export interface IdReaderCounters {
  connects: number;
  disconnects: number;
  openFailures: number;
  cardsRead: number;
  badFrames: number;
  timeouts: number;
  readFailures: number;
}

export interface IdCardReaderOptions {
  identity: PortIdentity;
  /** SAM modules talk 115200 8N1. */
  baudRate?: number;
  opener: SerialOpener;
  /** A card was read (once per time it is laid on the reader). */
  onCard(card: IdCardRead): void;
  onState?(state: IdReaderState, detail: string | null): void;
  onProblem?(message: string): void;
  /** How often the field is asked for a card (default 500 ms). */
  pollMs?: number;
  /** How long a reply may take (a read moves 1.3 kB at 115200 baud: ~115 ms; default 2 s). */
  replyTimeoutMs?: number;
  backoff?: Backoff;
}

class ReplyTimeout extends Error {}

/**
 * Drives a resident ID card reader (SAM module) on a serial line: finds its port by identity,
 * opens it, and polls for a card — find (20 01), select (20 02), read (30 01) — handing each card
 * read to `onCard` once per time it is laid on the reader. A damaged reply is counted and the
 * exchange retried on the next poll; an unplugged reader is looked for again with back-off.
 *
 * INVARIANTS: one exchange at a time on the line (request → one reply or a timeout); bytes that
 * arrive are appended to one buffer that only `exchange` consumes; a card is reported again only
 * after the reader has said "no card" in between.
 */
export class IdCardReader extends SerialDevice<'reading'> {
  private pending = new Uint8Array(0);
  private arrived: (() => void) | null = null;
  readonly counters: IdReaderCounters;

  constructor(private readonly options: IdCardReaderOptions) {
    const counters: IdReaderCounters = {
      connects: 0,
      disconnects: 0,
      openFailures: 0,
      cardsRead: 0,
      badFrames: 0,
      timeouts: 0,
      readFailures: 0,
    };
    super(
      {
        opener: options.opener,
        identity: options.identity,
        baudRate: options.baudRate ?? 115200,
        backoff: options.backoff ?? new Backoff({ initialMs: 500, maxMs: 10_000 }),
        counters,
        name: 'ID card reader',
        ...(options.onProblem ? { onProblem: options.onProblem } : {}),
      },
      options.onState,
    );
    this.counters = counters;
  }

  protected override stopping(): void {
    this.arrived?.();
  }

  /** Polls the reader until its link closes; returns why (null when stopped). */
  protected async serve(link: SerialLink, signal: AbortSignal): Promise<string | null> {
    this.pending = new Uint8Array(0);
    const unsubscribe = link.onData((chunk) => {
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending, 0);
      joined.set(chunk, this.pending.length);
      this.pending = joined;
      this.arrived?.();
    });
    let closedReason: string | null = null;
    let closed = false;
    void link.closed.then((error) => {
      closed = true;
      closedReason = error ? error.message : 'port closed';
      this.arrived?.();
    });
    let cardPresent = false;
    try {
      while (!signal.aborted && !closed) {
        try {
          const find = await this.exchange(link, 'findCard', () => closed);
          if (find.sw3 === STATUS.cardFound) {
            if (!cardPresent) {
              this.setState('reading', null);
              const card = await this.readCard(link, () => closed);
              cardPresent = card !== null;
              this.setState('connected', null);
            }
          } else {
            cardPresent = false;
          }
        } catch (error) {
          if (closed || signal.aborted) break;
          this.noteFailure(error);
          this.setState('connected', null);
        }
        await sleep(this.options.pollMs ?? 500, signal).catch(() => undefined);
      }
    } finally {
      unsubscribe();
      await link.close();
    }
    return signal.aborted ? null : (closedReason ?? 'port closed');
  }

  /** Select and read; a refused step is a failed read (the card was lifted too soon). */
  private async readCard(link: SerialLink, closed: () => boolean): Promise<IdCardRead | null> {
    const refused = (reply: Reply, step: string) => {
      if (reply.sw3 === STATUS.success) return false;
      this.counters.readFailures++;
      this.options.onProblem?.(
        `the card could not be ${step} (status ${reply.sw3.toString(16)}): lay it flat and still`,
      );
      return true;
    };
    if (refused(await this.exchange(link, 'selectCard', closed), 'selected')) return null;
    const read = await this.exchange(link, 'readCard', closed);
    if (refused(read, 'read')) return null;
    let card: IdCardRead;
    try {
      card = parseCardData(read.data);
    } catch (error) {
      this.counters.readFailures++;
      throw error;
    }
    this.counters.cardsRead++;
    this.options.onCard(card);
    return card;
  }

  private noteFailure(error: unknown): void {
    if (error instanceof ReplyTimeout) {
      this.counters.timeouts++;
      this.options.onProblem?.(error.message);
    } else if (error instanceof IdCardFrameError) {
      this.counters.badFrames++;
      this.options.onProblem?.(`a damaged reply from the ID card reader: ${error.message}`);
    } else {
      this.options.onProblem?.(`ID card reader: ${(error as Error).message ?? String(error)}`);
    }
  }

  /** One request and its reply. Bytes left from an earlier exchange are dropped first. */
  private async exchange(link: SerialLink, command: CommandName, closed: () => boolean): Promise<Reply> {
    this.pending = new Uint8Array(0);
    await link.write(encodeCommand(COMMAND[command]));
    const deadline = Date.now() + (this.options.replyTimeoutMs ?? 2000);
    for (;;) {
      const scanned = scanReply(this.pending);
      if (scanned.kind === 'frame') {
        this.pending = this.pending.slice(scanned.consumed);
        return scanned.frame;
      }
      this.pending = this.pending.slice(scanned.consumed);
      if (scanned.kind === 'bad') throw scanned.error;
      if (closed() || this.stopper.signal.aborted) throw new Error('the link closed during an exchange');
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ReplyTimeout(
          `the ID card reader did not answer ${command} within ${this.options.replyTimeoutMs ?? 2000} ms`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.arrived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.arrived = null;
    }
  }
}
