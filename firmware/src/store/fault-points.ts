/**
 * Named moments inside the store's writes where a crash is most likely to break a promise: a file
 * synced but not yet renamed, renamed but its directory not yet synced, a transaction's rows
 * written but not committed, committed but not yet acted on. The rig's kill test crashes the
 * firmware at the Nth hit of one of them (`TELEMED_CRASH_AT=point:N`, see `crashAtFromEnv`), in
 * addition to killing it at random moments, so that those narrow windows are hit on purpose and
 * not only by luck (SQLite's own crash tests inject faults the same way).
 */
export type FaultPoint =
  | 'file.synced'
  | 'file.renamed'
  | 'store.in-transaction'
  | 'store.committed'
  | 'uplink.stored-not-recorded';

export const FAULT_POINTS: readonly FaultPoint[] = [
  'file.synced',
  'file.renamed',
  'store.in-transaction',
  'store.committed',
  'uplink.stored-not-recorded',
];

/** Called at every fault point; the default does nothing. */
export type FaultHook = (point: FaultPoint) => void;

export const noFaults: FaultHook = () => {};

/**
 * The hook the firmware runs with when `TELEMED_CRASH_AT` names a point and a count: at that
 * hit the process kills itself with SIGKILL, exactly as a power cut or the OOM killer would end it
 * (no exit handlers, no flush). Unset (as on every deployed board), no hook runs.
 */
export function crashAtFromEnv(value: string | undefined, kill: () => void = selfKill): FaultHook {
  if (!value) return noFaults;
  const match = /^([a-z.-]+):(\d+)$/.exec(value);
  const point = match?.[1] as FaultPoint | undefined;
  if (!match || !point || !FAULT_POINTS.includes(point) || Number(match[2]) < 1) {
    throw new Error(
      `TELEMED_CRASH_AT must be POINT:N with POINT one of ${FAULT_POINTS.join(', ')} and N ≥ 1 (got ${value})`,
    );
  }
  let left = Number(match[2]);
  return (hit) => {
    if (hit === point && --left === 0) kill();
  };
}

function selfKill(): void {
  process.kill(process.pid, 'SIGKILL');
}
