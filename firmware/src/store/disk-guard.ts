import type { Logger } from 'pino';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import type { PurgeResult } from './purge.ts';
import type { StudyStore } from './study-store.ts';

/** ok: above the warning level; low: below it (alarm raised, delivered copies purged early); full: below the reserve (captures refused). */
export type DiskLevel = 'ok' | 'low' | 'full';

/** Something that frees space before any study is touched (logs, telemetry spooled on disk). */
export interface DiskTrimmer {
  name: string;
  /** Frees what it can; resolves with the bytes freed (an estimate is fine). */
  trim(): Promise<number>;
}

export interface DiskGuardOptions {
  config: {
    minFreeBytes: number;
    warnFreeBytes: number;
    retentionDays: number;
    checkIntervalS: number;
  };
  /** The data partition's space, and the removal of delivered copies (the store). */
  disk: Pick<StudyStore, 'freeBytesNow' | 'totalBytesNow' | 'purge'>;
  trimmers: DiskTrimmer[];
  bus: EventBus;
  log: Logger;
  clock?: () => Date;
}

const DAY_MS = 86_400_000;

/**
 * Keeps the data partition from filling (issue 5, bounded disk). Every check:
 * 1. delivered instances past the retention period lose their local copies, oldest first;
 * 2. below the warning level, an alarm is raised once, logs and other trimmable things are
 *    trimmed, then delivered copies are purged oldest first (even within retention) until the
 *    warning level is regained — never anything undelivered;
 * 3. below the reserve, the store refuses new captures by itself (StudyStore.ensureSpace); the
 *    level says so to the kiosk and the NOC.
 *
 * Clock jumps: ages come from the wall clock (they must survive restarts). A jump back makes
 * copies look younger (kept longer); a jump forward can only shorten the retention of copies that
 * are already in a data centre. Delivery times in the future are never purged by age.
 *
 * INVARIANTS: one check at a time (`running`); the level changes only inside a check.
 */
export class DiskGuard implements Service {
  readonly name = 'disk';
  level: DiskLevel = 'ok';
  readonly counters = { purgedInstances: 0, purgedBytes: 0, lowEpisodes: 0, trimmedBytes: 0 };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly clock: () => Date;

  constructor(readonly options: DiskGuardOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  start(): void {
    // A refused capture may be the first sign of a filling disk: look now, not at the next check.
    this.options.bus.on(this.name, 'capture-refused', () => void this.check());
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.config.checkIntervalS * 1000);
    this.timer.unref();
  }

  /** Free and total bytes now, the level, the configured levels, and what was purged and trimmed. */
  snapshot() {
    const { warnFreeBytes, minFreeBytes } = this.options.config;
    return {
      freeBytes: this.options.disk.freeBytesNow(),
      totalBytes: this.options.disk.totalBytesNow(),
      level: this.level,
      warnFreeBytes,
      minFreeBytes,
      ...this.counters,
    };
  }

  stop(): Promise<void> {
    this.options.bus.off(this.name);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.running ?? Promise.resolve();
  }

  /** Runs a check now (after a capture, from the timer); a check already running is joined. */
  check(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const { config, log } = this.options;
    try {
      const now = this.clock();
      const cutoff = new Date(now.getTime() - config.retentionDays * DAY_MS).toISOString();
      this.purged(
        this.options.disk.purge({ deliveredBefore: cutoff, wantBytes: null }),
        'retention period over',
      );
      let free = this.options.disk.freeBytesNow();
      if (free < config.warnFreeBytes) {
        if (this.level === 'ok') {
          this.counters.lowEpisodes++;
          this.announce(free < config.minFreeBytes ? 'full' : 'low', free);
        }
        for (const trimmer of this.options.trimmers) {
          if (free >= config.warnFreeBytes) break;
          try {
            const bytes = await trimmer.trim();
            this.counters.trimmedBytes += bytes;
            if (bytes > 0) log.warn({ trimmer: trimmer.name, bytes }, 'storage low: trimmed');
          } catch (error) {
            log.error(
              { trimmer: trimmer.name, err: (error as Error).message },
              'storage low: trimming failed',
            );
          }
          free = this.options.disk.freeBytesNow();
        }
        if (free < config.warnFreeBytes) {
          this.purged(
            this.options.disk.purge({ deliveredBefore: null, wantBytes: config.warnFreeBytes - free }),
            'storage low',
          );
          free = this.options.disk.freeBytesNow();
        }
      }
      const level: DiskLevel =
        free < config.minFreeBytes ? 'full' : free < config.warnFreeBytes ? 'low' : 'ok';
      if (level !== this.level) this.announce(level, free);
    } catch (error) {
      log.error({ err: (error as Error).message }, 'storage check failed');
    }
  }

  private purged(result: PurgeResult, why: string): void {
    if (result.instances === 0) return;
    this.counters.purgedInstances += result.instances;
    this.counters.purgedBytes += result.bytes;
    this.options.log.info(
      { instances: result.instances, bytes: result.bytes, why },
      'local copies of delivered instances removed',
    );
  }

  private announce(level: DiskLevel, free: number): void {
    const previous = this.level;
    this.level = level;
    this.options.log[level === 'ok' ? 'info' : 'warn']({ level, previous, freeBytes: free }, 'storage level');
    this.options.bus.emit({
      type: 'disk-state',
      level,
      previous,
      freeBytes: free,
      warnFreeBytes: this.options.config.warnFreeBytes,
      minFreeBytes: this.options.config.minFreeBytes,
    });
  }
}
