/**
 * The local API's JSON shapes, shared with the kiosk renderer (which imports types only).
 * Version: /api/v1. Patient names appear here because the kiosk shows them to clinic staff on the
 * terminal itself; nothing of this leaves the terminal.
 */
export type DisplayState = 'saved' | 'sending' | 'delivered' | 'attention';

export interface StudyItem {
  instanceId: number;
  kind: 'ecg' | 'video' | 'still' | 'document';
  /** Video: the segment's number in its recording (1-based); null otherwise. */
  segment: number | null;
  receivedAt: string;
  patientName: string | null;
  patientId: string | null;
  state: string;
  display: DisplayState;
  /** Why the item needs attention (kiosk shows staff what to do); null unless quarantined. */
  reasonCode: 'incomplete-transfer' | 'undecodable' | 'rejected-by-dc' | 'corrupted' | 'missing-file' | null;
  /** The technical reason, for the technician. */
  reason: string | null;
  lastError: string | null;
  deliveredTo: Array<'A' | 'B'>;
  /** SHA-256 of the capture as received (the cart's file, the JPEG, the PDF, the segment). */
  contentSha256: string;
}

export interface CartItem {
  id: string;
  state: 'searching' | 'opening' | 'connected' | 'receiving' | 'stopped';
  port: string | null;
  problem: string | null;
  records: number;
  errors: number;
}

export interface IdReaderItem {
  id: string;
  state: 'searching' | 'opening' | 'connected' | 'reading' | 'stopped';
  port: string | null;
  problem: string | null;
  cardsRead: number;
}

export interface HidScannerItem {
  id: string;
  state: 'searching' | 'connected' | 'stopped';
  /** The mode of the interface in use: keyboard wedge or HID POS. */
  mode: 'wedge' | 'pos' | null;
  problem: string | null;
  scans: number;
}

export interface PatientItem {
  name: string;
  /** First and last four characters; the kiosk never gets the whole number. */
  idNumberMasked: string;
  sex: 'M' | 'F' | 'unknown';
  birthDate: string;
  source: 'id-card' | 'qr' | 'manual';
  /** 'unverified' until the province confirms the identity. */
  verification: 'unverified' | 'verified';
  at: string;
}

export interface DataCentreItem {
  id: 'A' | 'B';
  name: string;
  state: 'unknown' | 'up' | 'down';
  home: boolean;
  /** New uploads go here now (home, or the other while home is down). */
  active: boolean;
  delivered: number;
  lastError: string | null;
  lastSuccessAt: string | null;
}

export interface Notice {
  at: string;
  level: 'info' | 'warning' | 'error';
  code: string;
  message: string;
}

export interface StoreRecoveryItem {
  /** SQLite's quick_check: 'ok' or what it found. */
  integrity: string;
  requeued: number;
  tempFilesRemoved: number;
  orphanFiles: number;
  missingFiles: number;
  purgesFinished: number;
}

export interface StatusResponse {
  v: 1;
  device: { id: string; firmware: string };
  at: string;
  carts: CartItem[];
  idReaders: IdReaderItem[];
  hidScanners: HidScannerItem[];
  /** The patient identified at this terminal for the next study, or null. */
  patient: PatientItem | null;
  dataCentres: DataCentreItem[];
  studiesToday: StudyItem[];
  queueDepth: number;
  notices: Notice[];
  telemetry: 'connecting' | 'online' | 'offline' | 'stopped';
  /** Null when the terminal runs without video (media.enabled false). */
  video: VideoItem | null;
  /** The consultation study open now (captures go into it), or null. */
  study: OpenStudyItem | null;
  scanner: ScannerItem;
  /** What start-up reconciliation of the store found after the last restart (null before it ran). */
  storeRecovery: StoreRecoveryItem | null;
  panel: PanelItem;
  /** USB devices seen since start (udev), present or gone. */
  usbDevices: UsbDeviceItem[];
}

export interface UsbDeviceItem {
  kind: 'usb-serial' | 'barcode-scanner' | 'document-scanner' | 'camera' | 'id-reader' | 'unknown';
  name: string;
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  /** Its ports now (/dev/ttyUSB1 after a renumbering). */
  nodes: string[];
  present: boolean;
  lastSeen: string;
  arrivals: number;
  departures: number;
}

