import { type EcgCart, NodeSerialOpener } from '#device-drivers';
import { localApiRoutes } from './api/routes/index.ts';
import { ApiServer } from './api/server.ts';
import { BoardSensors } from './board.ts';
import type { Config } from './config/schema.ts';
import { CpuPool } from './cpu/cpu-pool.ts';
import type { DaemonDeps } from './daemon-deps.ts';
import { Carts } from './devices/carts.ts';
import { DeviceManager, usbEventSource } from './devices/device-manager.ts';
import { Documents } from './documents/documents.ts';
import { EventLoopMonitor } from './event-loop.ts';
import { EventBus } from './events.ts';
import { StatusLed } from './gpio/led-policy.ts';
import { GpioPanel, gpioOpener } from './gpio/panel.ts';
import { PowerFailHandler } from './gpio/power.ts';
import { CapturePipeline } from './ingest/capture-pipeline.ts';
import { EcgIngest, ecgIngestOptions } from './ingest/ecg-ingest.ts';
import { MediaService } from './media/media-service.ts';
import { Notices } from './notices.ts';
import { PatientDesk } from './patient/patient-desk.ts';
import { ServiceGroup } from './service.ts';
import { ServiceManagerLink } from './service-manager.ts';
import { buildHealth, buildStatus } from './status.ts';
import { configuredKeyStore } from './store/data-key.ts';
import { DiskGuard } from './store/disk-guard.ts';
import { journalTrimmer } from './store/journal-trimmer.ts';
import { StoreService } from './store/store-service.ts';
import { StudyRows } from './store/studies.ts';
import { StudyStore } from './store/study-store.ts';
import { ConsultationStudies } from './study/consultation-studies.ts';
import { HealthPublisher } from './telemetry/health-publisher.ts';
import { MqttTelemetry, telemetryOptions } from './telemetry/mqtt-telemetry.ts';
import { stowInstance } from './uplink/stow-client.ts';
import { Uplink, uplinkOptions } from './uplink/uplink.ts';

export type { DaemonDeps } from './daemon-deps.ts';

/**
 * The terminal daemon: builds its services, in dependency order, and wires them together. The
 * services talk over the event bus; status (kiosk) and health (NOC) are built from them by
 * status.ts. main.ts (cli.ts) builds one of these; tests build their own with injected transports.
 */
export class Daemon {
  readonly bus: EventBus;
  readonly services: ServiceGroup;
  readonly store: StudyStore;
  readonly disk: DiskGuard;
  readonly pipeline: CapturePipeline;
  readonly cpu: CpuPool;
  readonly ingest: EcgIngest;
  readonly desk: PatientDesk;
  readonly panel: GpioPanel;
  readonly devices: DeviceManager;
  readonly power: PowerFailHandler;
  readonly uplink: Uplink;
  readonly telemetry: MqttTelemetry;
  readonly studies: ConsultationStudies;
  readonly documents: Documents;
  readonly api: ApiServer;
  readonly media: MediaService | null;
  readonly eventLoop: EventLoopMonitor;
  readonly board = new BoardSensors();
  readonly cartService: Carts;
  readonly storeService: StoreService;
  readonly notices: Notices;
  readonly startedAt: number;
  readonly now: () => Date;

