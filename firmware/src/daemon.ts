import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  EcgCart,
  type GpioOpener,
  GpioRelayOpener,
  type HidOpener,
  type LedPattern,
  NodeSerialOpener,
  OnoffGpioOpener,
  type ScannerBackend,
  type SerialOpener,
  TIMING,
  UdevadmMonitor,
  type UsbEventSource,
} from '#device-drivers';
import { documentRoutes } from './api/routes/documents.ts';
import { patientRoutes } from './api/routes/patient.ts';
import { statusRoutes } from './api/routes/status.ts';
import { videoRoutes } from './api/routes/video.ts';
import { ApiServer } from './api/server.ts';
import type { Notice } from './api/types.ts';
import type { Config, HidScannerConfig } from './config/schema.ts';
import { DeviceManager } from './devices/device-manager.ts';
import { Documents } from './documents/documents.ts';
import { EventLoopMonitor } from './event-loop.ts';
import { EventBus } from './events.ts';
import { GpioPanel } from './gpio/panel.ts';
import { PowerFailHandler } from './gpio/power.ts';
import { CapturePipeline } from './ingest/capture-pipeline.ts';
import { EcgIngest } from './ingest/ecg-ingest.ts';
import { VideoIngest } from './ingest/video-ingest.ts';
import { Consultation } from './media/consultation.ts';
import { EncoderSelector } from './media/encoder-selection.ts';
import { MediaWorker } from './media/media-worker.ts';
import { Recorder } from './media/recorder.ts';
import { describe } from './notices.ts';
import { PatientDesk } from './patient/patient-desk.ts';
import type { ServiceManager } from './service-manager.ts';
import { buildHealth, buildStatus, type StatusSources } from './status.ts';
import type { AuditVerification } from './store/audit-log.ts';
import { chooseKeyStore, type DataKeyStore } from './store/data-key.ts';
import { DiskGuard } from './store/disk-guard.ts';
import type { FaultHook } from './store/fault-points.ts';
import { journalTrimmer } from './store/journal-trimmer.ts';
import { RecordingRows } from './store/recordings.ts';
import type { RecoveryReport } from './store/recovery.ts';
import { StudyRows } from './store/studies.ts';
import { StudyStore } from './store/study-store.ts';
import { ConsultationStudies } from './study/consultation-studies.ts';
import { MqttTelemetry } from './telemetry/mqtt-telemetry.ts';
import { stowInstance } from './uplink/stow-client.ts';
import { type StowFn, Uplink } from './uplink/uplink.ts';
import { FIRMWARE_VERSION } from './version.ts';

export interface DaemonDeps {
  log: Logger;
  /** The kill test's crash points in the store and uplink (see fault-points.ts); none by default. */
  fault?: FaultHook;
  /** Extra environment for the media worker (the rig's stand-in hardware encoder plugin). */
  mediaEnv?: Record<string, string>;
  opener?: SerialOpener;
  stow?: StowFn;
  freeBytes?: (dir: string) => number;
  /** Where the data key lives (default: as storage.encryption says; null: encryption off). */
  dataKeys?: DataKeyStore | null;
  now?: () => Date;
  /** USB arrivals and departures (default: udev, or none as configured). */
  usbEvents?: UsbEventSource;
  /** The GPIO lines (default: the relay socket if configured, else sysfs through onoff). */
  gpioOpener?: GpioOpener;
  /** The HID transport for a barcode scanner (default: its relay socket if set, else node-hid). */
  hidOpener?: (scanner: HidScannerConfig) => HidOpener;
  /** The document scanner backend (default: scanimage as configured). */
  scannerBackend?: ScannerBackend;
  /** systemd (or the rig's supervisor) to tell READY, WATCHDOG and STOPPING; none by default. */
  serviceManager?: ServiceManager;
}

