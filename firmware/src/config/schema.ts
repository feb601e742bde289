import { type Static, Type } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

const PortIdentity = Type.Object(
  {
    serialNumber: Type.Optional(Type.String({ minLength: 1 })),
    vendorId: Type.Optional(Type.String({ pattern: '^(0x)?[0-9a-fA-F]{1,4}$' })),
    productId: Type.Optional(Type.String({ pattern: '^(0x)?[0-9a-fA-F]{1,4}$' })),
    path: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

const Cart = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9-]{1,32}$' }),
    identity: PortIdentity,
    baudRate: Type.Integer({ default: 115200, minimum: 1200, maximum: 921600 }),
    protocol: Type.Literal('ymodem', { default: 'ymodem' }),
    /** YMODEM timing; the defaults are the protocol reference's (10 s per block, 10 retries). */
    blockTimeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
    maxRetries: Type.Integer({ default: 10, minimum: 1, maximum: 100 }),
    vendorProfile: Type.Union(
      [Type.Literal('auto'), Type.Literal('standard'), Type.Literal('healforce-prince-180d')],
      { default: 'auto' },
    ),
  },
  { additionalProperties: false },
);

/** A resident ID card reader (SAM module) on a serial line (GA 467 protocol, 115200 8N1). */
const IdReader = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9-]{1,32}$' }),
    identity: PortIdentity,
    baudRate: Type.Integer({ default: 115200, minimum: 1200, maximum: 921600 }),
  },
  { additionalProperties: false },
);

/** One GPIO line: its number on the board's GPIO chip, and whether active is low (pull-up wiring). */
const GpioLine = Type.Object(
  { line: Type.Integer({ minimum: 0, maximum: 1023 }), activeLow: Type.Boolean({ default: false }) },
  { additionalProperties: false },
);

const HexId = Type.String({ pattern: '^(0x)?[0-9a-fA-F]{1,4}$' });

/** A barcode/QR scanner on USB HID (keyboard-wedge or HID POS mode). */
const HidScanner = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9-]{1,32}$' }),
    identity: Type.Object(
      { vendorId: HexId, productId: HexId, serialNumber: Type.Optional(Type.String({ minLength: 1 })) },
      { additionalProperties: false },
    ),
    /** 'auto' uses the interface the scanner offers (HID POS when it has one). */
    mode: Type.Union([Type.Literal('auto'), Type.Literal('wedge'), Type.Literal('pos')], { default: 'auto' }),
    /**
     * Reports from a HID relay socket instead of this machine's USB: the rig's simulated scanner
     * (the firmware runs as its own process there), or a scanner behind a USB-over-IP hub.
     */
    relaySocket: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

const DataCentre = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    /** DICOMweb root, e.g. https://pacs-a.example/dicom-web */
    dicomWebUrl: Type.String({ pattern: '^https?://' }),
    /** Where the uplink probes health; defaults to the DICOMweb root. */
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** The one configuration schema; every type of the daemon's settings derives from it. */
/** One GStreamer element of a source chain (the rig's test camera and microphone). */
const ElementSpec = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9-]+$' }),
    // Factory names as GStreamer spells them: rtpL16depay, avdec_h264, input-selector.
    factory: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$' }),
    props: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    ),
  },
  { additionalProperties: false },
);

