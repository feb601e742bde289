import type { Logger } from 'pino';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import type { AuditVerification } from './audit-log.ts';
import type { RecoveryReport } from './recovery.ts';
import type { StudyStore } from './study-store.ts';
import type { InstanceState } from './types.ts';

export interface StoreSnapshot {
  /** What start-up reconciliation found (status and health show it until the next start). */
  recovery: Omit<RecoveryReport, 'actions'> | null;
  /** The audit log now (entries, newest hash), and where its chain broke when walked at start. */
  audit: { entries: number; hash: string; chainBroken: AuditVerification['broken'] };
  /** Instances by state. */
  instances: Record<InstanceState, number>;
  /** How patient data is sealed at rest, where the key is, and its fingerprint (never the key). */
  encryption: {
    mode: 'aes-256-gcm' | 'off';
    keyStore: 'tpm' | 'file' | null;
    keyFingerprint: string | null;
  };
}

/**
 * The study store as a service. Starting it reconciles the database with its files before
 * anything writes (recovery.ts), walks the audit log's chain, and raises what a technician or the
 * NOC must hear of: a broken chain, SQLite's check failing, files lost, what a crash left behind.
 * One log line per recovery action. Stopping it closes the database.
 */
export class StoreService implements Service<StoreSnapshot> {
  readonly name = 'store';
  private recovery: StoreSnapshot['recovery'] = null;
  private audit: AuditVerification | null = null;

  constructor(
    readonly store: StudyStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {
    if (store.dataKey?.created) {
      const { keyStore, where, fingerprint } = store.dataKey;
      log.info(
        { keyStore, where, fingerprint },
        'new data key made: patient data at rest is sealed under it',
      );
    }
  }

  start(): void {
    const { actions, ...counts } = this.store.recover();
    this.recovery = counts;
    for (const a of actions.slice(0, 100)) this.log.warn({ action: a.action, subject: a.subject }, a.detail);
    if (actions.length > 100)
      this.log.warn({ more: actions.length - 100 }, 'further recovery actions not logged');
    this.log.info(counts, 'store recovered');
    const audit = this.store.audit.verify();
    this.audit = audit;
    if (audit.broken)
      this.log.error({ entries: audit.entries, broken: audit.broken }, 'audit log chain broken');
    else this.log.info({ entries: audit.entries, head: audit.headHash.slice(0, 16) }, 'audit log verified');
    for (const problem of startupAlarms(counts, audit))
      this.bus.emit({ type: 'store-problem', ...problem, instanceId: null });
  }

  async stop(): Promise<void> {
    await this.store.settled();
    this.store.close();
  }

  snapshot(): StoreSnapshot {
    const { store } = this;
    return {
      recovery: this.recovery,
      audit: { ...store.audit.head(), chainBroken: this.audit?.broken ?? null },
      instances: store.countByState(),
      encryption: {
        mode: store.atRest.mode,
        keyStore: store.dataKey?.keyStore ?? null,
        keyFingerprint: store.dataKey?.fingerprint ?? null,
      },
    };
  }
}

/** What start-up found that the NOC and the kiosk must be told of, as store problems. */
export function startupAlarms(
  counts: Omit<RecoveryReport, 'actions'>,
  audit: AuditVerification,
): Array<{ code: 'audit' | 'integrity' | 'missing-file' | 'recovered'; message: string }> {
  const alarms: Array<{ code: 'audit' | 'integrity' | 'missing-file' | 'recovered'; message: string }> = [];
  if (audit.broken)
    alarms.push({
      code: 'audit',
      message: `the audit log's chain breaks at entry ${audit.broken.id}: ${audit.broken.reason}`,
    });
  if (counts.integrity !== 'ok')
    alarms.push({ code: 'integrity', message: `SQLite quick_check: ${counts.integrity}` });
  if (counts.missingFiles > 0)
    alarms.push({
      code: 'missing-file',
      message: `${counts.missingFiles} instance(s) lost their file and were quarantined`,
    });
  if (counts.requeued + counts.tempFilesRemoved + counts.orphanFiles > 0)
    alarms.push({
      code: 'recovered',
      message: `after the restart: ${counts.requeued} upload(s) queued again, ${counts.tempFilesRemoved} unfinished write(s) removed, ${counts.orphanFiles} file(s) without a record kept in orphans/`,
    });
  return alarms;
}
