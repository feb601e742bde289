import type { Logger } from 'pino';
import { Backoff } from '#device-drivers';
import type { Config } from '../config/schema.ts';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import { type FaultHook, noFaults } from '../store/fault-points.ts';
import type { StudyStore } from '../store/study-store.ts';
import { type InstanceRow, PRIORITY, StoreError } from '../store/types.ts';
import { DcHealth, type DcLinkState } from './dc-health.ts';
import { FlowControl, type UplinkFlow } from './flow-control.ts';
import { type Pace, probeDataCentre, type StowOutcome, type StowTarget } from './stow-client.ts';
import type { InstanceAddress } from './wado-retrieve.ts';

export type DataCentreId = 'A' | 'B';
export type { DcLinkState, UplinkFlow };

/** What the uplink counts per data centre; its health and whether it is in use are derived. */
interface DcCounters {
  id: DataCentreId;
  name: string;
  home: boolean;
  delivered: number;
  /** Health probes sent to it, and how many failed. */
  probes: number;
  probeFailures: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

export interface DcStatus extends DcCounters {
  state: DcLinkState;
  /** The data centre new uploads go to now. */
  active: boolean;
  consecutiveFailures: number;
}

export type UplinkEvent =
  | { type: 'delivered'; instanceId: number; dc: DataCentreId; alreadyStored: boolean }
  | { type: 'retry'; instanceId: number; dc: DataCentreId; reason: string; nextAttemptAt: number }
  | { type: 'quarantined'; instanceId: number; dc: DataCentreId; reason: string }
  /** The file on the terminal's disk is damaged or gone: quarantined, never sent. */
  | { type: 'unsendable'; instanceId: number; code: 'corrupted' | 'missing-file'; reason: string }
  | { type: 'dc-state'; dc: DataCentreId; state: DcLinkState; previous: DcLinkState; reason: string | null };

export type StowFn = (
  target: StowTarget,
  dicom: Uint8Array,
  sopUid: string,
  address?: Omit<InstanceAddress, 'sopUid'>,
  pace?: Pace,
) => Promise<StowOutcome>;

export type ProbeFn = (target: StowTarget) => Promise<string | null>;

export interface UplinkOptions {
  store: StudyStore;
  targets: Record<DataCentreId, StowTarget & { name: string }>;
  home: DataCentreId;
  failoverAfter: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Successes in a row (probes or uploads) before a data centre that was down counts as up. */
  recoverAfter?: number;
  /** How often each data centre's health is probed (a QIDO-RS query), ± 20 % jitter. */
  probeIntervalMs?: number;
  /**
   * The uplink's share of the clinic link (kbit/s; null: no cap), and the lower share while a live
   * consultation runs (design.md: uploads yield bandwidth to it).
   */
  bandwidth?: { uploadKbps: number | null; duringLiveKbps: number | null };
  /**
   * Uploads in flight at most, beside one more kept for ECGs. Starts at one; another is allowed
   * after uploads succeed in a row, and it is back to one after any failure (the link said no).
   */
  maxInFlight?: number;
  stow: StowFn;
  /** The health probe: resolves null when the data centre answered, else why not. */
  probe?: ProbeFn;
  /**
   * The daemon's bus: queued instances wake the uplink, a live consultation lowers its cap, and it
   * tells data-centre states and damaged files there (with a log line for each of its events).
   */
  bus?: EventBus;
  log?: Logger;
  /** Each of its events as it happens (tests watch here). */
  onEvent?(event: UplinkEvent): void;
  now?: () => number;
  /** The crash test's hook: between a data centre storing an instance and the store recording it. */
  fault?: FaultHook;
}

const other = (dc: DataCentreId): DataCentreId => (dc === 'A' ? 'B' : 'A');

/**
 * A data centre's Retry-After is honoured up to an hour: one asking for a day (maintenance) is
 * asked again within the hour, and the other data centre takes the uploads meanwhile.
 */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Delivers queued instances to the province in priority order, several at a time when the link
 * allows, all drawing on one priority-ordered rate limiter.
 * INVARIANTS: one loop per process picks instances; an instance is marked 'delivering'
 * synchronously when it is picked (before any await), so no two uploads carry the same one; it is
 * 'delivering' only while its request is in flight and becomes 'delivered' only when a data
 * centre listed its SOP Instance UID as stored. Instances other than ECGs take a slot only below
 * `allowedInFlight`; ECGs may take one more, so a STAT ECG never waits for a slot behind video.
 */
export class Uplink
  implements Service<{ dataCentres: DcStatus[]; flow: UplinkFlow; switches: Uplink['counters'] }>
{
  readonly name = 'uplink';
  private readonly status: Record<DataCentreId, DcCounters>;
  private readonly health: Record<DataCentreId, DcHealth>;
  private readonly backoff: Backoff;
  private probeTimer: NodeJS.Timeout | null = null;
  /** Where the last upload went: a change away from home is a failover, back to it a failback. */
  private lastChosen: DataCentreId;
  readonly counters = { failovers: 0, failbacks: 0 };
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly now: () => number;
  /**
   * No retry is ever scheduled further ahead than this; one that is was scheduled before the
   * clock went back (a day, say, when NTP corrected it) and is due now, not in a day.
   */
  private readonly horizonMs: number;
  private readonly flowControl: FlowControl;
  /** Both data centres failed the last upload: nothing has got through since. */
  private provinceUnreachable = false;
  /** Uploads that failed on the terminal and could not even be queued again yet (SQLite full), with why. */
  private readonly stranded = new Map<number, string>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: UplinkOptions) {
    this.now = options.now ?? Date.now;
    this.flowControl = new FlowControl(options.bandwidth ?? null, options.maxInFlight ?? 1);
    this.horizonMs = Math.max(options.retryMaxMs, MAX_RETRY_AFTER_MS) + 1000;
    this.backoff = new Backoff({ initialMs: options.retryInitialMs, maxMs: options.retryMaxMs });
    const make = (id: DataCentreId): DcCounters => ({
      id,
      name: options.targets[id].name,
      home: id === options.home,
      delivered: 0,
      probes: 0,
      probeFailures: 0,
      lastError: null,
      lastSuccessAt: null,
      lastFailureAt: null,
    });
    this.status = { A: make('A'), B: make('B') };
    const health = () => new DcHealth(options.failoverAfter, options.recoverAfter ?? 3);
    this.health = { A: health(), B: health() };
    this.lastChosen = options.home;
  }

