import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StoreOptions, StudyStore } from '../../src/store/study-store.ts';

/** A store in a fresh temp directory, with all the space it wants unless `options` says otherwise. */
export function tempStore(options: Partial<StoreOptions> = {}): { dataDir: string; store: StudyStore } {
  const dataDir = mkdtempSync(join(tmpdir(), 'store-'));
  return {
    dataDir,
    store: new StudyStore({ dataDir, minFreeBytes: 0, freeBytes: () => 10 ** 12, ...options }),
  };
}

/** A cart's record as the store receives it. */
export const ecgInput = (bytes: Uint8Array) => ({
  kind: 'ecg' as const,
  source: 'cart-1',
  bytes,
  originalName: 'A.SCP',
  priority: 1,
  incomplete: null,
});

/** Makes instance `id` DICOM (`dicom` standing in for the file) and queues it for the uplink. */
export async function encodeAndQueue(
  s: StudyStore,
  id: number,
  dicom = Uint8Array.of(1, 2, 3, 4),
): Promise<void> {
  await s.attachEncoded(id, {
    study: { uid: '1.2.3', patientId: null, patientName: null, birthDate: null, sex: null },
    seriesUid: `1.2.3.${id}`,
    sopUid: `1.2.3.${id}.1`,
    dicom,
    warnings: [],
  });
  s.enqueue(id);
}
