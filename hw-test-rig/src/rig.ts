import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RigRoom, ROOM_MIC_PT } from './call-measure/room.ts';
import { PtyCable } from './cart/pty-pair.ts';
import { RIG_GPIO, SimGpioChip } from './gpio/sim-gpio.ts';
import { HidRelayServer } from './hid/hid-relay-server.ts';
import { SimHidScanner } from './hid/sim-hid-scanner.ts';
import { IdReaderSimulator } from './id-reader/id-reader-simulator.ts';
import { RigScanner } from './scanner/rig-scanner.ts';
import { CallLink } from './services/call-link.ts';
import { FaultProxy } from './services/fault-proxy.ts';
import { freePort } from './services/free-port.ts';
import { JanusMediaServer, RIG_ROOM } from './services/janus.ts';
import type { LinkShape } from './services/link-shape.ts';
import { MosquittoBroker } from './services/mosquitto.ts';
import { OrthancDataCentre } from './services/orthanc.ts';
import { RIG_DOCUMENT_CAMERA, RigCamera } from './services/rig-camera.ts';
import { RigHwEncoder } from './services/rig-hw-encoder.ts';
import { ShapedLink } from './services/shaped-link.ts';
import { TcpProxy } from './services/tcp-proxy.ts';

export interface RigOptions {
  dir: string;
  carts?: number;
  apiPort?: number;
  kioskDir?: string;
  /** Start with the camera plugged in (default true; tests without video leave it out). */
  camera?: boolean;
  /** What the rig camera films: a videotestsrc pattern (default `ball`). */
  cameraPattern?: string;
  /** A document camera beside the room camera, plugged in at start (default false). */
  documentCamera?: boolean;
  /** Start a Janus media server per data centre, for consultation calls (default false). */
  call?: boolean;
}

/**
 * The province side and the clinic's devices on one machine: two Orthanc data centres, a
 * mosquitto broker, and a pty cable per ECG cart. It writes the firmware's configuration for them.
 */
export class Rig {
  readonly dcs: Record<'A' | 'B', OrthancDataCentre>;
  /** The firmware talks to the data centres through these, so the rig can inject faults. */
  readonly proxies: Record<'A' | 'B', FaultProxy>;
  readonly broker: MosquittoBroker;
  /** The firmware reaches the broker through this, so the rig can cut its link alone. */
  readonly brokerLink: TcpProxy;
  readonly cables: PtyCable[];
  /** The consultation camera (a separate process the firmware reads frames from). */
  readonly camera: RigCamera;
  /** The document camera (RigOptions.documentCamera), or null. */
  readonly documentCamera: RigCamera | null;
  /** The board's hardware encoder, simulated (used when the firmware gets `hwEncoder.env`). */
  readonly hwEncoder: RigHwEncoder;
  /** The resident ID card reader's serial cable and the simulated SAM reader on its far end. */
  readonly idReaderCable: PtyCable;
  readonly idReader: IdReaderSimulator;
  /** The document scanner: SANE's test backend behind the rig's SANE configuration. */
  readonly scanner: RigScanner;
  /** The barcode/QR scanner (simulated HID), reached by the firmware through a relay socket. */
  readonly hidScanner = new SimHidScanner();
  hidRelay: HidRelayServer | null = null;
  /** The county link, once `link` shaped it: the data centres' traffic crosses it (shaped-link.ts). */
  link: ShapedLink | null = null;
  /** The board's GPIO lines (call button, LED, tamper, UPS), served over a relay socket. */
  readonly gpio: SimGpioChip;
  readonly token = randomBytes(16).toString('hex');

  private constructor(
    readonly options: RigOptions,
    dcs: Record<'A' | 'B', OrthancDataCentre>,
    proxies: Record<'A' | 'B', FaultProxy>,
    broker: MosquittoBroker,
    brokerLink: TcpProxy,
    cables: PtyCable[],
    idReaderCable: PtyCable,
    readonly apiPort: number,
  ) {
    this.idReaderCable = idReaderCable;
    this.idReader = new IdReaderSimulator(idReaderCable.cartEnd);
    this.dcs = dcs;
    this.proxies = proxies;
    this.broker = broker;
    this.brokerLink = brokerLink;
    this.cables = cables;
    this.camera = new RigCamera(join(options.dir, 'camera'), {
      ...(options.cameraPattern ? { pattern: options.cameraPattern } : {}),
    });
    const { pattern, ...format } = RIG_DOCUMENT_CAMERA;
    this.documentCamera = options.documentCamera
      ? new RigCamera(join(options.dir, 'camera'), { name: 'rig-document-camera', pattern, format })
      : null;
    this.hwEncoder = new RigHwEncoder(join(options.dir, 'camera'));
    this.scanner = new RigScanner(join(options.dir, 'scanner'));
    this.gpio = new SimGpioChip(join(options.dir, 'gpio.sock'));
  }

