import type { Logger } from 'pino';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import type { StudyStore } from '../store/study-store.ts';

export type PowerState = 'normal' | 'failing' | 'flushed';

export interface PowerFailOptions {
  bus: EventBus;
  log: Logger;
  /** Work in flight to finish (the recording's last segment, a scan) before captures are refused. */
  inFlight: ReadonlyArray<{ finishBeforePowerLoss(): Promise<void> }>;
  /** Refuses and accepts captures, and makes everything committed durable (WAL checkpoint). */
  store: Pick<StudyStore, 'refuseCaptures' | 'acceptCaptures' | 'flush'>;
  /** Longest the in-flight work may take: the UPS's hold-up time is short. */
  budgetMs: number;
  now?: () => number;
}

export const POWER_FAIL_REASON =
  'mains power failed: the terminal runs on its UPS; new captures are refused until power returns (everything saved is safe)';

/**
 * What the terminal does when the UPS says mains power failed: tell the kiosk and the NOC at once,
 * finish what is being written (within the budget), refuse new captures, flush the store, and
 * report how long that took. Power back: captures are accepted again.
 *
 * INVARIANTS: one sequence at a time; a restore during the sequence takes effect when it ends.
 */
export class PowerFailHandler implements Service<{ state: PowerState; lastFlushedMs: number | null }> {
  readonly name = 'power';
  state: PowerState = 'normal';
  /** How long the last power failure took from the input to "flushed". */
  lastFlushedMs: number | null = null;
  private running: Promise<void> | null = null;
  private restoreWanted = false;
  private readonly now: () => number;

  constructor(private readonly options: PowerFailOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Acts on the UPS input as the GPIO panel settles it. */
  start(): void {
    this.options.bus.on(this.name, 'power-input', (event) => {
      if (event.failing) void this.failed();
      else this.restored();
    });
  }

  stop(): void {
    this.options.bus.off(this.name);
  }

  snapshot() {
    return { state: this.state, lastFlushedMs: this.lastFlushedMs };
  }

  failed(): Promise<void> {
    if (this.running) return this.running;
    this.restoreWanted = false;
    this.running = this.sequence().finally(() => {
      this.running = null;
      if (this.restoreWanted) this.restored();
    });
    return this.running;
  }

  restored(): void {
    if (this.running) {
      this.restoreWanted = true;
      return;
    }
    if (this.state === 'normal') return;
    this.state = 'normal';
    this.options.store.acceptCaptures();
    this.options.log.info('mains power back: captures accepted again');
    this.options.bus.emit({ type: 'power', state: 'restored', flushedMs: null });
  }

  private async sequence(): Promise<void> {
    const o = this.options;
    const started = this.now();
    this.state = 'failing';
    o.log.warn('mains power failed: finishing writes');
    o.bus.emit({ type: 'power', state: 'failing', flushedMs: null });
    let timer: NodeJS.Timeout | null = null;
    const finished = await Promise.race([
      Promise.all(o.inFlight.map((work) => work.finishBeforePowerLoss())).then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), o.budgetMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (!finished)
      o.log.error({ budgetMs: o.budgetMs }, 'work in flight did not finish within the power-fail budget');
    o.store.refuseCaptures(POWER_FAIL_REASON);
    o.store.flush();
    this.lastFlushedMs = Math.round((this.now() - started) * 10) / 10;
    this.state = 'flushed';
    o.log.warn({ flushedMs: this.lastFlushedMs }, 'power-fail: store flushed');
    o.bus.emit({ type: 'power', state: 'flushed', flushedMs: this.lastFlushedMs });
  }
}
