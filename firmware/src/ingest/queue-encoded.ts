import type { EventBus } from '../events.ts';
import type { EncodedInstance, StudyStore } from '../store/study-store.ts';

/**
 * The last step of every capture path (still, segment, document): the DICOM file is written and
 * recorded, the instance queued, the kiosk told, the uplink woken.
 */
export function queueEncoded(
  o: { store: StudyStore; bus: EventBus; onQueued(): void },
  id: number,
  encoded: EncodedInstance,
): void {
  o.store.attachEncoded(id, encoded);
  o.store.enqueue(id);
  o.bus.emit({ type: 'instance', instanceId: id, state: 'queued', reason: null });
  o.onQueued();
}