  dataCentres(): DcStatus[] {
    const active = this.chooseDc();
    return (['A', 'B'] as const).map((id) => ({
      ...this.status[id],
      state: this.health[id].state,
      consecutiveFailures: this.health[id].consecutiveFailures,
      active: id === active,
    }));
  }

  flow(): UplinkFlow {
    return this.flowControl.flow(this.inFlight.size);
  }

  /** A live consultation started or ended: the upload cap follows (bandwidth.duringLiveKbps). */
  setLive(live: boolean): void {
    this.flowControl.setLive(live);
  }

  start(): void {
    if (this.running) return;
    this.options.bus?.on(this.name, 'instance', (event) => {
      if (event.state === 'queued') this.kick();
    });
    this.options.bus?.on(this.name, 'consultation', (event) => this.setLive(event.live));
    this.running = true;
    this.loop = this.run();
    this.scheduleProbe(0);
  }

  /** Each data centre's state and counters, the flow on the link, failovers and failbacks. */
  snapshot() {
    return { dataCentres: this.dataCentres(), flow: this.flow(), switches: { ...this.counters } };
  }

  /** An event for the test watching, the log, and (data-centre states, damaged files) the bus. */
  private tell(event: UplinkEvent): void {
    this.options.onEvent?.(event);
    const { log, bus } = this.options;
    switch (event.type) {
      case 'delivered':
        log?.info(
          { instance: event.instanceId, dc: event.dc, alreadyStored: event.alreadyStored },
          'delivered',
        );
        return;
      case 'retry':
        log?.warn(
          { instance: event.instanceId, dc: event.dc, reason: event.reason },
          'delivery failed; will retry',
        );
        return;
      case 'quarantined':
        log?.warn(
          { instance: event.instanceId, dc: event.dc, reason: event.reason },
          'data centre rejected the instance',
        );
        return;
      case 'unsendable':
        log?.error(
          { instance: event.instanceId, code: event.code, reason: event.reason },
          'not sent: file damaged or gone',
        );
        bus?.emit({
          type: 'store-problem',
          code: event.code,
          message: event.reason,
          instanceId: event.instanceId,
        });
        return;
      case 'dc-state':
        log?.info({ dc: event.dc, state: event.state, reason: event.reason }, 'data centre state');
        bus?.emit(event);
        return;
    }
  }

