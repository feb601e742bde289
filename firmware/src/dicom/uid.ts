/**
 * DICOM UIDs made on the terminal (PS3.5 §9): `<uidRoot>.<kind>.<row>.<epoch ms>`, numeric
 * components without leading zeros, at most 64 characters. The root is unique to the terminal;
 * the row (of the instance, or of the consultation study or recording the UID names) is unique
 * within its store, and the time makes a rebuilt store's UIDs differ.
 */
export type UidKind = 'study' | 'series' | 'instance';

const KIND_NUMBER: Record<UidKind, number> = { study: 1, series: 2, instance: 3 };

export function makeUid(root: string, kind: UidKind, rowId: number, epochMs: number): string {
  const uid = `${root}.${KIND_NUMBER[kind]}.${rowId}.${epochMs}`;
  if (uid.length > 64) throw new RangeError(`UID ${uid} is longer than 64 characters; shorten the UID root`);
  return uid;
}

export function isValidUid(uid: string): boolean {
  return uid.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}
