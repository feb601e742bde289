import type { CartLinkState, IdReaderState, ScannerState } from '#device-drivers';
import type { ScannerDeviceState } from './documents/document-scanner.ts';
import type { InstanceState } from './store/types.ts';
import type { BrokerLinkState } from './telemetry/mqtt-telemetry.ts';
import type { DataCentreId, DcLinkState } from './uplink/uplink.ts';

/** Everything the daemon's parts tell each other; the kiosk and telemetry listen here. No patient data. */
export type DaemonEvent =
  | { type: 'cart-state'; cartId: string; state: CartLinkState; detail: string | null }
  | { type: 'cart-problem'; cartId: string; message: string }
  | { type: 'instance'; instanceId: number; state: InstanceState; reason: string | null }
  | { type: 'capture-refused'; source: string; reason: string }
  | {
      type: 'dc-state';
      dc: DataCentreId;
      state: DcLinkState;
      /** 'unknown' → 'up' is the first answer after start, not a return. */
      previous: DcLinkState;
      reason: string | null;
    }
  | { type: 'telemetry-state'; state: BrokerLinkState }
  /** The consultation camera went away mid-use (unplugged, failed), or is usable again. */
  | {
      type: 'camera';
      state: 'lost' | 'back';
      detail: string | null;
      /** Why video stopped: the camera itself, the encoder, or the media worker. */
      cause?: 'camera' | 'encoder' | 'worker';
    }
  /** A recording stopped by the terminal itself to protect the disk; what it made is kept. */
  | { type: 'recording-stopped'; reason: string }
  | { type: 'id-reader-state'; readerId: string; state: IdReaderState; detail: string | null }
  | { type: 'id-reader-problem'; readerId: string; message: string }
  /**
   * A patient identified (the identity itself is in the daemon, never in an event: events reach
   * the NOC), or a card refused with reasons that carry no personal data.
   */
  | {
      type: 'patient';
      state: 'identified' | 'refused';
      source: 'id-card' | 'qr' | 'manual';
      /** The reader or scanner it came from, or 'kiosk'. */
      device: string;
      problems: string[];
    }
  /** An ECG whose cart names another patient than the open study's: kept apart, to be checked. */
  | { type: 'ecg-patient-mismatch'; instanceId: number }
  /** The call-for-help button: a press calls the province, a long press cancels the call. */
  | { type: 'call-button'; kind: 'call' | 'cancel' }
  | { type: 'tamper'; state: 'opened' | 'closed' }
  /** Mains power (from the UPS input): failing at once, flushed when writes are done, restored. */
  | { type: 'power'; state: 'failing' | 'flushed' | 'restored'; flushedMs: number | null }
  | { type: 'gpio-problem'; line: string; message: string }
  | { type: 'hid-scanner-state'; scannerId: string; state: ScannerState; detail: string | null }
  | { type: 'hid-scanner-problem'; scannerId: string; message: string }
  /** The consultation study opened or closed; whether it has a patient, never who. */
  | { type: 'study'; state: 'opened' | 'closed'; withPatient: boolean }
  | { type: 'scanner-state'; state: ScannerDeviceState; device: string | null; detail: string | null }
  | { type: 'scanner-problem'; message: string }
  /**
   * The data partition's free space crossed a level: 'low' (below storage.warnFreeBytes: logs
   * trimmed, delivered copies removed early), 'full' (below the reserve: captures refused), 'ok'.
   */
  | {
      type: 'disk-state';
      level: 'ok' | 'low' | 'full';
      previous: 'ok' | 'low' | 'full';
      freeBytes: number;
      warnFreeBytes: number;
      minFreeBytes: number;
    }
  /**
   * The store's own trouble: a damaged or missing file found before an upload or at start-up, files
   * reconciled after a crash, or SQLite's integrity check failing.
   */
  | {
      type: 'store-problem';
      code: 'corrupted' | 'missing-file' | 'recovered' | 'integrity' | 'audit';
      message: string;
      instanceId: number | null;
    }
  /** A USB serial port, HID node or document scanner arrived: drivers still searching look now. */
  | { type: 'usb-arrival'; kind: 'tty' | 'hidraw' | 'document-scanner' }
  /** The UPS input settled: mains failing or back (the power handler acts on it). */
  | { type: 'power-input'; failing: boolean }
  /** Consultation video went live or stopped being live (uploads yield while it is). */
  | { type: 'consultation'; live: boolean }
  /** A two-way call began (in a room on a data centre's media server) or ended; no patient data. */
  | { type: 'call'; event: 'started' | 'ended'; server: 'A' | 'B' | null; reason: string | null }
  /** Something the kiosk shows changed in this part (nothing for the NOC). */
  | { type: 'changed'; part: string };

export type Listener = (event: DaemonEvent) => void;
export type DaemonEventType = DaemonEvent['type'];
export type EventOf<T extends DaemonEventType> = Extract<DaemonEvent, { type: T }>;

/**
 * The daemon's typed event bus. Listeners are keyed by their owner (the part that subscribed), so
 * a part that stops removes all of its own with `off(owner)`. A listener's error is caught and
 * reported, never thrown into the emitter.
 */
export class EventBus {
  private readonly listeners = new Map<string, Array<{ type: DaemonEventType | null; listener: Listener }>>();

  constructor(private readonly onListenerError: (error: unknown, owner: string) => void) {}

  /** Every event, for `owner`. */
  on(owner: string, listener: Listener): void;
  /** Events of one type, for `owner`. */
  on<T extends DaemonEventType>(owner: string, type: T, listener: (event: EventOf<T>) => void): void;
  on(owner: string, a: DaemonEventType | Listener, b?: (event: never) => void): void {
    const entry =
      typeof a === 'function' ? { type: null, listener: a } : { type: a, listener: b as unknown as Listener };
    const list = this.listeners.get(owner) ?? [];
    list.push(entry);
    this.listeners.set(owner, list);
  }

  /** Removes every listener `owner` added. */
  off(owner: string): void {
    this.listeners.delete(owner);
  }

  /** Owners with listeners now (for tests and the status page's diagnostics). */
  owners(): string[] {
    return [...this.listeners.keys()];
  }

  emit(event: DaemonEvent): void {
    for (const [owner, list] of [...this.listeners]) {
      for (const { type, listener } of list) {
        if (type !== null && type !== event.type) continue;
        try {
          listener(event);
        } catch (error) {
          this.onListenerError(error, owner);
        }
      }
    }
  }
}