  async stop(): Promise<void> {
    this.options.bus?.off(this.name);
    this.running = false;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  /**
   * Probes both data centres (a QIDO-RS query, cheap), so that a data centre that went down is
   * seen coming back (after `recoverAfter` answers in a row: then traffic returns home), and the
   * kiosk and health show the state of the one not in use too.
   */
  private scheduleProbe(delayMs: number): void {
    if (!this.running) return;
    this.probeTimer = setTimeout(async () => {
      const probe = this.options.probe ?? probeDataCentre;
      await Promise.all(
        (['A', 'B'] as const).map(async (dc) => {
          const s = this.status[dc];
          s.probes++;
          const problem = await probe(this.options.targets[dc]).catch((e: unknown) => String(e));
          if (problem !== null) s.probeFailures++;
          if (this.running) this.record(dc, problem);
        }),
      );
      const interval = this.options.probeIntervalMs ?? 15_000;
      this.scheduleProbe(interval * (0.8 + Math.random() * 0.4));
    }, delayMs);
  }

  /** Something was queued: deliver now instead of at the next timer. */
  kick(): void {
    this.wake?.();
  }

  /**
   * Home, unless its health says down and the other's does not: the other then, until the home
   * data centre has answered `recoverAfter` times in a row (probes or uploads).
   */
  private chooseDc(): DataCentreId {
    const home = this.options.home;
    return this.health[home].state === 'down' && this.health[other(home)].state !== 'down'
      ? other(home)
      : home;
  }

  /** One answer (null) or failure (why) from a data centre, from an upload or a probe. */
  private record(dc: DataCentreId, problem: string | null): void {
    const s = this.status[dc];
    const at = new Date(this.now()).toISOString();
    const before = this.health[dc].state;
    let changed: DcLinkState | null;
    if (problem === null) {
      s.lastSuccessAt = at;
      changed = this.health[dc].success();
    } else {
      s.lastError = problem;
      s.lastFailureAt = at;
      changed = this.health[dc].failure();
    }
    if (changed) this.tell({ type: 'dc-state', dc, state: changed, previous: before, reason: problem });
    if (changed === 'up') this.kick();
  }

  /**
   * Queues an upload that failed on the terminal again. When even that cannot be written (SQLite
   * full: something outside the store took the disk's reserve), the instance is kept in memory
   * and queued again at each turn of the loop until the write succeeds; a restart requeues it too.
   */
  private requeue(id: number, reason: string): void {
    const nextAttemptAt = this.now() + this.options.retryMaxMs;
    try {
      this.options.store.markRetry(id, reason, nextAttemptAt);
      this.stranded.delete(id);
      this.tell({ type: 'retry', instanceId: id, dc: this.lastChosen, reason, nextAttemptAt });
    } catch (error) {
      if (!this.stranded.has(id))
        this.options.log?.error(
          { instance: id, err: (error as Error).message },
          'cannot queue an upload again; will keep trying',
        );
      this.stranded.set(id, reason);
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      for (const [id, reason] of [...this.stranded]) this.requeue(id, reason);
      // While the province is unreachable, one upload at a time tries the link: retries wait out
      // their backoff, but the one that tries when a wait is over is the most urgent instance
      // queued, whatever its own wait — a STAT ECG captured during an outage goes first when the
      // link is back, not after the backlog.
      const unreachable = this.provinceUnreachable;
      const free = (unreachable ? 1 : this.flowControl.allowedInFlight) - this.inFlight.size;
      // Below the allowance anything due; at it, only an ECG (the lane kept for them).
      const lane = !unreachable && free === 0;
      const limit = free > 0 ? Number.MAX_SAFE_INTEGER : PRIORITY.ecg;
      const due =
        free > 0 || lane ? this.options.store.nextDue(this.now(), this.horizonMs, limit) : undefined;
      const row = due && unreachable ? (this.options.store.nextQueued(limit) ?? due) : due;
      if (!row) {
        const dueAt = free > 0 ? this.options.store.nextDueAt() : null;
        // Woken early by a kick: something queued, an upload done, a data centre back.
        const wait = dueAt === null ? 60_000 : Math.min(this.horizonMs, Math.max(10, dueAt - this.now()));
        await this.sleep(this.stranded.size > 0 ? Math.min(wait, 1000) : wait);
        continue;
      }
      // deliver() marks the row 'delivering' before its first await: the next pick skips it.
      const upload: Promise<void> = this.deliver(row)
        .catch((error: unknown) => {
          // A failure on the terminal under an upload: queued again, tried later; the loop lives on.
          this.requeue(row.id, `upload failed on the terminal: ${(error as Error).message}`);
        })
        .finally(() => {
          this.inFlight.delete(upload);
          this.kick();
        });
      this.inFlight.add(upload);
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

  private async attempt(
    row: InstanceRow,
    dc: DataCentreId,
    dicom: Uint8Array,
    address: Omit<InstanceAddress, 'sopUid'> | undefined,
    marked = false,
  ): Promise<StowOutcome> {
    if (!marked) this.options.store.markDelivering(row.id, dc);
    const target = this.flowControl.timed(this.options.targets[dc], dicom.length);
    const outcome = await this.options.stow(target, dicom, row.sop_uid!, address, (bytes) =>
      this.flowControl.pace(bytes, row.priority),
    );
    this.record(dc, outcome.kind === 'retry' ? outcome.reason : null);
    this.flowControl.finished(dicom.length, outcome.kind !== 'retry');
    return outcome;
  }

  private async deliver(row: InstanceRow): Promise<void> {
    const { store } = this.options;
    const first = this.chooseDc();
    if (first !== this.lastChosen) {
      if (first === this.options.home) this.counters.failbacks++;
      else this.counters.failovers++;
      this.lastChosen = first;
    }
    // Marked before the first await: the loop's next pick skips it.
    store.markDelivering(row.id, first);
    let dicom: Uint8Array;
    try {
      // Read, decrypted and checked against its hash off the event loop (several MB for video).
      dicom = await store.readDicom(row);
    } catch (error) {
      if (!(error instanceof StoreError) || (error.code !== 'CORRUPTED' && error.code !== 'NOT_FOUND'))
        throw error;
      const code = error.code === 'CORRUPTED' ? 'corrupted' : 'missing-file';
      store.quarantine(row.id, code, error.message);
      this.tell({ type: 'unsendable', instanceId: row.id, code, reason: error.message });
      return;
    }
    let dc = first;
    // Where the data centre's copy sits, should it answer "already stored" (looked up once).
    const studyUid = row.study_id === null ? undefined : store.studyUid(row.study_id);
    const address =
      studyUid && row.series_uid
        ? { studyUid, seriesUid: row.series_uid, captureSha256: row.content_sha256 }
        : undefined;
    let outcome = await this.attempt(row, dc, dicom, address, true);
    if (outcome.kind === 'retry') {
      // Active-active: the other data centre takes it now rather than after a backoff.
      dc = other(first);
      outcome = await this.attempt(row, dc, dicom, address);
    }
    switch (outcome.kind) {
      case 'stored':
        (this.options.fault ?? noFaults)('uplink.stored-not-recorded');
        store.markDelivered(row.id, dc, outcome.httpStatus);
        this.status[dc].delivered++;
        this.backoff.reset();
        if (this.provinceUnreachable) {
          // The link is back: what waited is due now, and goes in priority order.
          this.provinceUnreachable = false;
          store.makeQueuedDue();
        }
        this.tell({
          type: 'delivered',
          instanceId: row.id,
          dc,
          alreadyStored: outcome.alreadyStored,
        });
        return;
      case 'rejected':
        store.quarantine(row.id, 'rejected-by-dc', outcome.reason);
        this.tell({ type: 'quarantined', instanceId: row.id, dc, reason: outcome.reason });
        return;
      case 'retry': {
        this.provinceUnreachable = true;
        const nextAttemptAt =
          this.now() +
          this.backoff.next(
            outcome.retryAfterMs === undefined
              ? undefined
              : Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS),
          );
        store.markRetry(row.id, outcome.reason, nextAttemptAt);
        // Neither data centre answered: every other queued instance waits out the same backoff.
        // (Found by CI: an instance whose own wait had run out made the loop try the most urgent
        // one again at once, every 65 ms, for as long as the outage lasted.)
        store.postponeQueued(nextAttemptAt);
        this.tell({
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

/** The uplink's data centres and link settings from the configuration. */
export function uplinkOptions(config: Config) {
  const dcs = config.dataCentres;
  const target = (id: DataCentreId) => ({
    name: dcs[id].name,
    dicomWebUrl: dcs[id].dicomWebUrl,
    timeoutMs: dcs.requestTimeoutMs,
    ...(dcs[id].username !== undefined ? { username: dcs[id].username } : {}),
    ...(dcs[id].password !== undefined ? { password: dcs[id].password } : {}),
  });
  return {
    targets: { A: target('A'), B: target('B') },
    home: dcs.home,
    failoverAfter: dcs.failoverAfter,
    recoverAfter: dcs.recoverAfter,
    probeIntervalMs: dcs.probeIntervalMs,
    retryInitialMs: dcs.retryInitialMs,
    retryMaxMs: dcs.retryMaxMs,
    bandwidth: { uploadKbps: dcs.uploadKbps, duringLiveKbps: dcs.duringLiveKbps },
    maxInFlight: dcs.maxInFlight,
  } satisfies Partial<UplinkOptions>;
}