/** The front panel: GPIO lines, the status LED's pattern, the cabinet door, mains power. */
export interface PanelItem {
  lines: Array<{
    name: 'callButton' | 'statusLed' | 'tamper' | 'powerFail';
    /** 'absent': not configured on this board; 'failed': configured but could not be opened. */
    state: 'absent' | 'ready' | 'failed';
    line: number | null;
    problem: string | null;
  }>;
  led: 'off' | 'ready' | 'recording' | 'uploading' | 'fault' | 'power-fail';
  doorOpen: boolean | null;
  /** 'failing' while writes finish, 'flushed' once the store is safe, until power returns. */
  power: 'normal' | 'failing' | 'flushed';
  lastPowerFailFlushedMs: number | null;
  counters: {
    presses: number;
    longPresses: number;
    tamperOpened: number;
    powerFails: number;
    ioErrors: number;
  };
}

export interface OpenStudyItem {
  uid: string;
  openedAt: string;
  /** The study's patient as the kiosk shows it (masked ID), or null: no patient identified. */
  patient: PatientItem | null;
}

/** The document scanner and the document being scanned (the draft, before it is sent). */
export interface ScannerItem {
  enabled: boolean;
  /** 'absent': SANE lists no scanner; 'failed': SANE itself could not be asked. */
  state: 'unknown' | 'absent' | 'ready' | 'failed';
  device: { name: string; vendor: string; model: string } | null;
  problem: string | null;
  /** The scanner has a document feeder (a stack of pages in one scan). */
  feeder: boolean;
  job: 'idle' | 'scanning' | 'cancelling' | 'sending';
  /** While scanning: the page being scanned (1-based), its progress 0..1, pages finished. */
  progress: { page: number; fraction: number; pagesDone: number } | null;
  /** The draft document's pages, in order. */
  pages: Array<{ id: string; number: number; width: number; height: number; dpi: number; preview: string }>;
  lastError: string | null;
  counters: {
    scans: number;
    pages: number;
    failures: number;
    cancelled: number;
    rejectedPages: number;
    documentsSent: number;
    /** Not saved (storage low, power failing); the draft was kept. */
    documentsRefused: number;
    documentsQuarantined: number;
  };
}

export interface VideoItem {
  worker: 'starting' | 'ready' | 'restarting' | 'stopped';
  /** 'unknown' until the encoder was chosen; 'none' when no encoder works. */
  encoderState: 'unknown' | 'ready' | 'none';
  encoder: string | null;
  encoderKind: 'hardware' | 'software' | null;
  /** Set when the terminal is not on its best encoder (e.g. hardware failed): say so to staff. */
  fallbackReason: string | null;
  /** The consultation camera: 'live' while it runs (live out, preview, stills), with or without a recording. */
  camera: {
    /** 'waiting': unplugged while in use; the video resumes by itself when it is plugged in again. */
    state: 'off' | 'starting' | 'live' | 'stopping' | 'waiting';
    /** The camera in use (the device's name, or 'rig test camera'). */
    name: string | null;
    /** Why it last stopped or failed to start, in words staff can act on. */
    lastError: string | null;
    /** Measured at the encoder's output over the last second while it runs. */
    measured: { fps: number; kbps: number } | null;
    /** The microphone sent and recorded with the video (AAC), or null: video without sound. */
    microphone: string | null;
  };
  /** Live video to the province's media server while the camera runs. */
  live: {
    transport: 'none' | 'srt' | 'rtp';
    state: 'off' | 'connecting' | 'live' | 'retrying';
    /** Why the last attempt failed (unreachable, refused), while retrying. */
    lastError: string | null;
    /** The encoder rate adapted to the link (the configured rate until the link says otherwise). */
    bitrateKbps: number;
    /** The picture size encoded now: smaller rungs on a weak link, held while recording. */
    resolution: { width: number; height: number };
    /** SRT's round-trip time and the share of packets resent in the last second. */
    rttMs: number | null;
    lossPercent: number;
  };
  recording: {
    state: 'idle' | 'recording' | 'finishing';
    recordingId: number | null;
    /** Segments closed so far in the current (or last) recording. */
    segments: number;
    lastError: string | null;
  };
}

export type ServerMessage = { type: 'status'; status: StatusResponse };