  constructor(
    readonly config: Config,
    deps: DaemonDeps,
  ) {
    const { log } = deps;
    const now = deps.now ?? (() => new Date());
    this.now = now;
    this.startedAt = now().getTime();
    const child = (module: string) => log.child({ module });
    const bus = new EventBus((error, owner) => log.error({ err: error, owner }, 'event listener failed'));
    this.bus = bus;
    this.services = new ServiceGroup(log);
    // One window per health report: each report says how the loop ran over its own period.
    this.eventLoop = new EventLoopMonitor({ windowMs: config.mqtt.healthIntervalS * 1000 });
    this.store = new StudyStore({
      dataDir: config.dataDir,
      minFreeBytes: config.storage.minFreeBytes,
      clock: now,
      // Every committed change of an instance's state is announced once, by the store itself.
      onTransition: (t) => bus.emit({ type: 'instance', ...t }),
      ...(deps.freeBytes ? { freeBytes: deps.freeBytes } : {}),
      ...(deps.fault ? { fault: deps.fault } : {}),
      dataKeys: deps.dataKeys !== undefined ? deps.dataKeys : configuredKeyStore(config),
    });
    this.storeService = new StoreService(this.store, bus, child('store'));
    this.disk = new DiskGuard({
      config: config.storage,
      disk: this.store,
      trimmers: config.storage.journalKeep === null ? [] : [journalTrimmer(config.storage.journalKeep)],
      bus,
      log: child('storage'),
      clock: now,
    });
    this.telemetry = new MqttTelemetry({
      ...telemetryOptions(config),
      log: child('telemetry'),
      onState: (state) => bus.emit({ type: 'telemetry-state', state }),
    });
    this.notices = new Notices({ bus, telemetry: this.telemetry, now });
    this.uplink = new Uplink({
      ...uplinkOptions(config),
      store: this.store,
      stow: deps.stow ?? stowInstance,
      bus,
      log: child('uplink'),
      ...(deps.fault ? { fault: deps.fault } : {}),
    });
    this.pipeline = new CapturePipeline({ store: this.store, bus, log: child('ingest') });
    this.cpu = new CpuPool({ log: child('cpu') });
    this.studies = new ConsultationStudies({
      rows: new StudyRows(this.store.db, () => now().toISOString(), this.store.atRest),
      uidRoot: config.device.uidRoot,
      bus,
      log: child('study'),
    });
    this.ingest = new EcgIngest({
      ...ecgIngestOptions(config),
      pipeline: this.pipeline,
      cpu: this.cpu,
      bus,
      log: child('ingest'),
      studies: this.studies,
      now,
    });
    const opener = deps.opener ?? new NodeSerialOpener();
    this.cartService = new Carts(config, opener, this.ingest, bus);
    this.desk = new PatientDesk({
      config,
      serialOpener: opener,
      ...(deps.hidOpener ? { hidOpener: deps.hidOpener } : {}),
      studies: this.studies,
      bus,
      log: child('patient'),
      now,
    });
    this.documents = new Documents({
      config,
      pipeline: this.pipeline,
      cpu: this.cpu,
      store: this.store,
      studies: this.studies,
      bus,
      log: child('documents'),
      ...(deps.scannerBackend ? { backend: deps.scannerBackend } : {}),
      now,
    });
    this.media = config.media.enabled
      ? new MediaService({
          config,
          store: this.store,
          studies: this.studies,
          pipeline: this.pipeline,
          cpu: this.cpu,
          bus,
          log,
          ...(deps.mediaEnv ? { env: deps.mediaEnv } : {}),
        })
      : null;
    this.power = new PowerFailHandler({
      bus,
      log: child('power'),
      budgetMs: config.gpio.powerFailBudgetMs,
      inFlight: [...(this.media ? [this.media.recorder] : []), this.documents.scanner],
      store: this.store,
    });
    this.devices = new DeviceManager({
      source: deps.usbEvents ?? usbEventSource(config),
      log: child('devices'),
      bus,
    });
    this.panel = new GpioPanel({
      config: config.gpio,
      opener: deps.gpioOpener ?? gpioOpener(config.gpio),
      bus,
      log: child('gpio'),
      led: new StatusLed({
        power: this.power,
        uplink: this.uplink,
        media: this.media,
        scanner: this.documents.scanner,
        store: this.store,
      }),
    });
    this.api = new ApiServer({
      host: config.api.host,
      port: config.api.port,
      token: config.api.token,
      kioskDir: config.api.kioskDir ?? null,
      status: () => this.status(),
      routes: localApiRoutes(this),
      bus,
      log: child('api'),
    });
    // Started in this order, stopped in reverse: the store is reconciled before anything writes;
    // the NOC hears of alarms from start-up on; ECG work never waits for video, which comes last.
    for (const service of [
      this.eventLoop,
      this.cpu,
      this.notices,
      this.telemetry,
      this.storeService,
      this.api,
      this.disk,
      this.ingest,
      this.uplink,
      this.cartService,
      this.desk,
      this.documents,
      this.power,
      this.panel,
      this.devices,
      ...(this.media ? [this.media, this.media.call] : []),
      new HealthPublisher({ telemetry: this.telemetry, source: this, everyS: config.mqtt.healthIntervalS }),
      ...(deps.serviceManager
        ? [new ServiceManagerLink({ manager: deps.serviceManager, store: this.store, config, log })]
        : []),
    ])
      this.services.add(service);
  }

  /** The carts by id (their drivers: state, port, counters). */
  get carts(): ReadonlyMap<string, EcgCart> {
    return this.cartService.carts;
  }

  status() {
    return buildStatus(this);
  }

  health() {
    return buildHealth(this);
  }

  async start(): Promise<void> {
    await this.services.startAll();
  }

  async stop(): Promise<void> {
    await this.services.stopAll();
  }
}