/** main.ts builds one of these; tests build their own with injected transports. */
export class Daemon {
  readonly store: StudyStore;
  readonly disk: DiskGuard;
  readonly bus: EventBus;
  readonly pipeline: CapturePipeline;
  readonly ingest: EcgIngest;
  readonly carts = new Map<string, EcgCart>();
  readonly desk: PatientDesk;
  readonly panel: GpioPanel;
  readonly devices: DeviceManager;
  readonly power: PowerFailHandler;
  readonly uplink: Uplink;
  readonly telemetry: MqttTelemetry;
  readonly studies: ConsultationStudies;
  readonly documents: Documents;
  readonly api: ApiServer;
  readonly eventLoop = new EventLoopMonitor();
  readonly media: {
    worker: MediaWorker;
    encoders: EncoderSelector;
    consultation: Consultation;
    recorder: Recorder;
    ingest: VideoIngest;
  } | null;
  private readonly notices: Notice[] = [];
  /** What start-up reconciliation found (status and health show it until the next start). */
  private recovery: Omit<RecoveryReport, 'actions'> | null = null;
  /** The audit log's check at start (its chain walked end to end). */
  private auditCheck: AuditVerification | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private readonly sources: StatusSources;

  constructor(
    readonly config: Config,
    private readonly deps: DaemonDeps,
  ) {
    const log = deps.log;
    const now = deps.now ?? (() => new Date());
    this.bus = new EventBus((error) => log.error({ err: error }, 'event listener failed'));
    this.store = new StudyStore({
      dataDir: config.dataDir,
      minFreeBytes: config.storage.minFreeBytes,
      clock: now,
      // Every committed change of an instance's state is announced once, by the store itself.
      onTransition: (t) => this.bus.emit({ type: 'instance', ...t }),
      ...(deps.freeBytes ? { freeBytes: deps.freeBytes } : {}),
      ...(deps.fault ? { fault: deps.fault } : {}),
      dataKeys:
        deps.dataKeys !== undefined
          ? deps.dataKeys
          : config.storage.encryption.enabled
            ? chooseKeyStore(config.storage.encryption, config.dataDir)
            : null,
    });
    if (this.store.dataKey?.created)
      log.info(
        {
          keyStore: this.store.dataKey.keyStore,
          where: this.store.dataKey.where,
          fingerprint: this.store.dataKey.fingerprint,
        },
        'new data key made: patient data at rest is sealed under it',
      );
    this.disk = new DiskGuard({
      config: config.storage,
      freeBytes: () => this.store.freeBytesNow(),
      purge: (o) => this.store.purge(o),
      trimmers: config.storage.journalKeep === null ? [] : [journalTrimmer(config.storage.journalKeep)],
      bus: this.bus,
      log: log.child({ module: 'storage' }),
      clock: now,
    });
    const dcs = config.dataCentres;
    const target = (id: 'A' | 'B') => ({
      name: dcs[id].name,
      dicomWebUrl: dcs[id].dicomWebUrl,
      timeoutMs: dcs.requestTimeoutMs,
      ...(dcs[id].username !== undefined ? { username: dcs[id].username } : {}),
      ...(dcs[id].password !== undefined ? { password: dcs[id].password } : {}),
    });
    this.uplink = new Uplink({
      store: this.store,
      targets: { A: target('A'), B: target('B') },
      home: dcs.home,
      failoverAfter: dcs.failoverAfter,
      recoverAfter: dcs.recoverAfter,
      probeIntervalMs: dcs.probeIntervalMs,
      retryInitialMs: dcs.retryInitialMs,
      retryMaxMs: dcs.retryMaxMs,
      bandwidth: { uploadKbps: dcs.uploadKbps, duringLiveKbps: dcs.duringLiveKbps },
      maxInFlight: dcs.maxInFlight,
      stow: deps.stow ?? stowInstance,
      ...(deps.fault ? { fault: deps.fault } : {}),
      onEvent: (event) => {
        // The store announces the instance's new state; these are the uplink's own words for the log.
        switch (event.type) {
          case 'delivered':
            log.info(
              { instance: event.instanceId, dc: event.dc, alreadyStored: event.alreadyStored },
              'delivered',
            );
            return;
          case 'retry':
            log.warn(
              { instance: event.instanceId, dc: event.dc, reason: event.reason },
              'delivery failed; will retry',
            );
            return;
          case 'quarantined':
            log.warn(
              { instance: event.instanceId, dc: event.dc, reason: event.reason },
              'data centre rejected the instance',
            );
            return;
          case 'unsendable':
            log.error(
              { instance: event.instanceId, code: event.code, reason: event.reason },
              'not sent: file damaged or gone',
            );
            this.bus.emit({
              type: 'store-problem',
              code: event.code,
              message: event.reason,
              instanceId: event.instanceId,
            });
            return;
          case 'dc-state':
            log.info({ dc: event.dc, state: event.state, reason: event.reason }, 'data centre state');
            this.bus.emit(event);
            return;
        }
      },
    });
    const profiles = new Map(config.carts.map((c) => [c.id, c.vendorProfile]));
    this.pipeline = new CapturePipeline({
      store: this.store,
      bus: this.bus,
      log: log.child({ module: 'ingest' }),
      onQueued: () => this.uplink.kick(),
    });
    this.ingest = new EcgIngest({
      pipeline: this.pipeline,
      bus: this.bus,
      log: log.child({ module: 'ingest' }),
      uidRoot: config.device.uidRoot,
      stationName: config.device.id,
      institutionName: config.device.institutionName,
      profileFor: (cartId) => profiles.get(cartId) ?? 'auto',
      openStudy: () => this.studies.open(),
      now,
    });
    const opener = deps.opener ?? new NodeSerialOpener();
    for (const cart of config.carts) {
      this.carts.set(
        cart.id,
        new EcgCart({
          id: cart.id,
          identity: cart.identity,
          baudRate: cart.baudRate,
          protocol: cart.protocol,
          timing: { ...TIMING, blockTimeoutMs: cart.blockTimeoutMs, maxRetries: cart.maxRetries },
          opener,
          deliver: (record) => this.ingest.receive(record),
          onState: (state, detail) => this.bus.emit({ type: 'cart-state', cartId: cart.id, state, detail }),
          onProblem: (message) => this.bus.emit({ type: 'cart-problem', cartId: cart.id, message }),
        }),
      );
    }
    this.telemetry = new MqttTelemetry({
      device: config.device,
      brokers: config.mqtt.brokers,
      firmwareVersion: FIRMWARE_VERSION,
      log: log.child({ module: 'telemetry' }),
      onState: (state) => this.bus.emit({ type: 'telemetry-state', state }),
      ...(config.mqtt.username !== undefined ? { username: config.mqtt.username } : {}),
      ...(config.mqtt.password !== undefined ? { password: config.mqtt.password } : {}),
      ...(config.mqtt.caFile ? { caFile: config.mqtt.caFile } : {}),
      ...(config.mqtt.certFile ? { certFile: config.mqtt.certFile } : {}),
      ...(config.mqtt.keyFile ? { keyFile: config.mqtt.keyFile } : {}),
    });
    this.studies = new ConsultationStudies({
      rows: new StudyRows(this.store.db, () => now().toISOString(), this.store.atRest),
      uidRoot: config.device.uidRoot,
      bus: this.bus,
      log: log.child({ module: 'study' }),
      onChange: () => this.api.notify(),
    });
    this.desk = new PatientDesk({
      config,
      serialOpener: opener,
      ...(deps.hidOpener ? { hidOpener: deps.hidOpener } : {}),
      studies: this.studies,
      bus: this.bus,
      log: log.child({ module: 'patient' }),
      now,
    });
    this.documents = new Documents({
      config,
      pipeline: this.pipeline,
      store: this.store,
      studies: this.studies,
      bus: this.bus,
      log: log.child({ module: 'documents' }),
      onChange: () => this.api.notify(),
      ...(deps.scannerBackend ? { backend: deps.scannerBackend } : {}),
      now,
    });
    this.media = config.media.enabled ? this.buildMedia(config, log) : null;
    this.power = new PowerFailHandler({
      bus: this.bus,
      log: log.child({ module: 'power' }),
      budgetMs: config.gpio.powerFailBudgetMs,
      finishWork: async () => {
        const recorder = this.media?.recorder;
        const scanner = this.documents.scanner;
        await Promise.all([
          recorder?.state === 'recording' ? recorder.stop('stopped: mains power failed') : undefined,
          scanner.job === 'scanning' ? scanner.cancel() : undefined,
        ]);
      },
      refuseCaptures: (reason) => this.store.refuseCaptures(reason),
      acceptCaptures: () => this.store.acceptCaptures(),
      flush: () => this.store.flush(),
    });
    const noEvents: UsbEventSource = { start: () => {}, stop: async () => {} };
    this.devices = new DeviceManager({
      source: deps.usbEvents ?? (config.usbEvents === 'udev' ? new UdevadmMonitor() : noEvents),
      log: log.child({ module: 'devices' }),
      onArrival: (kind) => {
        // Whoever is still looking for its device looks now (each finds its own by identity).
        if (kind === 'tty') {
          for (const cart of this.carts.values()) if (cart.state === 'searching') cart.kick();
          for (const reader of this.desk.idReaders.values()) if (reader.state === 'searching') reader.kick();
        } else if (kind === 'hidraw') {
          for (const scanner of this.desk.scanners.values())
            if (scanner.state === 'searching') scanner.kick();
        } else void this.documents.scanner.refresh();
      },
      onChange: () => this.api.notify(),
    });
    this.panel = new GpioPanel({
      config: config.gpio,
      opener:
        deps.gpioOpener ??
        (config.gpio.relaySocket ? new GpioRelayOpener(config.gpio.relaySocket) : new OnoffGpioOpener()),
      bus: this.bus,
      log: log.child({ module: 'gpio' }),
      ledPattern: () => this.ledPattern(),
      onPowerFail: () => void this.power.failed(),
      onPowerRestored: () => this.power.restored(),
    });
    this.sources = {
      deviceId: config.device.id,
      dataDir: config.dataDir,
      store: this.store,
      carts: this.carts,
      desk: this.desk,
      panel: this.panel,
      power: this.power,
      devices: this.devices,
      uplink: this.uplink,
      ingest: this.ingest,
      telemetry: this.telemetry,
      media: this.media,
      studies: this.studies,
      documents: this.documents,
      notices: this.notices,
      recovery: () => this.recovery,
      audit: () => this.auditCheck,
      disk: this.disk,
      eventLoop: this.eventLoop,
      startedAt: now().getTime(),
      now,
    };
    this.api = new ApiServer({
      host: config.api.host,
      port: config.api.port,
      token: config.api.token,
      kioskDir: config.api.kioskDir ?? null,
      status: () => buildStatus(this.sources),
      routes: [
        ...statusRoutes(() => buildStatus(this.sources)),
        ...videoRoutes(this.media),
        ...documentRoutes(this.documents),
        ...patientRoutes(this.desk, now),
      ],
      log: log.child({ module: 'api' }),
    });
    this.bus.on((event) => {
      this.api.notify();
      // A refused capture may be the first sign of a filling disk: look now, not at the next check.
      if (event.type === 'capture-refused') void this.disk.check();
      const described = describe(event);
      if (!described) return;
      this.notices.push({ at: now().toISOString(), ...described.notice });
      if (this.notices.length > 100) this.notices.shift();
      this.telemetry.publishEvent({
        severity: described.severity,
        code: described.notice.code,
        message: described.notice.message,
      });
    });
  }