  /** The data centres' media servers for consultation calls (RigOptions.call), else null. */
  janus: Record<'A' | 'B', JanusMediaServer> | null = null;
  /** The clinic's room for calls (loudspeaker into microphone, and a local talker); with `call`. */
  room: RigRoom | null = null;
  /** The county link as the call's media meets it (the terminal's call ports); with `call`. */
  callLink: CallLink | null = null;

  static async start(options: RigOptions): Promise<Rig> {
    const dir = options.dir;
    for (const sub of ['dc-a', 'dc-b', 'broker', 'serial', 'firmware'])
      mkdirSync(join(dir, sub), { recursive: true });
    const [a, b, broker] = await Promise.all([
      OrthancDataCentre.start('A', join(dir, 'dc-a')),
      OrthancDataCentre.start('B', join(dir, 'dc-b')),
      MosquittoBroker.start(join(dir, 'broker')),
    ]);
    // Direct to Orthanc, or across the shaped link while it has a shape (looked up per request;
    // `rig` is set below, before the firmware sends any).
    let rig: Rig | undefined;
    const via = (dc: 'A' | 'B', direct: string) => () => (rig?.link?.shape ? rig.link.upstream(dc) : direct);
    const proxies = {
      A: await FaultProxy.start(via('A', a.url)),
      B: await FaultProxy.start(via('B', b.url)),
    };
    const brokerLink = await TcpProxy.start(() => broker.port);
    const cables = Array.from(
      { length: options.carts ?? 1 },
      (_, i) => new PtyCable(join(dir, 'serial'), `cart-${i + 1}`),
    );
    for (const cable of cables) await cable.plug();
    const idReaderCable = new PtyCable(join(dir, 'serial'), 'id-reader-1');
    await idReaderCable.plug();
    rig = new Rig(
      options,
      { A: a, B: b },
      proxies,
      broker,
      brokerLink,
      cables,
      idReaderCable,
      options.apiPort ?? (await freePort()),
    );
    // A part that fails to start stops everything started before it: a failed `up` leaves no
    // Orthanc, broker or media server behind (one did, in CI, when a Janus hung at start).
    try {
      await rig.idReader.start();
      await rig.gpio.start();
      rig.hidRelay = await HidRelayServer.start(join(dir, 'hid-scanner-1.sock'), rig.hidScanner);
      if (options.camera ?? true) await rig.camera.plug();
      await rig.documentCamera?.plug();
      if (options.call) await rig.startCalls();
    } catch (error) {
      await rig.stop().catch(() => {});
      throw error;
    }
    return rig;
  }

  /** The province's media servers, the clinic's room and the call link. */
  private async startCalls(): Promise<void> {
    const dir = this.options.dir;
    const started = await Promise.allSettled([
      JanusMediaServer.start('A', join(dir, 'janus-a')),
      JanusMediaServer.start('B', join(dir, 'janus-b')),
    ]);
    const [a, b] = started;
    if (a.status === 'rejected' || b.status === 'rejected') {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
    }
    this.janus = { A: a.value, B: b.value };
    this.room = await RigRoom.start(await RigRoom.freeUdpPort());
    this.callLink = new CallLink(CallLink.randomPorts());
  }

