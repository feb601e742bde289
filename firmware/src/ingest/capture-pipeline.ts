import type { Logger } from 'pino';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import type { EventBus } from '../events.ts';
import type { EncodedInstance, ReceiveInput, StudyStore } from '../store/study-store.ts';
import { type InstanceKind, type InstanceRow, StoreError } from '../store/types.ts';
import { originalOrSetAside } from './read-original.ts';

/** The capture cannot become DICOM: it is set aside (quarantined) with this message as the reason. */
export class CaptureUnusable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CaptureUnusable';
  }
}

/** Not the capture's fault, and not now (the media worker is away): it stays captured for later. */
export class CaptureDeferred extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CaptureDeferred';
  }
}

/** What one kind of capture adds to the pipeline: how its original becomes a DICOM instance. */
export interface CaptureEncoder {
  readonly kind: InstanceKind;
  /** The capture in a reason: "cannot make DICOM of the still: …" when encoding fails. */
  readonly noun: string;
  /**
   * The DICOM instance of a captured row, from its original (already read and checked). Throws
   * CaptureUnusable or DicomEncodeError when the capture cannot be used, CaptureDeferred when
   * it cannot be done now.
   */
  encode(row: InstanceRow, original: Uint8Array): EncodedInstance | Promise<EncodedInstance>;
}

export type ProcessOutcome = 'queued' | 'quarantined' | 'deferred' | 'failed' | 'skipped';

/** Per kind of capture, since start: what was received, refused, queued and set aside. */
export interface CaptureCounters {
  received: number;
  duplicates: number;
  refused: number;
  queued: number;
  setAside: number;
}

export interface CapturePipelineOptions {
  store: StudyStore;
  bus: EventBus;
  log: Logger;
}

/**
 * Every capture's path from bytes to a queued DICOM instance, whatever its kind:
 * 1. `receive` makes the original durable (what the capture's acknowledgement waits for) or
 *    refuses it, telling the kiosk and the NOC;
 * 2. `process` reads the original back (setting aside one that is damaged or gone), has the kind's
 *    encoder make the DICOM, and has the store record and queue it; what cannot be used is set
 *    aside with the reason, never lost.
 * The store announces every state change itself (the uplink wakes on 'queued').
 *
 * INVARIANTS: one instance is processed by at most one run at a time (`busy`); an instance leaves
 * 'captured' only through the store's transitions, which refuse any other starting state.
 */
export class CapturePipeline {
  private readonly encoders = new Map<InstanceKind, CaptureEncoder>();
  private readonly busy = new Set<number>();
  private readonly tallies = new Map<InstanceKind, CaptureCounters>();

  constructor(private readonly options: CapturePipelineOptions) {}

  /** The part that captures a kind adds its encoder (one per kind). */
  register(encoder: CaptureEncoder): void {
    if (this.encoders.has(encoder.kind)) throw new Error(`a second encoder for ${encoder.kind}`);
    this.encoders.set(encoder.kind, encoder);
  }

  counters(kind: InstanceKind): CaptureCounters {
    let c = this.tallies.get(kind);
    if (!c) {
      c = { received: 0, duplicates: 0, refused: 0, queued: 0, setAside: 0 };
      this.tallies.set(kind, c);
    }
    return c;
  }

  /** Durable intake: the bytes are kept, or a StoreError says why not (and the NOC is told). */
  async receive(input: ReceiveInput): Promise<{ id: number; duplicate: boolean }> {
    const counters = this.counters(input.kind);
    try {
      const result = await this.options.store.receive(input);
      if (result.duplicate) counters.duplicates++;
      else counters.received++;
      return result;
    } catch (error) {
      counters.refused++;
      const reason = error instanceof StoreError ? error.message : String(error);
      this.options.log.error({ source: input.source, kind: input.kind, err: reason }, 'capture refused');
      this.options.bus.emit({ type: 'capture-refused', source: input.source, reason });
      throw error;
    }
  }

  /**
   * Makes a captured instance DICOM and queues it; sets it aside with the reason when it cannot.
   * Never rejects: callers fire it and forget. Whatever else goes wrong (the store closing under a
   * stopping daemon, a bug) leaves the instance captured, to be processed at the next start.
   */
  async process(id: number): Promise<ProcessOutcome> {
    if (this.busy.has(id)) return 'skipped';
    this.busy.add(id);
    try {
      return await this.processOnce(id);
    } catch (error) {
      this.options.log.error(
        { instance: id, err: error },
        'capture not processed: it stays saved and is tried again',
      );
      return 'failed';
    } finally {
      this.busy.delete(id);
    }
  }

  private async processOnce(id: number): Promise<ProcessOutcome> {
    const { store, log } = this.options;
    const row = store.get(id);
    const encoder = this.encoders.get(row.kind);
    if (row.state !== 'captured' || !encoder) return 'skipped';
    const counters = this.counters(row.kind);
    const original = await originalOrSetAside(this.options, row);
    if (!original) {
      counters.setAside++;
      return 'quarantined';
    }
    let encoded: EncodedInstance;
    try {
      encoded = await encoder.encode(row, original);
    } catch (error) {
      if (error instanceof CaptureDeferred) {
        log.warn({ instance: id, reason: error.message }, `${encoder.noun} waits`);
        return 'deferred';
      }
      const reason =
        error instanceof CaptureUnusable
          ? error.message
          : error instanceof DicomEncodeError
            ? `cannot make DICOM of the ${encoder.noun}: ${error.message}`
            : null;
      if (reason === null) {
        log.error(
          { instance: id, err: error },
          `${encoder.noun} not encoded: it stays saved and is tried again`,
        );
        return 'failed';
      }
      store.quarantine(id, 'undecodable', reason);
      counters.setAside++;
      log.warn({ instance: id, reason }, `${encoder.noun} set aside`);
      return 'quarantined';
    }
    await store.attachEncoded(id, encoded);
    store.enqueue(id);
    counters.queued++;
    return 'queued';
  }

  /** After a restart: every captured instance of these kinds processed, every encoded one queued. */
  async resume(kinds: readonly InstanceKind[]): Promise<void> {
    const { store } = this.options;
    for (const row of store.inState('captured')) if (kinds.includes(row.kind)) await this.process(row.id);
    for (const row of store.inState('encoded')) if (kinds.includes(row.kind)) store.enqueue(row.id);
  }
}
