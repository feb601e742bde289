import type { Backoff } from '../util/backoff.ts';
import { Waker } from '../util/waker.ts';
import {
  isSerialError,
  type PortIdentity,
  type SerialLink,
  type SerialOpener,
  selectPort,
} from './serial-link.ts';
import { explainBusyPort } from './stale-lock.ts';

export type PortKeeperState = 'searching' | 'opening' | 'connected';

export interface PortKeeperOptions {
  opener: SerialOpener;
  identity: PortIdentity;
  baudRate: number;
  backoff: Backoff;
  /** The back-off wait, cut short when the device manager sees a port arrive. */
  waker: Waker;
  signal: AbortSignal;
  counters: { connects: number; disconnects: number; openFailures: number };
  setState(state: PortKeeperState, detail: string | null): void;
  /** The last state detail (why the port was lost): kept while searching again. */
  detail(): string | null;
  /** The link opened (or null when it is gone), so a stop can close it. */
  onLink(link: SerialLink | null): void;
  /** Runs the device's protocol until the link closes; returns why, or null when stopped. */
  serve(link: SerialLink, signal: AbortSignal): Promise<string | null>;
  onLost(reason: string): void;
}

/**
 * Keeps a serial device's port open for as long as `signal` allows: finds the port by identity
 * (never by /dev name alone: ports renumber), opens it, serves the protocol on it, and after an
 * unplug or a failed open looks again with back-off. The loop the ECG cart and the ID card reader
 * share; each brings its own protocol in `serve`.
 */
export async function keepPortOpen(o: PortKeeperOptions): Promise<void> {
  while (!o.signal.aborted) {
    o.setState('searching', o.detail());
    const found = selectPort(await o.opener.list(), o.identity);
    if (isSerialError(found)) {
      o.setState('searching', found.message);
      await o.waker.sleep(o.backoff.next(), o.signal).catch(() => undefined);
      continue;
    }
    o.setState('opening', null);
    let link: SerialLink;
    try {
      link = await o.opener.open(found.path, { baudRate: o.baudRate });
    } catch (error) {
      o.counters.openFailures++;
      const why = isSerialError(error) ? error.message : String(error);
      // A busy port: name who holds it (and clear a crashed tool's stale lock on the way).
      const busy = explainBusyPort(found.path);
      o.setState('searching', busy ? `${why} — ${busy}` : why);
      await o.waker.sleep(o.backoff.next(), o.signal).catch(() => undefined);
      continue;
    }
    if (o.signal.aborted) {
      // Stopped while the port was opening: the stop has already passed the point where it
      // closes the link, and `serve` would wait for an abort that has already happened.
      await link.close();
      return;
    }
    o.onLink(link);
    o.backoff.reset();
    o.counters.connects++;
    o.setState('connected', null);
    const reason = await o.serve(link, o.signal);
    o.onLink(null);
    if (reason && !o.signal.aborted) {
      o.counters.disconnects++;
      o.onLost(reason);
      o.setState('searching', reason);
    }
  }
}

/** A serial device's state: looking for or holding its port, busy with its protocol, or stopped. */
export type SerialDeviceState<Busy extends string> = PortKeeperState | Busy | 'stopped';

export interface SerialDeviceOptions {
  opener: SerialOpener;
  identity: PortIdentity;
  baudRate: number;
  backoff: Backoff;
  counters: { connects: number; disconnects: number; openFailures: number };
  /** For messages: "cart link lost: …", "ID card reader lost: …". */
  name: string;
  onProblem?(message: string): void;
}

/**
 * A driver for one serial device: its state (one field), start/stop, and the port kept open by
 * `keepPortOpen`; a subclass brings the protocol (`serve`) and its own busy states.
 */
export abstract class SerialDevice<Busy extends string> {
  private current: SerialDeviceState<Busy> = 'stopped';
  private detail: string | null = null;
  protected readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;
  private link: SerialLink | null = null;
  private readonly waker = new Waker();

  constructor(
    private readonly device: SerialDeviceOptions,
    private readonly onState?: (state: SerialDeviceState<Busy>, detail: string | null) => void,
  ) {}

  get state(): SerialDeviceState<Busy> {
    return this.current;
  }

  get lastProblem(): string | null {
    return this.detail;
  }

  /** The path of the open port, or null. */
  get port(): string | null {
    return this.link?.path ?? null;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().catch((error: unknown) => {
      if (!this.stopper.signal.aborted)
        this.device.onProblem?.(`${this.device.name} stopped: ${String(error)}`);
    });
  }

  async stop(): Promise<void> {
    this.stopper.abort(new Error(`${this.device.name} stopped`));
    this.stopping();
    await this.link?.close();
    await this.loop;
    this.setState('stopped', null);
  }

  /** A port arrived (the device manager saw it): stop waiting out the back-off and look now. */
  kick(): void {
    this.waker.wake();
  }

  /** Wakes whatever the protocol waits on, so a stop is not held up by it. */
  protected stopping(): void {}

  protected setState(state: SerialDeviceState<Busy>, detail: string | null): void {
    if (state === this.current && detail === this.detail) return;
    this.current = state;
    this.detail = detail;
    this.onState?.(state, detail);
  }

  /** Runs the device's protocol on one open link until it closes; returns why, or null when stopped. */
  protected abstract serve(link: SerialLink, signal: AbortSignal): Promise<string | null>;

  private run(): Promise<void> {
    const d = this.device;
    return keepPortOpen({
      opener: d.opener,
      identity: d.identity,
      baudRate: d.baudRate,
      backoff: d.backoff,
      waker: this.waker,
      signal: this.stopper.signal,
      counters: d.counters,
      setState: (state, detail) => this.setState(state, detail),
      detail: () => this.detail,
      onLink: (link) => {
        this.link = link;
      },
      serve: (link, signal) => this.serve(link, signal),
      onLost: (reason) => d.onProblem?.(`${d.name} lost: ${reason}`),
    });
  }
}