  /** The firmware configuration for this rig (what provisioning would write on a real terminal). */
  firmwareConfig(
    overrides: {
      minFreeBytes?: number;
      /** Where the storage-low alarm and early purging start (default: the reserve itself). */
      warnFreeBytes?: number;
      /** How often the firmware looks at its free space (default: the firmware's own, 60 s). */
      storageCheckIntervalS?: number;
      /** How often both data centres are probed (default: the firmware's own, 15 s). */
      probeIntervalMs?: number;
      healthIntervalS?: number;
      requestTimeoutMs?: number;
      media?: boolean;
      segmentS?: number;
      /** The terminal's video bitrate (default 1000 kbit/s). */
      bitrateKbps?: number;
      /**
       * Cameras found by the device monitor (`auto`, as on the board) instead of the rig camera's
       * element chain: with RigUsbCameras in the media worker's environment.
       */
      discoverCameras?: boolean;
      /** The rig microphone in the firmware config (default true). */
      microphone?: boolean;
      /** Live out to an SRT listener (the province media server stand-in). */
      live?: { uri: string; passphrase: string };
      /** Live out as RTP over UDP instead (the second transport). */
      rtp?: { host: string; port: number };
      hardwareFailuresBeforeFallback?: number;
      /** The terminal's TPM (a SoftTpm): the data key is sealed there (default: a key file). */
      tpmTcti?: string;
    } = {},
  ) {
    return {
      device: {
        id: 'T-RIG-0001',
        province: 'henan',
        county: 'rig-county',
        uidRoot: '1.2.826.0.1.3680043.10.1391.9',
        institutionName: '测试卫生院',
      },
      dataDir: join(this.options.dir, 'firmware', 'data'),
      carts: this.cables.map((cable, i) => ({
        id: `cart-${i + 1}`,
        identity: { path: cable.terminalEnd },
        baudRate: 115200,
        protocol: 'ymodem',
        // ptys answer at once; a shorter block timeout makes a cut cable show within seconds.
        blockTimeoutMs: 1000,
        maxRetries: 3,
        vendorProfile: 'auto',
      })),
      idReaders: [
        { id: 'id-reader-1', identity: { path: this.idReaderCable.terminalEnd }, baudRate: 115200 },
      ],
      dataCentres: {
        home: 'A',
        A: { name: '省数据中心 A', dicomWebUrl: `${this.proxies.A.url}/dicom-web` },
        B: { name: '省数据中心 B', dicomWebUrl: `${this.proxies.B.url}/dicom-web` },
        requestTimeoutMs: overrides.requestTimeoutMs ?? 10_000,
        retryInitialMs: 500,
        retryMaxMs: 5_000,
        failoverAfter: 1,
        ...(overrides.probeIntervalMs ? { probeIntervalMs: overrides.probeIntervalMs } : {}),
      },
      mqtt: {
        brokers: [`mqtt://127.0.0.1:${this.brokerLink.port}`],
        healthIntervalS: overrides.healthIntervalS ?? 5,
      },
      api: {
        host: '127.0.0.1',
        port: this.apiPort,
        token: this.token,
        ...(this.options.kioskDir ? { kioskDir: this.options.kioskDir } : {}),
      },
      hidScanners: [
        {
          id: 'hid-scanner-1',
          identity: { vendorId: '0c2e', productId: '0b61', serialNumber: 'RIG-SCANNER-1' },
          mode: 'auto',
          relaySocket: join(this.options.dir, 'hid-scanner-1.sock'),
        },
      ],
      scanner: { device: 'auto', resolution: 200, saneConfigDir: this.scanner.configDir },
      gpio: { ...RIG_GPIO, relaySocket: this.gpio.socketPath },
      // The rig's devices are ptys and sockets: no udev events for them (tests inject a USB bus).
      usbEvents: 'none',
      storage: {
        minFreeBytes: overrides.minFreeBytes ?? 0,
        warnFreeBytes: overrides.warnFreeBytes ?? overrides.minFreeBytes ?? 0,
        ...(overrides.storageCheckIntervalS ? { checkIntervalS: overrides.storageCheckIntervalS } : {}),
        // This machine's own journal is not the terminal's to trim.
        journalKeep: null,
        // Patient data sealed at rest, as on every terminal: in a key file under the data
        // directory, or in the TPM when the rig has one (up --tpm).
        encryption: overrides.tpmTcti
          ? { enabled: true, keyStore: 'tpm', tpmTcti: overrides.tpmTcti }
          : { enabled: true, keyStore: 'file' },
      },
      media: {
        enabled: overrides.media ?? true,
        bitrateKbps: overrides.bitrateKbps ?? 1000,
        hardwareFailuresBeforeFallback: overrides.hardwareFailuresBeforeFallback ?? 3,
        // The rig's camera: a moving pattern with the wall clock burnt in, from a separate
        // process that can be unplugged, behind the same source interface a V4L2 camera uses.
        camera: overrides.discoverCameras ? { kind: 'auto' } : this.camera.firmwareCamera(),
        documentCamera: this.documentCamera?.firmwareCamera() ?? { kind: 'none' },
        // The rig's microphone: the call room's when it has one; else a live test tone ticking once
        // a second, so sound and its timing can be heard (and checked) in what the receiver and
        // the data centre get.
        microphone:
          (overrides.microphone ?? true)
            ? (this.roomMicrophone() ?? {
                kind: 'elements',
                elements: [
                  {
                    id: 'tone',
                    factory: 'audiotestsrc',
                    props: { 'is-live': true, wave: 'ticks', volume: 0.5 },
                  },
                ],
              })
            : { kind: 'none' },
        record: { width: 640, height: 360, fps: 30, segmentS: overrides.segmentS ?? 5 },
        // Reconnect attempts at most 4 s apart: a rig's media server comes back within seconds.
        live: overrides.rtp
          ? { transport: 'rtp', ...overrides.rtp }
          : overrides.live
            ? { transport: 'srt', retryMaxMs: 4000, ...overrides.live }
            : { transport: 'none' },
      },
      // Calls go to the data centres' Janus rooms (RigOptions.call); the loudspeaker plays into the
      // rig's room (call-measure/room.ts), whose microphone hears it back with the clinic's talker.
      ...(this.janus
        ? {
            call: {
              servers: { A: this.janus.A.ws, B: this.janus.B.ws },
              room: RIG_ROOM,
              ...(this.callLink ? { udpPorts: this.callLink.ports } : {}),
              speaker: this.room
                ? {
                    kind: 'elements',
                    elements: [
                      {
                        id: 'room',
                        factory: 'udpsink',
                        props: { host: '127.0.0.1', port: this.room.speakerPort, sync: true },
                      },
                    ],
                  }
                : { kind: 'none' },
            },
          }
        : {}),
    };
  }

