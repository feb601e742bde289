import type { Logger } from 'pino';
import {
  BarcodeScanner,
  type HidOpener,
  HidRelayOpener,
  IdCardReader,
  NodeHidOpener,
  type SerialOpener,
} from '#device-drivers';
import type { Config, HidScannerConfig } from '../config/schema.ts';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import type { StudyPatient } from '../store/studies.ts';
import type { ConsultationStudies } from '../study/consultation-studies.ts';
import { type IdentityResult, identityFromCard, type PatientIdentity } from './patient-identity.ts';
import { identityFromScan } from './patient-label.ts';

export interface PatientDeskOptions {
  config: Config;
  serialOpener: SerialOpener;
  /** The HID transport for a scanner (default: its relay socket if configured, else node-hid). */
  hidOpener?: (scanner: HidScannerConfig) => HidOpener;
  studies: Pick<ConsultationStudies, 'openFor' | 'close'>;
  bus: EventBus;
  log: Logger;
  now: () => Date;
}

const studyPatient = (p: PatientIdentity): StudyPatient => ({
  id: p.idNumber,
  name: p.name,
  sex: p.sex === 'unknown' ? null : p.sex,
  birthDate: p.birthDate,
  source: p.source,
  verification: p.verification,
});

/**
 * Who the patient is: resident ID card readers, barcode/QR scanners and the kiosk's manual entry
 * all end here, as one {@link PatientIdentity}; an identified patient gets their study opened
 * (captures then go into it). Identities stay on the terminal: events say only that a patient was
 * identified, never who.
 */
export type DeskSnapshot = ReturnType<PatientDesk['snapshot']>;

export class PatientDesk implements Service {
  readonly name = 'patient-desk';
  readonly idReaders = new Map<string, IdCardReader>();
  readonly scanners = new Map<string, BarcodeScanner>();
  /** The patient last identified at this terminal (memory only; the study keeps what it needs). */
  patient: PatientIdentity | null = null;

  constructor(private readonly options: PatientDeskOptions) {
    const { config, bus } = options;
    for (const reader of config.idReaders) {
      this.idReaders.set(
        reader.id,
        new IdCardReader({
          identity: reader.identity,
          baudRate: reader.baudRate,
          opener: options.serialOpener,
          onCard: (card) => this.identify(identityFromCard(card, options.now()), 'id-card', reader.id),
          onState: (state, detail) =>
            bus.emit({ type: 'id-reader-state', readerId: reader.id, state, detail }),
          onProblem: (message) => bus.emit({ type: 'id-reader-problem', readerId: reader.id, message }),
        }),
      );
    }
    const hidOpener =
      options.hidOpener ??
      ((s: HidScannerConfig) => (s.relaySocket ? new HidRelayOpener(s.relaySocket) : new NodeHidOpener()));
    for (const scanner of config.hidScanners) {
      this.scanners.set(
        scanner.id,
        new BarcodeScanner({
          identity: scanner.identity,
          mode: scanner.mode,
          opener: hidOpener(scanner),
          onScan: (scan) => this.identify(identityFromScan(scan.text, options.now()), 'qr', scanner.id),
          onState: (state, detail) =>
            bus.emit({ type: 'hid-scanner-state', scannerId: scanner.id, state, detail }),
          onProblem: (message) => bus.emit({ type: 'hid-scanner-problem', scannerId: scanner.id, message }),
        }),
      );
    }
  }

  start(): void {
    // A serial port or HID node arriving: the readers and scanners still looking look now.
    this.options.bus.on(this.name, 'usb-arrival', (event) => {
      if (event.kind === 'tty')
        for (const reader of this.idReaders.values()) if (reader.state === 'searching') reader.kick();
      if (event.kind === 'hidraw')
        for (const scanner of this.scanners.values()) if (scanner.state === 'searching') scanner.kick();
    });
    for (const reader of this.idReaders.values()) reader.start();
    for (const scanner of this.scanners.values()) scanner.start();
  }

  /** The readers and scanners, and the patient identified (the kiosk's, never the NOC's: status.ts). */
  snapshot() {
    return {
      idReaders: [...this.idReaders.entries()].map(([id, reader]) => ({
        id,
        state: reader.state,
        port: reader.port,
        problem: reader.lastProblem,
        counters: { ...reader.counters },
      })),
      hidScanners: [...this.scanners.entries()].map(([id, scanner]) => ({
        id,
        state: scanner.state,
        mode: scanner.mode,
        problem: scanner.lastProblem,
        counters: { ...scanner.counters },
      })),
      patient: this.patient,
    };
  }

  async stop(): Promise<void> {
    this.options.bus.off(this.name);
    await Promise.all([...this.idReaders.values()].map((r) => r.stop()));
    await Promise.all([...this.scanners.values()].map((s) => s.stop()));
  }

  /** An identity from any source: kept, and the patient's study opened. Refusals are told. */
  identify(result: IdentityResult, source: PatientIdentity['source'], device: string): IdentityResult {
    const { bus, log, studies } = this.options;
    if (result.ok) {
      this.patient = result.identity;
      studies.openFor(studyPatient(result.identity));
      log.info({ source, device }, 'patient identified; their study is open');
    } else {
      log.warn({ source, device, problems: result.problems }, 'identity refused');
    }
    bus.emit({
      type: 'patient',
      state: result.ok ? 'identified' : 'refused',
      source,
      device,
      problems: result.ok ? [] : result.problems,
    });
    return result;
  }

  /** The patient leaves: their study is closed; the next capture opens a new one. */
  closeStudy(): boolean {
    const closed = this.options.studies.close();
    this.patient = null;
    return closed !== null;
  }
}
