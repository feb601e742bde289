import { Backoff } from '#device-drivers';
import { type FaultHook, noFaults } from '../store/fault-points.ts';
import type { StudyStore } from '../store/study-store.ts';
import { type InstanceRow, StoreError } from '../store/types.ts';
import type { StowOutcome, StowTarget } from './stow-client.ts';

export type DataCentreId = 'A' | 'B';
export type DcLinkState = 'unknown' | 'up' | 'down';

export interface DcStatus {
  id: DataCentreId;
  name: string;
  state: DcLinkState;
  home: boolean;
  consecutiveFailures: number;
  delivered: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

export type UplinkEvent =
  | { type: 'delivered'; instanceId: number; dc: DataCentreId; alreadyStored: boolean }
  | { type: 'retry'; instanceId: number; dc: DataCentreId; reason: string; nextAttemptAt: number }
  | { type: 'quarantined'; instanceId: number; dc: DataCentreId; reason: string }
  /** The file on the terminal's disk is damaged or gone: quarantined, never sent. */
  | { type: 'unsendable'; instanceId: number; code: 'corrupted' | 'missing-file'; reason: string }
  | { type: 'dc-state'; dc: DataCentreId; state: DcLinkState; reason: string | null };

export type StowFn = (target: StowTarget, dicom: Uint8Array, sopUid: string) => Promise<StowOutcome>;

export interface UplinkOptions {
  store: StudyStore;
  targets: Record<DataCentreId, StowTarget & { name: string }>;
  home: DataCentreId;
  failoverAfter: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** After failing over, how long before the home data centre is tried again. */
  homeRetryMs?: number;
  stow: StowFn;
  onEvent?(event: UplinkEvent): void;
  now?: () => number;
  /** The crash test's hook: between a data centre storing an instance and the store recording it. */
  fault?: FaultHook;
}

const other = (dc: DataCentreId): DataCentreId => (dc === 'A' ? 'B' : 'A');

/**
 * Delivers queued instances to the province, one at a time in priority order.
 * INVARIANTS: one loop per process; an instance is 'delivering' only while its request is in
 * flight; it becomes 'delivered' only when a data centre listed its SOP Instance UID as stored.
 */
export class Uplink {
  private readonly status: Record<DataCentreId, DcStatus>;
  private readonly backoff: Backoff;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: UplinkOptions) {
    this.now = options.now ?? Date.now;
    this.backoff = new Backoff({ initialMs: options.retryInitialMs, maxMs: options.retryMaxMs });
    const make = (id: DataCentreId): DcStatus => ({
      id,
      name: options.targets[id].name,
      state: 'unknown',
      home: id === options.home,
      consecutiveFailures: 0,
      delivered: 0,
      lastError: null,
      lastSuccessAt: null,
      lastFailureAt: null,
    });
    this.status = { A: make('A'), B: make('B') };
  }

  dataCentres(): DcStatus[] {
    return [{ ...this.status.A }, { ...this.status.B }];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Something was queued: deliver now instead of at the next timer. */
  kick(): void {
    this.wake?.();
  }

  /** Home unless it failed `failoverAfter` times in a row recently; then the other one. */
  private chooseDc(): DataCentreId {
    const home = this.status[this.options.home];
    const recentlyFailed =
      home.consecutiveFailures >= this.options.failoverAfter &&
      home.lastFailureAt !== null &&
      this.now() - Date.parse(home.lastFailureAt) < (this.options.homeRetryMs ?? 60_000);
    return recentlyFailed ? other(this.options.home) : this.options.home;
  }

  private setDcState(dc: DataCentreId, state: DcLinkState, reason: string | null): void {
    const s = this.status[dc];
    if (s.state !== state) {
      s.state = state;
      this.options.onEvent?.({ type: 'dc-state', dc, state, reason });
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const row = this.options.store.nextDue(this.now());
      if (!row) {
        const dueAt = this.options.store.nextDueAt();
        await this.sleep(dueAt === null ? 60_000 : Math.max(10, dueAt - this.now()));
        continue;
      }
      await this.deliver(row);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async attempt(row: InstanceRow, dc: DataCentreId, dicom: Uint8Array): Promise<StowOutcome> {
    this.options.store.markDelivering(row.id, dc);
    const outcome = await this.options.stow(this.options.targets[dc], dicom, row.sop_uid!);
    const s = this.status[dc];
    const at = new Date(this.now()).toISOString();
    if (outcome.kind === 'retry') {
      s.consecutiveFailures++;
      s.lastError = outcome.reason;
      s.lastFailureAt = at;
      this.setDcState(dc, 'down', outcome.reason);
    } else {
      s.consecutiveFailures = 0;
      s.lastSuccessAt = at;
      this.setDcState(dc, 'up', null);
    }
    return outcome;
  }

  private async deliver(row: InstanceRow): Promise<void> {
    const { store } = this.options;
    let dicom: Uint8Array;
    try {
      dicom = store.readDicom(row);
    } catch (error) {
      if (!(error instanceof StoreError) || (error.code !== 'CORRUPTED' && error.code !== 'NOT_FOUND'))
        throw error;
      const code = error.code === 'CORRUPTED' ? 'corrupted' : 'missing-file';
      store.quarantine(row.id, code, error.message);
      this.options.onEvent?.({ type: 'unsendable', instanceId: row.id, code, reason: error.message });
      return;
    }
    const first = this.chooseDc();
    let dc = first;
    let outcome = await this.attempt(row, dc, dicom);
    if (outcome.kind === 'retry') {
      // Active-active: the other data centre takes it now rather than after a backoff.
      dc = other(first);
      outcome = await this.attempt(row, dc, dicom);
    }
    switch (outcome.kind) {
      case 'stored':
        (this.options.fault ?? noFaults)('uplink.stored-not-recorded');
        store.markDelivered(row.id, dc, outcome.httpStatus);
        this.status[dc].delivered++;
        this.backoff.reset();
        this.options.onEvent?.({
          type: 'delivered',
          instanceId: row.id,
          dc,
          alreadyStored: outcome.alreadyStored,
        });
        return;
      case 'rejected':
        store.quarantine(row.id, 'rejected-by-dc', outcome.reason);
        this.options.onEvent?.({ type: 'quarantined', instanceId: row.id, dc, reason: outcome.reason });
        return;
      case 'retry': {
        const nextAttemptAt = this.now() + this.backoff.next(outcome.retryAfterMs);
        store.markRetry(row.id, outcome.reason, nextAttemptAt);
        this.options.onEvent?.({
          type: 'retry',
          instanceId: row.id,
          dc,
          reason: outcome.reason,
          nextAttemptAt,
        });
        return;
      }
    }
  }
}