  private buildMedia(config: Config, log: Logger) {
    const mediaLog = log.child({ module: 'media' });
    const worker = new MediaWorker({
      log: mediaLog,
      ...(this.deps.mediaEnv ? { env: this.deps.mediaEnv } : {}),
      heartbeatTimeoutMs: config.media.heartbeatTimeoutMs,
      onState: (state, detail) => {
        mediaLog.info({ state, detail }, 'media worker state');
        if (state === 'restarting') {
          // Pipelines died with the worker: the recording ends (its open segment is kept) and
          // video comes back by itself when the worker is up again.
          this.media?.recorder.workerLost(detail);
          this.media?.consultation.workerLost(detail);
        }
        // Segments that waited for the worker (it was away when they closed) are made DICOM now.
        // (Not a directory sweep: a recording may already be writing again.)
        if (state === 'ready' && worker.counters.starts > 1) void this.media?.ingest.processCaptured();
        this.api.notify();
      },
    });
    worker.onBusEvent((event) => {
      if (event.kind === 'error' || event.kind === 'warning') {
        mediaLog.warn(
          { pipeline: event.pipeline, element: event.element, message: event.message },
          `pipeline ${event.kind}`,
        );
      }
    });
    const scratchDir = join(config.dataDir, 'media-scratch');
    mkdirSync(scratchDir, { recursive: true });
    const encoders = new EncoderSelector({
      worker,
      log: mediaLog,
      pinned: config.media.encoder,
      scratchDir,
      hardwareFailuresBeforeFallback: config.media.hardwareFailuresBeforeFallback,
    });
    const recordings = new RecordingRows(this.store.db, () => new Date().toISOString());
    const ingest = new VideoIngest({
      pipeline: this.pipeline,
      store: this.store,
      recordings,
      patientFor: (studyUid) => this.studies.patientFor(studyUid),
      worker,
      log: log.child({ module: 'video-ingest' }),
      scratchDir,
      uidRoot: config.device.uidRoot,
      stationName: config.device.id,
      institutionName: config.device.institutionName,
    });
    const consultation = new Consultation({
      worker,
      encoders,
      studies: this.studies,
      ingest,
      camera: config.media.camera,
      microphone: config.media.microphone,
      live: config.media.live,
      target: {
        ...config.media.record,
        bitrateKbps: config.media.bitrateKbps,
        keyFrameIntervalS: Math.min(2, config.media.record.segmentS),
      },
      log: mediaLog,
      onLost: (reason, cause) => this.bus.emit({ type: 'camera', state: 'lost', detail: reason, cause }),
      onBack: (camera) => {
        this.bus.emit({ type: 'camera', state: 'back', detail: camera });
        void recorder
          .resumeAfterCamera()
          .catch((error: unknown) => mediaLog.error({ err: error }, 'the recording could not resume'));
      },
      onChange: () => {
        // Uploads yield to the live consultation while it runs (dataCentres.duringLiveKbps).
        this.uplink.setLive(consultation.state === 'live');
        this.api.notify();
      },
    });
    const recorder = new Recorder({
      worker,
      consultation,
      encoders,
      recordings,
      ingest,
      segmentS: config.media.record.segmentS,
      bitrateKbps: config.media.bitrateKbps,
      headroomBytes: () => this.store.headroomBytes(),
      onDiskLow: (message) => this.bus.emit({ type: 'recording-stopped', reason: message }),
      dataDir: config.dataDir,
      uidRoot: config.device.uidRoot,
      log: mediaLog,
      onChange: () => this.api.notify(),
    });
    return { worker, encoders, consultation, recorder, ingest };
  }

