import { readFileSync, statfsSync } from 'node:fs';
import type {
  CartItem,
  DisplayState,
  PatientItem,
  StatusResponse,
  StudyItem,
  VideoItem,
} from './api/types.ts';
import type { Config } from './config/schema.ts';
import type { CartSnapshot, Carts } from './devices/carts.ts';
import type { DeviceManager, SeenDevice } from './devices/device-manager.ts';
import type { Documents } from './documents/documents.ts';
import type { EventLoopMonitor } from './event-loop.ts';
import type { GpioPanel } from './gpio/panel.ts';
import type { PowerFailHandler } from './gpio/power.ts';
import type { EcgIngest } from './ingest/ecg-ingest.ts';
import type { Consultation } from './media/consultation.ts';
import type { EncoderSelector } from './media/encoder-selection.ts';
import type { MediaWorker } from './media/media-worker.ts';
import type { Recorder } from './media/recorder.ts';
import type { Notices } from './notices.ts';
import type { PatientDesk } from './patient/patient-desk.ts';
import { maskIdNumber, type PatientIdentity } from './patient/patient-identity.ts';
import type { DiskGuard } from './store/disk-guard.ts';
import type { StoreService } from './store/store-service.ts';
import type { StudyPatient } from './store/studies.ts';
import type { StudyStore } from './store/study-store.ts';
import type { InstanceState } from './store/types.ts';
import type { ConsultationStudies } from './study/consultation-studies.ts';
import type { MqttTelemetry } from './telemetry/mqtt-telemetry.ts';
import type { HealthPayload } from './telemetry/payloads.ts';
import type { Uplink } from './uplink/uplink.ts';
import { FIRMWARE_VERSION } from './version.ts';

export function displayState(state: InstanceState): DisplayState {
  switch (state) {
    case 'captured':
    case 'encoded':
      return 'saved';
    case 'queued':
    case 'delivering':
      return 'sending';
    case 'delivered':
    case 'purgeable':
      return 'delivered';
    case 'quarantined':
      return 'attention';
  }
}

const PRIORITY_NAMES = ['stat-ecg', 'ecg', 'still-document', 'video', 'log'];

/** The daemon's parts that status and health are built from (the Daemon itself is one). */
export interface StatusSources {
  config: Pick<Config, 'device' | 'dataDir'>;
  store: StudyStore;
  /** Start-up reconciliation's counts and the audit log's check at start. */
  storeService: StoreService;
  cartService: Carts;
  /** ID readers, barcode scanners and the patient identified (local API only: never in health). */
  desk: PatientDesk;
  panel: GpioPanel;
  power: PowerFailHandler;
  devices: DeviceManager;
  uplink: Uplink;
  ingest: EcgIngest;
  telemetry: MqttTelemetry;
  media: {
    worker: MediaWorker;
    encoders: EncoderSelector;
    consultation: Consultation;
    recorder: Recorder;
  } | null;
  studies: ConsultationStudies;
  documents: Documents;
  notices: Notices;
  disk: DiskGuard;
  eventLoop: EventLoopMonitor;
  readonly startedAt: number;
  now(): Date;
}

