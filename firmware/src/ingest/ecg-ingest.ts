import type { Logger } from 'pino';
import { type CartRecord, decodeScp, isScpDecodeError, type VendorProfile } from '#device-drivers';
import { DicomEncodeError, encodeEcgWaveform } from '../dicom/ecg-waveform.ts';
import { makeUid } from '../dicom/uid.ts';
import type { EventBus } from '../events.ts';
import type { StudyStore } from '../store/study-store.ts';
import { PRIORITY, StoreError } from '../store/types.ts';

export interface IngestCounters {
  received: number;
  duplicates: number;
  refused: number;
  decodeFailures: number;
  decodeWarnings: number;
  encoded: number;
}

export interface EcgIngestOptions {
  store: StudyStore;
  bus: EventBus;
  log: Logger;
  uidRoot: string;
  stationName: string;
  institutionName: string;
  profileFor(cartId: string): 'auto' | VendorProfile;
  onQueued(): void;
  now?: () => Date;
}

/**
 * From a cart's bytes to a queued DICOM instance. Step 1 (`receive`) makes the original durable
 * and is what the cart's final ACK waits for; step 2 (`process`) decodes and encodes, and may
 * quarantine, but never loses the original.
 */
export class EcgIngest {
  readonly counters: IngestCounters = {
    received: 0,
    duplicates: 0,
    refused: 0,
    decodeFailures: 0,
    decodeWarnings: 0,
    encoded: 0,
  };
  private readonly now: () => Date;

  constructor(private readonly options: EcgIngestOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Durable intake; rejects (so the cart is told "failed") when the record cannot be kept. */
  async receive(record: CartRecord): Promise<void> {
    const { store, bus, log } = this.options;
    let result: { id: number; duplicate: boolean };
    try {
      result = store.receive({
        kind: 'ecg',
        source: record.cartId,
        bytes: record.bytes,
        originalName: record.fileName,
        priority: PRIORITY.ecg,
        incomplete: record.incomplete,
      });
    } catch (error) {
      this.counters.refused++;
      const reason = error instanceof StoreError ? error.message : String(error);
      log.error({ cart: record.cartId, err: reason }, 'ECG refused: could not be kept');
      bus.emit({ type: 'capture-refused', source: record.cartId, reason });
      throw error;
    }
    if (result.duplicate) {
      this.counters.duplicates++;
      log.info({ cart: record.cartId, instance: result.id }, 'the cart sent a record again; kept once');
      return;
    }
    this.counters.received++;
    const row = store.get(result.id);
    log.info(
      { cart: record.cartId, instance: result.id, bytes: record.bytes.length, state: row.state },
      'ECG saved',
    );
    bus.emit({ type: 'instance', instanceId: result.id, state: row.state, reason: row.quarantine_reason });
    if (row.state === 'captured') setImmediate(() => this.process(result.id));
  }

  /** Decodes and encodes one captured instance; quarantines it with the reason when it cannot. */
  process(id: number): void {
    const { store, bus, log } = this.options;
    const row = store.get(id);
    if (row.state !== 'captured' || row.kind !== 'ecg') return;
    const original = store.readOriginal(row);
    try {
      const record = decodeScp(original, { profile: this.options.profileFor(row.source) });
      if (record.warnings.length > 0) {
        this.counters.decodeWarnings++;
        log.warn({ instance: id, warnings: record.warnings }, 'ECG decoded with warnings');
      }
      const epoch = this.now().getTime();
      const root = this.options.uidRoot;
      const uids = {
        study: makeUid(root, 'study', id, epoch),
        series: makeUid(root, 'series', id, epoch),
        sop: makeUid(root, 'instance', id, epoch),
      };
      const encoded = encodeEcgWaveform({
        record,
        original,
        originalName: row.original_name,
        uids,
        instanceNumber: 1,
        seriesNumber: 1,
        stationName: this.options.stationName,
        institutionName: this.options.institutionName,
        receivedAt: new Date(row.received_at),
      });
      const name = [record.patient.lastName, record.patient.firstName].filter(Boolean).join(' ') || null;
      store.attachEncoded(id, {
        study: {
          uid: uids.study,
          patientId: record.patient.id,
          patientName: name,
          birthDate: record.patient.birthDate,
          sex: record.patient.sex,
        },
        seriesUid: uids.series,
        sopUid: uids.sop,
        dicom: encoded.bytes,
        warnings: record.warnings,
      });
      bus.emit({ type: 'instance', instanceId: id, state: 'encoded', reason: null });
      store.enqueue(id);
      this.counters.encoded++;
      bus.emit({ type: 'instance', instanceId: id, state: 'queued', reason: null });
      this.options.onQueued();
    } catch (error) {
      if (!isScpDecodeError(error) && !(error instanceof DicomEncodeError)) {
        log.error(
          { instance: id, err: error },
          'ECG processing failed; it stays captured and is retried at the next start',
        );
        return;
      }
      this.counters.decodeFailures++;
      const reason = `cannot decode the cart's record: ${error.message}`;
      store.quarantine(id, 'undecodable', reason);
      log.warn({ instance: id, reason }, 'ECG quarantined');
      bus.emit({ type: 'instance', instanceId: id, state: 'quarantined', reason });
    }
  }

  /** After a restart: finish every unfinished item. */
  resume(): void {
    const { store } = this.options;
    for (const row of store.inState('captured')) this.process(row.id);
    for (const row of store.inState('encoded')) store.enqueue(row.id);
    this.options.onQueued();
  }
}