  /** Starts the worker and chooses the encoder in the background: ECG work never waits for video. */
  private startMedia(): void {
    const media = this.media;
    if (!media) return;
    media.worker.start();
    void media.worker
      .ready()
      .then(() => media.encoders.select())
      .then(() => media.ingest.resume())
      .then(
        () => this.api.notify(),
        (error: unknown) => this.deps.log.error({ err: error }, 'choosing the H.264 encoder failed'),
      );
  }

  /** The status LED: power failing, then faults a technician must see, recording, backlog, ready. */
  private ledPattern(): LedPattern {
    if (this.power.state !== 'normal') return 'power-fail';
    const dcs = this.uplink.dataCentres();
    const fault =
      dcs.every((d) => d.state === 'down') ||
      this.media?.encoders.status().state === 'none' ||
      [...this.panel.lines.values()].some((l) => l.state === 'failed') ||
      this.documents.scanner.deviceState === 'failed';
    if (fault) return 'fault';
    if (this.media?.recorder.state === 'recording') return 'recording';
    const counts = this.store.countByState();
    if (counts.queued + counts.delivering > 0) return 'uploading';
    return 'ready';
  }

  status() {
    return buildStatus(this.sources);
  }

  health() {
    return buildHealth(this.sources);
  }

  async start(): Promise<void> {
    const log = this.deps.log;
    this.eventLoop.start();
    this.recoverStore();
    await this.api.start();
    log.info({ port: this.api.port }, 'local API listening');
    this.telemetry.start();
    this.disk.start();
    // ECGs saved before a restart are encoded now; ECG work never waits for video.
    void this.pipeline.resume(['ecg']);
    this.uplink.start();
    for (const cart of this.carts.values()) cart.start();
    this.desk.start();
    this.documents.start();
    await this.panel.start();
    this.devices.start();
    this.startMedia();
    const publish = () => this.telemetry.publishHealth(this.health());
    publish();
    this.healthTimer = setInterval(publish, this.config.mqtt.healthIntervalS * 1000);
    const manager = this.deps.serviceManager;
    if (manager) {
      manager.ready(`ready: ${this.carts.size} cart(s), home data centre ${this.config.dataCentres.home}`);
      if (manager.watchdogIntervalMs !== null) {
        // Fed from the main loop, and only while the store answers: a blocked loop or a dead
        // database stops the feed, and the service manager restarts the daemon.
        this.watchdogTimer = setInterval(() => {
          try {
            this.store.ping();
            manager.watchdog();
          } catch (error) {
            log.error({ err: error }, 'store not answering: not feeding the watchdog');
          }
        }, manager.watchdogIntervalMs);
      }
    }
  }

