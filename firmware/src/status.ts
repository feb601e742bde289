import type {
  CartItem,
  DisplayState,
  PatientItem,
  ScannerItem,
  StatusResponse,
  StudyItem,
  VideoItem,
} from './api/types.ts';
import type { BoardSensors } from './board.ts';
import type { CallSnapshot } from './call/call-service.ts';
import type { Config } from './config/schema.ts';
import type { CartSnapshot, Carts } from './devices/carts.ts';
import type { DeviceManager, SeenDevice } from './devices/device-manager.ts';
import type { Documents } from './documents/documents.ts';
import type { EventLoopMonitor } from './event-loop.ts';
import type { GpioPanel } from './gpio/panel.ts';
import type { PowerFailHandler } from './gpio/power.ts';
import type { EcgIngest } from './ingest/ecg-ingest.ts';
import type { MediaSnapshot } from './media/media-service.ts';
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
  media: { snapshot(): MediaSnapshot; call: { configured: boolean; snapshot(): CallSnapshot } } | null;
  studies: ConsultationStudies;
  documents: Documents;
  notices: Notices;
  disk: DiskGuard;
  board: BoardSensors;
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
  const desk = s.desk.snapshot();
  return {
    v: 1,
    device: { id: s.config.device.id, firmware: FIRMWARE_VERSION },
    at: now.toISOString(),
    carts: cartItems(s.cartService.snapshot()),
    idReaders: desk.idReaders.map(({ counters, ...reader }) => ({
      ...reader,
      cardsRead: counters.cardsRead,
    })),
    hidScanners: desk.hidScanners.map(({ counters, ...scanner }) => ({ ...scanner, scans: counters.scans })),
    patient: patientItem(desk.patient),
    dataCentres: s.uplink.snapshot().dataCentres.map((d) => ({
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
    telemetry: s.telemetry.snapshot().state,
    video: s.media ? videoItem(s.media.snapshot()) : null,
    study: openStudyItem(s.studies),
    panel: panelItem(s.panel.snapshot(), s.power.snapshot()),
    usbDevices: s.devices.snapshot().map(usbDeviceItem),
    call: s.media?.call.configured ? s.media.call.snapshot() : null,
    scanner: s.documents.snapshot(),
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

function videoItem(m: MediaSnapshot): VideoItem {
  return {
    worker: m.worker.state,
    encoderState: m.encoder.state,
    encoder: m.encoder.element,
    encoderKind: m.encoder.kind,
    fallbackReason: m.encoder.fallbackReason,
    camera: {
      state: m.camera.state,
      name: m.camera.name,
      active: m.camera.active,
      available: m.camera.available,
      documentCamera: m.camera.documentCamera,
      lastError: m.camera.lastError,
      measured: m.camera.measured,
      microphone: m.camera.microphone,
    },
    live: {
      transport: m.live.transport,
      state: m.live.state,
      lastError: m.live.lastError,
      bitrateKbps: m.live.bitrateKbps,
      resolution: m.live.resolution,
      rttMs: m.live.rttMs,
      lossPercent: m.live.lossPercent,
    },
    recording: m.recording,
  };
}

function mediaHealth(m: MediaSnapshot): NonNullable<HealthPayload['media']> {
  return {
    worker: m.worker.state,
    gstVersion: m.worker.gstVersion,
    counters: m.worker.counters,
    encoder: m.encoder,
    camera: {
      state: m.camera.state,
      name: m.camera.name,
      active: m.camera.active,
      lastError: m.camera.lastError,
      counters: m.camera.counters,
      microphone: m.camera.microphone,
      audioEncoder: m.audioEncoder,
    },
    encoderOutput: m.camera.measured,
    live: {
      state: m.live.state,
      lastError: m.live.lastError,
      counters: m.live.counters,
      bitrateKbps: m.live.bitrateKbps,
      resolution: m.live.resolution,
      bitrateSteps: m.live.bitrateSteps,
      rttMs: m.live.rttMs,
    },
    recording: { state: m.recording.state, segments: m.recording.segments },
  };
}

/** The call for the NOC: states and counts, the far end's display name left out. */
function callHealth(c: CallSnapshot): NonNullable<HealthPayload['call']> {
  const r = c.received;
  return {
    state: c.state,
    server: c.server,
    farEnd: c.remote !== null,
    received: r
      ? {
          framesRendered: r.framesRendered,
          framesDropped: r.framesDropped,
          fps: r.fps,
          width: r.width,
          height: r.height,
          audioSeconds: Math.round(r.audioSeconds * 10) / 10,
          freezes: r.freezes,
        }
      : null,
    link: c.link,
    echoControl: c.echoControl,
    picture: c.picture,
    counters: c.counters,
  };
}

/** The periodic health payload for the NOC. Counts and states only: no patient data. */
export function buildHealth(s: StatusSources): HealthPayload {
  const now = s.now();
  const queue = s.store.queueStats(now.getTime());
  const uplink = s.uplink.snapshot();
  const media = s.media?.snapshot() ?? null;
  const desk = s.desk.snapshot();
  const telemetry = s.telemetry.snapshot();
  const store = s.storeService.snapshot();
  return {
    v: 1,
    at: now.toISOString(),
    historical: false,
    deviceId: s.config.device.id,
    versions: { firmware: FIRMWARE_VERSION, node: process.version },
    uptimeS: Math.round((now.getTime() - s.startedAt) / 1000),
    disk: s.disk.snapshot(),
    temperatureC: s.board.snapshot().temperatureC,
    eventLoop: s.eventLoop.snapshot(),
    devices: {
      ecgCarts: s.cartService.snapshot().map((cart) => ({ ...cart, counters: { ...cart.counters } })),
      idReaders: desk.idReaders,
      hidScanners: desk.hidScanners,
      scanner: scannerHealth(s.documents.snapshot()),
      gpio: panelItem(s.panel.snapshot(), s.power.snapshot()),
      usb: s.devices.snapshot().map(usbDeviceItem),
    },
    queue: {
      depth: queue.reduce((n, q) => n + q.depth, 0),
      oldestUndeliveredAgeS: queue.reduce((m, q) => Math.max(m, q.oldestAgeS), 0),
      byPriority: queue.map((q) => ({ ...q, name: PRIORITY_NAMES[q.priority] ?? `p${q.priority}` })),
    },
    instances: store.instances,
    storeRecovery: store.recovery,
    audit: store.audit,
    uplinkFlow: uplink.flow,
    encryption: store.encryption,
    uplink: Object.fromEntries(
      uplink.dataCentres.map((d) => [
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
    uplinkSwitches: uplink.switches,
    ingest: { ...s.ingest.snapshot() },
    telemetry: { state: telemetry.state, counters: telemetry.counters },
    encoder: media?.encoder.element ?? null,
    media: media ? mediaHealth(media) : null,
    call: s.media?.call.configured ? callHealth(s.media.call.snapshot()) : null,
  };
}

function scannerHealth(status: ScannerItem): HealthPayload['devices']['scanner'] {
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
function panelItem(
  panel: ReturnType<GpioPanel['snapshot']>,
  power: ReturnType<PowerFailHandler['snapshot']>,
): StatusResponse['panel'] {
  return {
    lines: panel.lines,
    led: panel.led,
    doorOpen: panel.doorOpen,
    power: power.state,
    lastPowerFailFlushedMs: power.lastFlushedMs,
    counters: panel.counters,
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