/** A camera as a chain of GStreamer elements (the rig's cameras). */
const ElementsCamera = Type.Object(
  {
    kind: Type.Literal('elements'),
    elements: Type.Array(ElementSpec, { minItems: 1 }),
    /**
     * A path that exists while the camera is plugged in (its device node, or the rig's camera
     * socket): how a lost camera is noticed coming back.
     */
    presencePath: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

/** A sound device: 'auto' (found on the board), 'none', or a chain of GStreamer elements. */
const AudioDevice = Type.Union(
  [
    Type.Object({ kind: Type.Literal('auto') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
    Type.Object(
      { kind: Type.Literal('elements'), elements: Type.Array(ElementSpec, { minItems: 1 }) },
      { additionalProperties: false },
    ),
  ],
  { default: { kind: 'auto' } },
);

export const ConfigSchema = Type.Object(
  {
    device: Type.Object(
      {
        id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
        province: Type.String({ pattern: '^[a-z0-9-]{1,32}$' }),
        county: Type.String({ pattern: '^[a-z0-9-]{1,32}$' }),
        /** UID root assigned to this terminal (the province's root plus the terminal's number). */
        uidRoot: Type.String({ pattern: '^[0-2](\\.(0|[1-9][0-9]*)){1,20}$', maxLength: 40 }),
        institutionName: Type.String({ default: '' }),
      },
      { additionalProperties: false },
    ),
    dataDir: Type.String({ minLength: 1 }),
    carts: Type.Array(Cart, { default: [] }),
    idReaders: Type.Array(IdReader, { default: [] }),
    hidScanners: Type.Array(HidScanner, { default: [] }),
    dataCentres: Type.Object(
      {
        home: Type.Union([Type.Literal('A'), Type.Literal('B')]),
        A: DataCentre,
        B: DataCentre,
        requestTimeoutMs: Type.Integer({ default: 30_000, minimum: 100 }),
        retryInitialMs: Type.Integer({ default: 2_000, minimum: 10 }),
        retryMaxMs: Type.Integer({ default: 300_000, minimum: 10 }),
        /** Consecutive failures (uploads or probes) before a data centre counts as down. */
        failoverAfter: Type.Integer({ default: 2, minimum: 1 }),
        /** Consecutive answers before a data centre that was down counts as up (home: traffic returns). */
        recoverAfter: Type.Integer({ default: 3, minimum: 1 }),
        /** How often each data centre is probed (QIDO-RS), ± 20 %. */
        probeIntervalMs: Type.Integer({ default: 15_000, minimum: 100 }),
        /**
         * The uplink's share of the clinic link in kbit/s (null: no cap). A county link is about
         * 10 Mbit/s and shared: 8 Mbit/s leaves room for the clinic's other traffic.
         */
        uploadKbps: Type.Union([Type.Integer({ minimum: 64 }), Type.Null()], { default: 8000 }),
        /** The uplink's share while a live consultation runs (the video goes first). */
        duringLiveKbps: Type.Union([Type.Integer({ minimum: 64 }), Type.Null()], { default: 1500 }),
        /** Uploads in flight at most (plus one kept for ECGs); more only while uploads succeed. */
        maxInFlight: Type.Integer({ default: 3, minimum: 1, maximum: 8 }),
      },
      { additionalProperties: false },
    ),
    mqtt: Type.Object(
      {
        brokers: Type.Array(Type.String({ pattern: '^(mqtts?|wss?|tcp)://' }), { minItems: 1 }),
        username: Type.Optional(Type.String()),
        password: Type.Optional(Type.String()),
        caFile: Type.Optional(Type.String()),
        certFile: Type.Optional(Type.String()),
        keyFile: Type.Optional(Type.String()),
        healthIntervalS: Type.Integer({ default: 60, minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    api: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ default: 8470, minimum: 0, maximum: 65535 }),
        /** Bearer token the kiosk presents; at least 16 characters. */
        token: Type.String({ minLength: 16 }),
        kioskDir: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    /**
     * Where USB arrivals and departures come from: udev (`udevadm monitor`) on the board; 'none'
     * where there is no udev (drivers then find replugged devices by polling, seconds later).
     */
    usbEvents: Type.Union([Type.Literal('udev'), Type.Literal('none')], { default: 'udev' }),
    gpio: Type.Object(
      {
        /** Board line numbers and polarity differ: each input/output is named by line and polarity. */
        callButton: Type.Optional(GpioLine),
        statusLed: Type.Optional(GpioLine),
        tamper: Type.Optional(GpioLine),
        powerFail: Type.Optional(GpioLine),
        /** A level counts once it has held this long (contact bounce is a few ms). */
        debounceMs: Type.Integer({ default: 30, minimum: 1, maximum: 1000 }),
        /** A call-button press held this long cancels a call instead. */
        longPressMs: Type.Integer({ default: 2000, minimum: 200, maximum: 10_000 }),
        /** Power failed: how long recordings and scans in flight get to finish before the flush. */
        powerFailBudgetMs: Type.Integer({ default: 3000, minimum: 100, maximum: 60_000 }),
        /** Lines from a GPIO relay socket instead of this board's sysfs GPIO (the rig). */
        relaySocket: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    scanner: Type.Object(
      {
        /** Look for a document scanner (SANE). Off on terminals without one. */
        enabled: Type.Boolean({ default: true }),
        /** 'auto': the first scanner SANE lists; or a SANE device name (`genesys:libusb:001:004`). */
        device: Type.String({ default: 'auto', minLength: 1 }),
        /** 200 dpi greyscale keeps text and handwriting legible at ~100–300 KB an A4 page. */
        resolution: Type.Integer({ default: 200, minimum: 50, maximum: 1200 }),
        colour: Type.Boolean({ default: false }),
        paper: Type.Union([Type.Literal('A4'), Type.Literal('A5'), Type.Literal('letter')], {
          default: 'A4',
        }),
        /** scanimage to run (default: the one on PATH). */
        command: Type.Optional(Type.String({ minLength: 1 })),
        /** SANE_CONFIG_DIR for scanimage: which backends SANE loads (the rig enables `test`). */
        saneConfigDir: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Object(
      {
        /** New captures are refused below this much free space (design.md: refuse before risk). */
        minFreeBytes: Type.Integer({ default: 500 * 1024 * 1024, minimum: 0 }),
        /**
         * Below this much free space: an alarm to the NOC and the kiosk, the journal trimmed, and
         * local copies of delivered studies removed oldest first (never undelivered ones), before
         * the reserve above is reached. At least minFreeBytes.
         */
        warnFreeBytes: Type.Integer({ default: 1024 * 1024 * 1024, minimum: 0 }),
        /** Delivered studies keep their local copy this many days (for viewing, for a resend), then it is removed. */
        retentionDays: Type.Number({ default: 30, minimum: 0 }),
        /** How often free space and retention are checked (also after every refused capture). */
        checkIntervalS: Type.Integer({ default: 60, minimum: 1 }),
        /** journald's persistent journal is vacuumed to this size first when storage runs low; null: left alone. */
        journalKeep: Type.Union([Type.String({ pattern: '^[0-9]+[KMG]$' }), Type.Null()], { default: '64M' }),
        /**
         * Patient data at rest: files and patient fields sealed with AES-256-GCM under the device's
         * data key (store/at-rest.ts, store/data-key.ts). On by default; off only for benchmarks and
         * bench terminals, never once a terminal has sealed data (the store refuses to start).
         */
        encryption: Type.Object(
          {
            enabled: Type.Boolean({ default: true }),
            /** 'auto': an existing key file stays; else the TPM when the board has one; else a file. */
            keyStore: Type.Union([Type.Literal('auto'), Type.Literal('tpm'), Type.Literal('file')], {
              default: 'auto',
            }),
            /** The key file (mode 0600, the service's user) when there is no TPM; null: <dataDir>/keys/data.key. */
            keyFile: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
            /** TPM2TOOLS_TCTI for tpm2-tools; null: the tools' default (/dev/tpmrm0). */
            tpmTcti: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
            /** The TPM persistent handle (owner range) the sealed key lives at. */
            tpmHandle: Type.String({ pattern: '^0x81[0-7][0-9A-Fa-f]{5}$', default: '0x81000A11' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    media: Type.Object(
      {
        /** Start the media worker (GStreamer). Off only on terminals without cameras. */
        enabled: Type.Boolean({ default: true }),
        /** 'auto' picks from the encoder table, hardware first; an element name pins one. */
        encoder: Type.String({ default: 'auto' }),
        /** Consultation video: 1080p30 at this bitrate; weak links step down from here. */
        bitrateKbps: Type.Integer({ default: 4000, minimum: 100, maximum: 50_000 }),
        /** Run-time failures of a hardware encoder before this boot falls back to software. */
        hardwareFailuresBeforeFallback: Type.Integer({ default: 3, minimum: 1 }),
        heartbeatTimeoutMs: Type.Integer({ default: 5000, minimum: 500 }),
        /** 'auto': the first camera the device monitor finds; or a chain of GStreamer elements. */
        camera: Type.Union(
          [Type.Object({ kind: Type.Literal('auto') }, { additionalProperties: false }), ElementsCamera],
          { default: { kind: 'auto' } },
        ),
        /**
         * The document camera beside the room camera (a page, an X-ray film, a wound up close):
         * 'none'; a USB camera picked by `match` — its serial number, its USB bus path, or a part
         * of its name as the local API's `status.usbDevices` lists it (the room camera's 'auto' then passes it
         * over); or a chain of elements (the rig's). Staff switch between the two in the kiosk.
         */
        documentCamera: Type.Union(
          [
            Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
            Type.Object(
              { kind: Type.Literal('usb'), match: Type.String({ minLength: 1 }) },
              { additionalProperties: false },
            ),
            ElementsCamera,
          ],
          { default: { kind: 'none' } },
        ),
        /**
         * Sound for live out and recordings (AAC): 'auto' the first capture device the device
         * monitor finds (none found: video without sound), 'none', or a chain of GStreamer elements.
         */
        microphone: AudioDevice,
        /** Live consultation video out: SRT caller to the province media server (design.md), or RTP/UDP. */
        live: Type.Union(
          [
            Type.Object({ transport: Type.Literal('none') }, { additionalProperties: false }),
            Type.Object(
              {
                transport: Type.Literal('srt'),
                /** srt://host:port of the province's media server (listener). */
                uri: Type.String({ pattern: '^srt://[^/?#]+:[0-9]+$' }),
                /** AES passphrase from provisioning (SRT requires 10–79 characters). */
                passphrase: Type.String({ minLength: 10, maxLength: 79 }),
                latencyMs: Type.Integer({ default: 120, minimum: 20, maximum: 8000 }),
                /** Longest wait between attempts to reach the media server (back-off from 1 s). */
                retryMaxMs: Type.Integer({ default: 30_000, minimum: 1000, maximum: 600_000 }),
              },
              { additionalProperties: false },
            ),
            /**
             * The second option: RTP (RFC 6184 H.264 payload) over plain UDP to host:port, for a
             * media server without SRT. No encryption and no link statistics: the bitrate stays
             * as configured.
             */
            Type.Object(
              {
                transport: Type.Literal('rtp'),
                host: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.:-]+$' }),
                port: Type.Integer({ minimum: 1, maximum: 65_535 }),
                payloadType: Type.Integer({ default: 96, minimum: 96, maximum: 127 }),
              },
              { additionalProperties: false },
            ),
          ],
          { default: { transport: 'none' } },
        ),
        record: Type.Object(
          {
            width: Type.Integer({ default: 1920, minimum: 160, maximum: 3840 }),
            height: Type.Integer({ default: 1080, minimum: 120, maximum: 2160 }),
            fps: Type.Integer({ default: 30, minimum: 1, maximum: 60 }),
            /** design.md: one instance per segment, so a lost link costs one segment. */
            segmentS: Type.Number({ default: 30, minimum: 0.5, maximum: 600 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Two-way consultation calls (WebRTC) with the province's specialists: a Janus VideoRoom per
     * data centre, the home one first, the other when it cannot be reached.
     */
    call: Type.Object(
      {
        /** Each data centre's media server (Janus's WebSocket API); null: none there. */
        servers: Type.Object(
          {
            A: Type.Union([Type.String({ pattern: '^wss?://' }), Type.Null()], { default: null }),
            B: Type.Union([Type.String({ pattern: '^wss?://' }), Type.Null()], { default: null }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** The duty specialist's room ("call the duty specialist"). */
        room: Type.Integer({ default: 1234, minimum: 1 }),
        /** The loudspeaker: 'auto' (the system's default output), 'none', or a chain of elements ending in its sink. */
        speaker: AudioDevice,
        /**
         * Where the specialist's picture is drawn. 'kiosk': the kiosk shows it as JPEG frames from
         * the local API (a few a second; this PC, the Chromium fallback). 'overlay': decoded
         * straight onto the board's display by `elements` (a video sink: `kmssink` with its
         * overlay plane, or `waylandsink` under the kiosk's compositor) inside `rectangle`, the
         * place the kiosk's layout leaves clear for it (the kiosk then fetches no frames; the local
         * API still answers for snapshots). Measured in
         * docs/benchmarks.md: full-rate frames through the renderer cost 2–3.5× the decoding.
         */
        farEndDisplay: Type.Union(
          [
            Type.Object({ kind: Type.Literal('kiosk') }, { additionalProperties: false }),
            Type.Object(
              {
                kind: Type.Literal('overlay'),
                elements: Type.Array(ElementSpec, { minItems: 1 }),
                rectangle: Type.Object(
                  {
                    x: Type.Integer({ minimum: 0 }),
                    y: Type.Integer({ minimum: 0 }),
                    width: Type.Integer({ minimum: 16 }),
                    height: Type.Integer({ minimum: 16 }),
                  },
                  { additionalProperties: false },
                ),
              },
              { additionalProperties: false },
            ),
          ],
          { default: { kind: 'kiosk' } },
        ),
        /** webrtcbin's jitter buffer for the far end (its own default, 200 ms, adds ~120 ms). */
        latencyMs: Type.Integer({ default: 60, minimum: 20, maximum: 2000 }),
        /** Echo cancellation, noise suppression and gain control on the microphone (webrtcdsp). */
        echoControl: Type.Boolean({ default: true }),
        /** Our sending bitrate's ceiling in a call (the link lowers it; the server's REMB too). */
        bitrateKbps: Type.Integer({ default: 1500, minimum: 100, maximum: 20_000 }),
        /**
         * The UDP ports a call's media may use (ICE candidates from these only), for a clinic
         * whose firewall opens a range for calls; null: any.
         */
        udpPorts: Type.Union(
          [
            Type.Object(
              {
                min: Type.Integer({ minimum: 1024, maximum: 65_535 }),
                max: Type.Integer({ minimum: 1024, maximum: 65_535 }),
              },
              { additionalProperties: false },
            ),
            Type.Null(),
          ],
          { default: null },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type CartConfig = Static<typeof Cart>;
export type HidScannerConfig = Static<typeof HidScanner>;
export type DataCentreId = 'A' | 'B';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A value that matches none of a union's shapes is reported by TypeBox as "Expected union value",
 * which names nothing. Reported instead: what is wrong against the shape it comes closest to (the
 * one with the fewest problems, e.g. `{"kind":"elements"}` with a bad element), recursively.
 */
function closestErrors(errors: ValueError[]): ValueError[] {
  return errors.flatMap((e) => {
    if (e.type !== ValueErrorType.Union || e.errors.length === 0) return [e];
    const variants = e.errors.map((variant) => [...variant]);
    const closest = variants.reduce((best, v) => (v.length < best.length ? v : best));
    return closest.length === 0 ? [e] : closestErrors(closest);
  });
}

/** Validates an outside value against the schema, reporting every problem with its field path. */
export function parseConfig(input: unknown): Config {
  const withDefaults = Value.Default(ConfigSchema, structuredClone(input));
  const problems = closestErrors([...Value.Errors(ConfigSchema, withDefaults)]).map(
    (e) =>
      `${e.path || '/'}: ${e.message}${e.value !== undefined && typeof e.value !== 'object' ? ` (got ${JSON.stringify(e.value)})` : ''}`,
  );
  if (problems.length === 0) {
    // Rules between fields, reported with the schema's own.
    const { storage, call } = withDefaults as Config;
    if (storage.warnFreeBytes < storage.minFreeBytes)
      problems.push(
        `/storage/warnFreeBytes: must be at least /storage/minFreeBytes (${storage.minFreeBytes}): the alarm comes before captures are refused (got ${storage.warnFreeBytes})`,
      );
    // Two streams (sending, receiving), each one port with bundling, and room for a reconnect.
    if (call.udpPorts && call.udpPorts.max - call.udpPorts.min < 3)
      problems.push(
        `/call/udpPorts: max must be at least min + 3 (two streams and a reconnect) (got ${call.udpPorts.min}–${call.udpPorts.max})`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return withDefaults as Config;
}