  /**
   * Reconciles the store with its files before anything writes (recovery.ts): one log line per
   * action, counters in status and health, and an alarm when something was lost or SQLite's check fails.
   */
  private recoverStore(): void {
    const log = this.deps.log.child({ module: 'store' });
    const { actions, ...counts } = this.store.recover();
    this.recovery = counts;
    for (const a of actions.slice(0, 100)) log.warn({ action: a.action, subject: a.subject }, a.detail);
    if (actions.length > 100) log.warn({ more: actions.length - 100 }, 'further recovery actions not logged');
    log.info(counts, 'store recovered');
    this.auditCheck = this.store.audit.verify();
    const audit = this.auditCheck;
    if (audit.broken) {
      log.error({ entries: audit.entries, broken: audit.broken }, 'audit log chain broken');
      this.bus.emit({
        type: 'store-problem',
        code: 'audit',
        message: `the audit log's chain breaks at entry ${audit.broken.id}: ${audit.broken.reason}`,
        instanceId: null,
      });
    } else log.info({ entries: audit.entries, head: audit.headHash.slice(0, 16) }, 'audit log verified');
    if (counts.integrity !== 'ok') {
      this.bus.emit({
        type: 'store-problem',
        code: 'integrity',
        message: `SQLite quick_check: ${counts.integrity}`,
        instanceId: null,
      });
    }
    if (counts.missingFiles > 0) {
      this.bus.emit({
        type: 'store-problem',
        code: 'missing-file',
        message: `${counts.missingFiles} instance(s) lost their file and were quarantined`,
        instanceId: null,
      });
    }
    if (counts.requeued + counts.tempFilesRemoved + counts.orphanFiles > 0) {
      this.bus.emit({
        type: 'store-problem',
        code: 'recovered',
        message: `after the restart: ${counts.requeued} upload(s) queued again, ${counts.tempFilesRemoved} unfinished write(s) removed, ${counts.orphanFiles} file(s) without a record kept in orphans/`,
        instanceId: null,
      });
    }
  }

  async stop(): Promise<void> {
    this.deps.serviceManager?.stopping();
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.all([...this.carts.values()].map((c) => c.stop()));
    await this.desk.stop();
    await this.documents.stop();
    await this.panel.stop();
    await this.devices.stop();
    await this.uplink.stop();
    await this.disk.stop();
    await this.api.stop();
    await this.telemetry.stop();
    this.media?.ingest.stop();
    await this.media?.worker.stop();
    this.eventLoop.stop();
    this.store.close();
  }
}