function startOfToday(now: Date): string {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

function cartItems(carts: CartSnapshot[]): CartItem[] {
  return carts.map((cart) => {
    const c = cart.counters;
    return {
      id: cart.id,
      state: cart.state,
      port: cart.port,
      problem: cart.problem,
      records: c.files,
      errors: c.crcErrors + c.sequenceErrors + c.timeouts + c.cancelledTransfers + c.failedDeliveries,
    };
  });
}

function patientItem(p: PatientIdentity | null): PatientItem | null {
  if (!p) return null;
  return {
    name: p.name,
    idNumberMasked: maskIdNumber(p.idNumber),
    sex: p.sex,
    birthDate: p.birthDate,
    source: p.source,
    verification: p.verification,
    at: p.at,
  };
}

/** What the kiosk shows: carts, today's studies with their delivery state, both data centres. */
export function buildStatus(s: StatusSources): StatusResponse {
  const now = s.now();
  const studies: StudyItem[] = s.store.recent(startOfToday(now)).map((row) => ({
    instanceId: row.id,
    kind: row.kind,
    receivedAt: row.received_at,
    patientName: row.patient_name,
    // Masked like the patient card: the kiosk never gets a whole resident ID number.
    patientId:
      row.patient_id !== null && /^\d{17}[\dX]$/i.test(row.patient_id)
        ? maskIdNumber(row.patient_id)
        : row.patient_id,
    state: row.state,
    display: displayState(row.state),
    segment: row.segment_index === null ? null : row.segment_index + 1,
    reasonCode: row.quarantine_code,
    contentSha256: row.content_sha256,
    reason: row.quarantine_reason,
    lastError: row.last_error,
    deliveredTo: s.store.deliveredTo(row.id).map((d) => d.dc),
  }));
  const counts = s.store.countByState();
  return {
    v: 1,
    device: { id: s.config.device.id, firmware: FIRMWARE_VERSION },
    at: now.toISOString(),
    carts: cartItems(s.cartService.snapshot()),
    idReaders: [...s.desk.idReaders.entries()].map(([id, reader]) => ({
      id,
      state: reader.state,
      port: reader.port,
      problem: reader.lastProblem,
      cardsRead: reader.counters.cardsRead,
    })),
    hidScanners: [...s.desk.scanners.entries()].map(([id, scanner]) => ({
      id,
      state: scanner.state,
      mode: scanner.mode,
      problem: scanner.lastProblem,
      scans: scanner.counters.scans,
    })),
    patient: patientItem(s.desk.patient),
    dataCentres: s.uplink.dataCentres().map((d) => ({
      id: d.id,
      name: d.name,
      state: d.state,
      home: d.home,
      active: d.active,
      delivered: d.delivered,
      lastError: d.lastError,
      lastSuccessAt: d.lastSuccessAt,
    })),
    studiesToday: studies,
    queueDepth: counts.captured + counts.encoded + counts.queued + counts.delivering,
    notices: s.notices.snapshot().slice(-20),
    telemetry: s.telemetry.state,
    video: s.media ? videoItem(s.media) : null,
    study: openStudyItem(s.studies),
    panel: panelItem(s.panel, s.power),
    usbDevices: s.devices.list().map(usbDeviceItem),
    scanner: s.documents.status(),
    storeRecovery: s.storeService.snapshot().recovery,
  };
}

function openStudyItem(studies: ConsultationStudies): StatusResponse['study'] {
  const open = studies.open();
  if (!open) return null;
  return { uid: open.uid, openedAt: open.openedAt, patient: studyPatientItem(open.patient, open.openedAt) };
}

function studyPatientItem(p: StudyPatient | null, at: string): PatientItem | null {
  if (!p) return null;
  return {
    name: p.name,
    idNumberMasked: maskIdNumber(p.id),
    sex: p.sex === 'M' || p.sex === 'F' ? p.sex : 'unknown',
    birthDate: p.birthDate ?? '',
    source: p.source,
    verification: p.verification,
    at,
  };
}

function videoItem(media: NonNullable<StatusSources['media']>): VideoItem {
  const encoder = media.encoders.status();
  return {
    worker: media.worker.state,
    encoderState: encoder.state,
    encoder: encoder.element,
    encoderKind: encoder.kind,
    fallbackReason: encoder.fallbackReason,
    camera: {
      state: media.consultation.state,
      name: media.consultation.camera,
      lastError: media.consultation.lastError,
      measured: media.consultation.measured,
      microphone: media.consultation.microphone,
    },
    live: {
      transport: media.consultation.liveOut.transport,
      state: media.consultation.liveOut.state,
      lastError: media.consultation.liveOut.lastError,
      bitrateKbps: media.consultation.liveOut.bitrate.current,
      resolution: media.consultation.size,
      rttMs: media.consultation.liveOut.bitrate.lastRttMs,
      lossPercent: Math.round(media.consultation.liveOut.bitrate.lastLoss * 1000) / 10,
    },
    recording: {
      state: media.recorder.state,
      recordingId: media.recorder.recordingId,
      segments: media.recorder.segments,
      lastError: media.recorder.lastError,
    },
  };
}

function temperature(): number | null {
  try {
    return Number(readFileSync('/sys/class/thermal/thermal_zone0/temp', 'utf8')) / 1000;
  } catch {
    return null;
  }
}

/** The periodic health payload for the NOC. Counts and states only: no patient data. */
export function buildHealth(s: StatusSources): HealthPayload {
  const now = s.now();
  const fs = statfsSync(s.config.dataDir);
  const queue = s.store.queueStats(now.getTime());
  const dcs = s.uplink.dataCentres();
  return {
    v: 1,
    at: now.toISOString(),
    historical: false,
    deviceId: s.config.device.id,
    versions: { firmware: FIRMWARE_VERSION, node: process.version },
    uptimeS: Math.round((now.getTime() - s.startedAt) / 1000),
    disk: {
      freeBytes: Number(fs.bavail) * Number(fs.bsize),
      totalBytes: Number(fs.blocks) * Number(fs.bsize),
      level: s.disk.level,
      warnFreeBytes: s.disk.options.config.warnFreeBytes,
      minFreeBytes: s.disk.options.config.minFreeBytes,
      ...s.disk.counters,
    },
    temperatureC: temperature(),
    eventLoop: s.eventLoop.snapshot(),
    devices: {
      ecgCarts: s.cartService.snapshot().map((cart) => ({ ...cart, counters: { ...cart.counters } })),
      idReaders: [...s.desk.idReaders.entries()].map(([id, reader]) => ({
        id,
        state: reader.state,
        port: reader.port,
        problem: reader.lastProblem,
        counters: { ...reader.counters },
      })),
      hidScanners: [...s.desk.scanners.entries()].map(([id, scanner]) => ({
        id,
        state: scanner.state,
        mode: scanner.mode,
        problem: scanner.lastProblem,
        counters: { ...scanner.counters },
      })),
      scanner: scannerHealth(s.documents),
      gpio: panelItem(s.panel, s.power),
      usb: s.devices.list().map(usbDeviceItem),
    },
    queue: {
      depth: queue.reduce((n, q) => n + q.depth, 0),
      oldestUndeliveredAgeS: queue.reduce((m, q) => Math.max(m, q.oldestAgeS), 0),
      byPriority: queue.map((q) => ({ ...q, name: PRIORITY_NAMES[q.priority] ?? `p${q.priority}` })),
    },
    instances: { ...s.store.countByState() },
    storeRecovery: s.storeService.snapshot().recovery,
    audit: { ...s.store.audit.head(), chainBroken: s.storeService.snapshot().audit?.broken ?? null },
    uplinkFlow: s.uplink.flow(),
    encryption: {
      mode: s.store.atRest.mode,
      keyStore: s.store.dataKey?.keyStore ?? null,
      keyFingerprint: s.store.dataKey?.fingerprint ?? null,
    },
    uplink: Object.fromEntries(
      dcs.map((d) => [
        d.id,
        {
          name: d.name,
          state: d.state,
          home: d.home,
          active: d.active,
          consecutiveFailures: d.consecutiveFailures,
          delivered: d.delivered,
          probes: d.probes,
          probeFailures: d.probeFailures,
          lastSuccessAt: d.lastSuccessAt,
          lastError: d.lastError,
        },
      ]),
    ),
    /** Moves of new uploads away from the home data centre, and back. */
    uplinkSwitches: { ...s.uplink.counters },
    ingest: { ...s.ingest.counters },
    telemetry: { state: s.telemetry.state, counters: { ...s.telemetry.counters } },
    encoder: s.media?.encoders.status().element ?? null,
    media: s.media
      ? {
          worker: s.media.worker.state,
          gstVersion: s.media.worker.gstVersion,
          counters: { ...s.media.worker.counters },
          encoder: s.media.encoders.status(),
          camera: {
            state: s.media.consultation.state,
            name: s.media.consultation.camera,
            lastError: s.media.consultation.lastError,
            counters: { ...s.media.consultation.counters },
            microphone: s.media.consultation.microphone,
            audioEncoder: s.media.encoders.audioEncoder?.element ?? null,
          },
          encoderOutput: s.media.consultation.measured,
          live: {
            state: s.media.consultation.liveOut.state,
            lastError: s.media.consultation.liveOut.lastError,
            counters: { ...s.media.consultation.liveOut.counters },
            bitrateKbps: s.media.consultation.liveOut.bitrate.current,
            resolution: s.media.consultation.size,
            bitrateSteps: { ...s.media.consultation.liveOut.bitrate.counters },
            rttMs: s.media.consultation.liveOut.bitrate.lastRttMs,
          },
          recording: { state: s.media.recorder.state, segments: s.media.recorder.segments },
        }
      : null,
  };
}

function scannerHealth(documents: Documents): HealthPayload['devices']['scanner'] {
  const status = documents.status();
  if (!status.enabled) return null;
  return {
    state: status.state,
    device: status.device ? `${status.device.vendor} ${status.device.model}` : null,
    problem: status.problem,
    job: status.job,
    counters: { ...status.counters },
  };
}

/** GPIO lines, what the LED shows, the door and the mains power (kiosk and health alike: no patient data). */
function panelItem(panel: GpioPanel, power: PowerFailHandler): StatusResponse['panel'] {
  return {
    lines: [...panel.lines.entries()].map(([name, l]) => ({
      name,
      state: l.state,
      line: l.line,
      problem: l.problem,
    })),
    led: panel.ledPattern,
    doorOpen: panel.doorOpen,
    power: power.state,
    lastPowerFailFlushedMs: power.lastFlushedMs,
    counters: { ...panel.counters },
  };
}

/** A USB device as the kiosk and the NOC see it (model, presence, counters; no patient data). */
function usbDeviceItem(d: SeenDevice): StatusResponse['usbDevices'][number] {
  return {
    kind: d.kind,
    name: d.name,
    vendorId: d.vendorId,
    productId: d.productId,
    serialNumber: d.serialNumber,
    nodes: d.nodes,
    present: d.present,
    lastSeen: d.lastSeen,
    arrivals: d.arrivals,
    departures: d.departures,
  };
}
