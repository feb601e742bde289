import type { Logger } from 'pino';
import type { EventBus } from '../events.ts';
import type { StudyStore } from '../store/study-store.ts';
import { type InstanceRow, StoreError } from '../store/types.ts';

/**
 * The original of a captured instance for encoding, or null when its file is damaged (it no longer
 * decrypts or matches its hash) or gone: then the instance is quarantined (the store announces it),
 * the NOC is told of the damage, and the caller stops. Bad bytes are never made into DICOM.
 */
export async function originalOrSetAside(
  o: { store: StudyStore; bus: EventBus; log: Logger },
  row: InstanceRow,
): Promise<Uint8Array | null> {
  try {
    return await o.store.readOriginal(row);
  } catch (error) {
    if (!(error instanceof StoreError) || (error.code !== 'CORRUPTED' && error.code !== 'NOT_FOUND'))
      throw error;
    const code = error.code === 'CORRUPTED' ? 'corrupted' : 'missing-file';
    o.store.quarantine(row.id, code, error.message);
    o.log.error({ instance: row.id, code, reason: error.message }, 'original damaged or gone: set aside');
    o.bus.emit({ type: 'store-problem', code, message: error.message, instanceId: row.id });
    return null;
  }
}