  /**
   * With the room (calls): the microphone is the room's, RTP (L16, RFC 3551) on a UDP port it
   * speaks into, 10 ms a packet. The jitter buffer puts each packet back on its sample clock, so
   * the firmware hears a microphone as steady as a sound card's, however late the rig's event loop
   * sent a packet (a canceller needs the echo where it was: see room.ts).
   */
  private roomMicrophone() {
    if (!this.room) return null;
    return {
      kind: 'elements' as const,
      elements: [
        {
          id: 'room',
          factory: 'udpsrc',
          props: {
            address: '127.0.0.1',
            port: this.room.micPort,
            caps: `application/x-rtp,media=audio,clock-rate=48000,encoding-name=L16,channels=1,payload=${ROOM_MIC_PT}`,
          },
        },
        { id: 'room-jitter', factory: 'rtpjitterbuffer', props: { latency: 20 } },
        { id: 'room-depay', factory: 'rtpL16depay' },
      ],
    };
  }

  writeFirmwareConfig(overrides: Parameters<Rig['firmwareConfig']>[0] = {}): string {
    const path = join(this.options.dir, 'firmware', 'config.json');
    writeFileSync(path, JSON.stringify(this.firmwareConfig(overrides), null, 2));
    return path;
  }

  get kioskUrl(): string {
    return `http://127.0.0.1:${this.apiPort}/#token=${this.token}`;
  }

  /** Shapes the link to the data centres (made on first use), or takes the shape off (null). */
  async shapeLink(shape: LinkShape | null): Promise<void> {
    if (shape === null) {
      this.callLink?.clear();
      await this.link?.clear();
      return;
    }
    this.callLink?.apply(shape);
    this.link ??= await ShapedLink.create(this.options.dir, {
      A: () => this.dcs.A.port,
      B: () => this.dcs.B.port,
    });
    await this.link.apply(shape);
  }

  async stop(): Promise<void> {
    this.callLink?.clear();
    await this.link?.stop();
    await Promise.all([
      this.proxies.A.stop(),
      this.proxies.B.stop(),
      this.dcs.A.stop(),
      this.dcs.B.stop(),
      this.broker.stop(),
      this.brokerLink.stop(),
      ...this.cables.map((c) => c.unplug()),
      this.idReader.stop().then(() => this.idReaderCable.unplug()),
      this.camera.unplug(),
      this.documentCamera?.unplug(),
      this.hidRelay?.stop(),
      this.gpio.stop(),
      this.janus?.A.stop(),
      this.janus?.B.stop(),
      this.room?.stop(),
    ]);
  }
}
