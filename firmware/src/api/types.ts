import { type Static, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';

/**
 * The local API's JSON shapes, shared with the kiosk renderer (which imports types only). Each is
 * a TypeBox schema and the type derived from it: the API checks what it answers against them
 * (api/server.ts). Version: /api/v1. Patient names appear here because the kiosk shows them to
 * clinic staff on the terminal itself; nothing of this leaves the terminal.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
type Literals<T extends string[]> = { [K in keyof T]: TLiteral<T[K]> };
/** A union of string literals, typed as such. */
const OneOf = <const T extends string[]>(
  ...values: T
): TUnion<Literals<T> extends TSchema[] ? Literals<T> : never> =>
  Type.Union(values.map((v) => Type.Literal(v))) as never;

export const DisplayState = OneOf('saved', 'sending', 'delivered', 'attention');
export type DisplayState = Static<typeof DisplayState>;

export const StudyItem = Type.Object({
  instanceId: Type.Integer(),
  kind: OneOf('ecg', 'video', 'still', 'document'),
  /** Video: the segment's number in its recording (1-based); null otherwise. */
  segment: Nullable(Type.Integer()),
  receivedAt: Type.String(),
  patientName: Nullable(Type.String()),
  patientId: Nullable(Type.String()),
  state: Type.String(),
  display: DisplayState,
  /** Why the item needs attention (kiosk shows staff what to do); null unless quarantined. */
  reasonCode: Nullable(
    OneOf('incomplete-transfer', 'undecodable', 'rejected-by-dc', 'corrupted', 'missing-file'),
  ),
  /** The technical reason, for the technician. */
  reason: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
  deliveredTo: Type.Array(OneOf('A', 'B')),
  /** SHA-256 of the capture as received (the cart's file, the JPEG, the PDF, the segment). */
  contentSha256: Type.String(),
});
export type StudyItem = Static<typeof StudyItem>;

export const CartItem = Type.Object({
  id: Type.String(),
  state: OneOf('searching', 'opening', 'connected', 'receiving', 'stopped'),
  port: Nullable(Type.String()),
  problem: Nullable(Type.String()),
  records: Type.Integer(),
  errors: Type.Integer(),
});
export type CartItem = Static<typeof CartItem>;

export const IdReaderItem = Type.Object({
  id: Type.String(),
  state: OneOf('searching', 'opening', 'connected', 'reading', 'stopped'),
  port: Nullable(Type.String()),
  problem: Nullable(Type.String()),
  cardsRead: Type.Integer(),
});
export type IdReaderItem = Static<typeof IdReaderItem>;

export const HidScannerItem = Type.Object({
  id: Type.String(),
  state: OneOf('searching', 'connected', 'stopped'),
  /** The mode of the interface in use: keyboard wedge or HID POS. */
  mode: Nullable(OneOf('wedge', 'pos')),
  problem: Nullable(Type.String()),
  scans: Type.Integer(),
});
export type HidScannerItem = Static<typeof HidScannerItem>;

export const PatientItem = Type.Object({
  name: Type.String(),
  /** First and last four characters; the kiosk never gets the whole number. */
  idNumberMasked: Type.String(),
  sex: OneOf('M', 'F', 'unknown'),
  birthDate: Type.String(),
  source: OneOf('id-card', 'qr', 'manual'),
  /** 'unverified' until the province confirms the identity. */
  verification: OneOf('unverified', 'verified'),
  at: Type.String(),
});
export type PatientItem = Static<typeof PatientItem>;

export const DataCentreItem = Type.Object({
  id: OneOf('A', 'B'),
  name: Type.String(),
  state: OneOf('unknown', 'up', 'down'),
  home: Type.Boolean(),
  /** New uploads go here now (home, or the other while home is down). */
  active: Type.Boolean(),
  delivered: Type.Integer(),
  lastError: Nullable(Type.String()),
  lastSuccessAt: Nullable(Type.String()),
});
export type DataCentreItem = Static<typeof DataCentreItem>;

export const Notice = Type.Object({
  at: Type.String(),
  level: OneOf('info', 'warning', 'error'),
  code: Type.String(),
  message: Type.String(),
});
export type Notice = Static<typeof Notice>;

export const StoreRecoveryItem = Type.Object({
  /** SQLite's quick_check: 'ok' or what it found. */
  integrity: Type.String(),
  requeued: Type.Integer(),
  tempFilesRemoved: Type.Integer(),
  orphanFiles: Type.Integer(),
  missingFiles: Type.Integer(),
  purgesFinished: Type.Integer(),
});
export type StoreRecoveryItem = Static<typeof StoreRecoveryItem>;

export const UsbDeviceItem = Type.Object({
  kind: OneOf('usb-serial', 'barcode-scanner', 'document-scanner', 'camera', 'id-reader', 'unknown'),
  name: Type.String(),
  vendorId: Nullable(Type.String()),
  productId: Nullable(Type.String()),
  serialNumber: Nullable(Type.String()),
  /** Its ports now (/dev/ttyUSB1 after a renumbering). */
  nodes: Type.Array(Type.String()),
  present: Type.Boolean(),
  lastSeen: Type.String(),
  arrivals: Type.Integer(),
  departures: Type.Integer(),
});
export type UsbDeviceItem = Static<typeof UsbDeviceItem>;

/** The front panel: GPIO lines, the status LED's pattern, the cabinet door, mains power. */
export const PanelItem = Type.Object({
  lines: Type.Array(
    Type.Object({
      name: OneOf('callButton', 'statusLed', 'tamper', 'powerFail'),
      /** 'absent': not configured on this board; 'failed': configured but could not be opened. */
      state: OneOf('absent', 'ready', 'failed'),
      line: Nullable(Type.Integer()),
      problem: Nullable(Type.String()),
    }),
  ),
  led: OneOf('off', 'ready', 'recording', 'uploading', 'fault', 'power-fail'),
  doorOpen: Nullable(Type.Boolean()),
  /** 'failing' while writes finish, 'flushed' once the store is safe, until power returns. */
  power: OneOf('normal', 'failing', 'flushed'),
  lastPowerFailFlushedMs: Nullable(Type.Number()),
  counters: Type.Object({
    presses: Type.Integer(),
    longPresses: Type.Integer(),
    tamperOpened: Type.Integer(),
    powerFails: Type.Integer(),
    ioErrors: Type.Integer(),
  }),
});
export type PanelItem = Static<typeof PanelItem>;

export const OpenStudyItem = Type.Object({
  uid: Type.String(),
  openedAt: Type.String(),
  /** The study's patient as the kiosk shows it (masked ID), or null: no patient identified. */
  patient: Nullable(PatientItem),
});
export type OpenStudyItem = Static<typeof OpenStudyItem>;

/** The document scanner and the document being scanned (the draft, before it is sent). */
export const ScannerItem = Type.Object({
  enabled: Type.Boolean(),
  /** 'absent': SANE lists no scanner; 'failed': SANE itself could not be asked. */
  state: OneOf('unknown', 'absent', 'ready', 'failed'),
  device: Nullable(Type.Object({ name: Type.String(), vendor: Type.String(), model: Type.String() })),
  problem: Nullable(Type.String()),
  /** The scanner has a document feeder (a stack of pages in one scan). */
  feeder: Type.Boolean(),
  job: OneOf('idle', 'scanning', 'cancelling', 'sending'),
  /** While scanning: the page being scanned (1-based), its progress 0..1, pages finished. */
  progress: Nullable(
    Type.Object({ page: Type.Integer(), fraction: Type.Number(), pagesDone: Type.Integer() }),
  ),
  /** The draft document's pages, in order. */
  pages: Type.Array(
    Type.Object({
      id: Type.String(),
      number: Type.Integer(),
      width: Type.Integer(),
      height: Type.Integer(),
      dpi: Type.Number(),
      preview: Type.String(),
    }),
  ),
  lastError: Nullable(Type.String()),
  counters: Type.Object({
    scans: Type.Integer(),
    pages: Type.Integer(),
    failures: Type.Integer(),
    cancelled: Type.Integer(),
    rejectedPages: Type.Integer(),
    documentsSent: Type.Integer(),
    /** Not saved (storage low, power failing); the draft was kept. */
    documentsRefused: Type.Integer(),
    documentsQuarantined: Type.Integer(),
  }),
});
export type ScannerItem = Static<typeof ScannerItem>;

export const VideoItem = Type.Object({
  worker: OneOf('starting', 'ready', 'restarting', 'stopped'),
  /** 'unknown' until the encoder was chosen; 'none' when no encoder works. */
  encoderState: OneOf('unknown', 'ready', 'none'),
  encoder: Nullable(Type.String()),
  encoderKind: Nullable(OneOf('hardware', 'software')),
  /** Set when the terminal is not on its best encoder (e.g. hardware failed): say so to staff. */
  fallbackReason: Nullable(Type.String()),
  /** The consultation camera: 'live' while it runs (live out, preview, stills), with or without a recording. */
  camera: Type.Object({
    /** 'waiting': unplugged while in use; the video resumes by itself when it is plugged in again. */
    state: OneOf('off', 'starting', 'live', 'stopping', 'waiting'),
    /** The camera shown (the device's name, or 'rig test camera'). */
    name: Nullable(Type.String()),
    /** Which camera is shown: the room camera or the document camera; null while off. */
    active: Nullable(OneOf('room', 'document')),
    /** The cameras in the running video, between which staff can switch without a restart. */
    available: Type.Array(OneOf('room', 'document')),
    /** This terminal has a document camera configured (the kiosk offers the switch). */
    documentCamera: Type.Boolean(),
    /** Why it last stopped or failed to start, in words staff can act on. */
    lastError: Nullable(Type.String()),
    /** Measured at the encoder's output over the last second while it runs. */
    measured: Nullable(Type.Object({ fps: Type.Number(), kbps: Type.Number() })),
    /** The microphone sent and recorded with the video (AAC), or null: video without sound. */
    microphone: Nullable(Type.String()),
  }),
  /** Live video to the province's media server while the camera runs. */
  live: Type.Object({
    transport: OneOf('none', 'srt', 'rtp'),
    state: OneOf('off', 'connecting', 'live', 'retrying'),
    /** Why the last attempt failed (unreachable, refused), while retrying. */
    lastError: Nullable(Type.String()),
    /** The encoder rate adapted to the link (the configured rate until the link says otherwise). */
    bitrateKbps: Type.Number(),
    /** The picture size encoded now: smaller rungs on a weak link, held while recording. */
    resolution: Type.Object({ width: Type.Integer(), height: Type.Integer() }),
    /** SRT's round-trip time and the share of packets resent in the last second. */
    rttMs: Nullable(Type.Number()),
    lossPercent: Type.Number(),
  }),
  recording: Type.Object({
    state: OneOf('idle', 'recording', 'finishing'),
    recordingId: Nullable(Type.Integer()),
    /** Segments closed so far in the current (or last) recording. */
    segments: Type.Integer(),
    lastError: Nullable(Type.String()),
    /** What the current (or last) recording holds: the camera alone, or both sides of a call. */
    holds: OneOf('camera', 'call'),
  }),
});
export type VideoItem = Static<typeof VideoItem>;

/** A call's counts since start: calls made, media servers lost and rejoined, moves to the other data centre. */
export const CallCounters = Type.Object({
  calls: Type.Integer(),
  reconnects: Type.Integer(),
  failovers: Type.Integer(),
  subscriptions: Type.Integer(),
  slowLinks: Type.Integer(),
  /** Messages from a media server refused as malformed or hostile (never passed to janode). */
  refusedMessages: Type.Integer(),
});

/** A call's link both ways over the last second (webrtcbin's RTCP statistics; null until measured). */
export const CallLinkItem = Type.Object({
  sendKbps: Nullable(Type.Number()),
  receiveKbps: Nullable(Type.Number()),
  /** Of our packets, lost on the way (the far end's receiver reports), %. */
  sendLossPercent: Nullable(Type.Number()),
  /** Of the far end's packets, lost on the way to us, %. */
  receiveLossPercent: Nullable(Type.Number()),
  rttMs: Nullable(Type.Number()),
  jitterMs: Nullable(Type.Number()),
  /** The video bitrate the call asks of the encoder now (it adapts to loss and queueing). */
  targetKbps: Type.Number(),
  /**
   * The far end's simulcast layer asked of the media server (0 smallest, 2 largest; it follows the
   * loss of what arrives), or null when the far end sends one size only.
   */
  receiveLayer: Nullable(Type.Integer()),
  counters: Type.Object({
    stepsDown: Type.Integer(),
    stepsUp: Type.Integer(),
    /** Times a smaller or a larger far-end layer was asked for. */
    layersDown: Type.Integer(),
    layersUp: Type.Integer(),
  }),
});

/** A two-way consultation call (the call service's snapshot). */
export const CallItem = Type.Object({
  state: OneOf('idle', 'joining', 'in-call', 'reconnecting', 'leaving'),
  server: Nullable(OneOf('A', 'B')),
  room: Nullable(Type.Integer()),
  since: Nullable(Type.String()),
  /** The far end (the specialist's display name) while it is in the room. */
  remote: Nullable(Type.Object({ display: Type.String(), since: Type.String() })),
  /** The far end as shown and played here: frames rendered and dropped, picture size, sound heard. */
  received: Nullable(
    Type.Object({
      framesRendered: Type.Integer(),
      framesDropped: Type.Integer(),
      width: Nullable(Type.Integer()),
      height: Nullable(Type.Integer()),
      fps: Nullable(Type.Number()),
      audioSeconds: Type.Number(),
      audioLevelDb: Nullable(Type.Number()),
      /** Seconds the far end's picture stood still after it had started. */
      freezes: Type.Integer(),
    }),
  ),
  /** The link both ways while in the room. */
  link: Nullable(CallLinkItem),
  echoControl: Type.Boolean(),
  /** In-call controls as staff set them: the microphone muted, the camera off, the loudspeaker's volume (0–1), the camera shown. */
  controls: Type.Object({
    muted: Type.Boolean(),
    cameraOff: Type.Boolean(),
    volume: Type.Number(),
    /** The camera shown: the room camera or the document camera; null while the camera is off. */
    camera: Nullable(OneOf('room', 'document')),
  }),
  /** What the far end is sent as our picture: the camera, or the placeholder and why; null outside a room. */
  picture: Nullable(OneOf('camera', 'camera-lost', 'camera-off')),
  /**
   * Where the specialist's picture is drawn: by the kiosk from the local API's frames, or by the
   * board's overlay sink inside `rectangle` (screen pixels), which the kiosk leaves clear.
   */
  farEndDisplay: Type.Union([
    Type.Object({
      kind: Type.Literal('kiosk'),
      /** The overlay was configured but failed in this call (why): the kiosk draws the specialist. */
      overlayFailure: Type.Optional(Type.String()),
    }),
    Type.Object({
      kind: Type.Literal('overlay'),
      rectangle: Type.Object({
        x: Type.Integer(),
        y: Type.Integer(),
        width: Type.Integer(),
        height: Type.Integer(),
      }),
    }),
  ]),
  lastError: Nullable(Type.String()),
  counters: CallCounters,
});
export type CallItem = Static<typeof CallItem>;

export const StatusResponse = Type.Object({
  v: Type.Literal(1),
  device: Type.Object({ id: Type.String(), firmware: Type.String() }),
  at: Type.String(),
  carts: Type.Array(CartItem),
  idReaders: Type.Array(IdReaderItem),
  hidScanners: Type.Array(HidScannerItem),
  /** The patient identified at this terminal for the next study, or null. */
  patient: Nullable(PatientItem),
  dataCentres: Type.Array(DataCentreItem),
  studiesToday: Type.Array(StudyItem),
  queueDepth: Type.Integer(),
  notices: Type.Array(Notice),
  telemetry: OneOf('connecting', 'online', 'offline', 'stopped'),
  /** Null when the terminal runs without video (media.enabled false). */
  video: Nullable(VideoItem),
  /** The consultation study open now (captures go into it), or null. */
  study: Nullable(OpenStudyItem),
  scanner: ScannerItem,
  /** What start-up reconciliation of the store found after the last restart (null before it ran). */
  storeRecovery: Nullable(StoreRecoveryItem),
  panel: PanelItem,
  /** USB devices seen since start (udev), present or gone. */
  usbDevices: Type.Array(UsbDeviceItem),
  /** The consultation call; null when the terminal runs without video or has no media server. */
  call: Nullable(CallItem),
});
export type StatusResponse = Static<typeof StatusResponse>;

export type ServerMessage = { type: 'status'; status: StatusResponse };
