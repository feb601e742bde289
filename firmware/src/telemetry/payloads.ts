import { FormatRegistry, type Static, Type } from '@sinclair/typebox';
import { CallCounters, CallLinkItem, StoreRecoveryItem } from '../api/types.ts';

// JSON Schema's date-time (RFC 3339) for TypeBox's own checks; the NOC's validators know it natively.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v),
  );
}

/**
 * Versioned MQTT payloads. These schemas are published (docs/schemas/*.json, written by
 * `npm run schemas`) for the NOC's fleet exporter. No patient data may appear in any of them.
 */
export const StatePayload = Type.Object(
  {
    v: Type.Literal(1),
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    at: Type.String({ format: 'date-time' }),
    firmware: Type.String(),
  },
  { $id: 'telemed/state/1', additionalProperties: false },
);

const Counters = Type.Record(Type.String(), Type.Number());

export const HealthPayload = Type.Object(
  {
    v: Type.Literal(1),
    at: Type.String({ format: 'date-time' }),
    historical: Type.Boolean({ description: 'true when buffered while offline and replayed later' }),
    deviceId: Type.String(),
    versions: Type.Object({ firmware: Type.String(), node: Type.String() }),
    uptimeS: Type.Integer(),
    disk: Type.Object({
      freeBytes: Type.Number(),
      totalBytes: Type.Number(),
      /** ok; low: below warnFreeBytes (delivered copies purged early); full: below minFreeBytes (captures refused). */
      level: Type.Union([Type.Literal('ok'), Type.Literal('low'), Type.Literal('full')]),
      warnFreeBytes: Type.Number(),
      minFreeBytes: Type.Number(),
      /** Local copies of delivered instances removed (retention or storage low), and their bytes. */
      purgedInstances: Type.Integer(),
      purgedBytes: Type.Number(),
      /** Times free space fell below warnFreeBytes, and bytes freed by trimming logs. */
      lowEpisodes: Type.Integer(),
      trimmedBytes: Type.Number(),
    }),
    temperatureC: Type.Union([Type.Number(), Type.Null()]),
    /**
     * How late the daemon's event loop ran over the last window (monitorEventLoopDelay): the carts'
     * YMODEM and the kiosk share it. p99 above budgetP99Ms means heavy work is blocking the loop.
     */
    eventLoop: Type.Object({
      windowS: Type.Number(),
      p50Ms: Type.Number(),
      p99Ms: Type.Number(),
      maxMs: Type.Number(),
      budgetP99Ms: Type.Number(),
      windowsOverBudget: Type.Integer(),
    }),
    devices: Type.Object({
      ecgCarts: Type.Array(
        Type.Object({
          id: Type.String(),
          state: Type.String(),
          port: Type.Union([Type.String(), Type.Null()]),
          problem: Type.Union([Type.String(), Type.Null()]),
          counters: Counters,
        }),
      ),
      idReaders: Type.Array(
        Type.Object({
          id: Type.String(),
          state: Type.String({ description: 'searching | opening | connected | reading | stopped' }),
          port: Type.Union([Type.String(), Type.Null()]),
          problem: Type.Union([Type.String(), Type.Null()]),
          counters: Counters,
        }),
      ),
      hidScanners: Type.Array(
        Type.Object({
          id: Type.String(),
          state: Type.String({ description: 'searching | connected | stopped' }),
          mode: Type.Union([Type.Literal('wedge'), Type.Literal('pos'), Type.Null()]),
          problem: Type.Union([Type.String(), Type.Null()]),
          counters: Counters,
        }),
      ),
      usb: Type.Array(
        Type.Object({
          kind: Type.String({
            description: 'usb-serial | barcode-scanner | document-scanner | camera | id-reader | unknown',
          }),
          name: Type.String(),
          vendorId: Type.Union([Type.String(), Type.Null()]),
          productId: Type.Union([Type.String(), Type.Null()]),
          serialNumber: Type.Union([Type.String(), Type.Null()]),
          nodes: Type.Array(Type.String()),
          present: Type.Boolean(),
          lastSeen: Type.String(),
          arrivals: Type.Integer(),
          departures: Type.Integer(),
        }),
      ),
      gpio: Type.Object({
        lines: Type.Array(
          Type.Object({
            name: Type.String({ description: 'callButton | statusLed | tamper | powerFail' }),
            state: Type.String({ description: 'absent | ready | failed' }),
            line: Type.Union([Type.Integer(), Type.Null()]),
            problem: Type.Union([Type.String(), Type.Null()]),
          }),
        ),
        led: Type.String({ description: 'off | ready | recording | uploading | fault | power-fail' }),
        doorOpen: Type.Union([Type.Boolean(), Type.Null()]),
        power: Type.String({ description: 'normal | failing | flushed' }),
        lastPowerFailFlushedMs: Type.Union([Type.Integer(), Type.Null()]),
        counters: Counters,
      }),
      scanner: Type.Union([
        Type.Null(),
        Type.Object({
          state: Type.String({ description: 'unknown | absent | ready | failed' }),
          device: Type.Union([
            Type.String({ description: 'vendor and model, never a document' }),
            Type.Null(),
          ]),
          problem: Type.Union([Type.String(), Type.Null()]),
          job: Type.String({ description: 'idle | scanning | cancelling | sending' }),
          counters: Counters,
        }),
      ]),
    }),
    queue: Type.Object({
      depth: Type.Integer(),
      oldestUndeliveredAgeS: Type.Integer(),
      byPriority: Type.Array(
        Type.Object({
          priority: Type.Integer(),
          name: Type.String(),
          depth: Type.Integer(),
          oldestAgeS: Type.Integer(),
        }),
      ),
    }),
    instances: Counters,
    /** Moves of new uploads away from the home data centre (failovers), and back (failbacks). */
    uplinkSwitches: Type.Object({ failovers: Type.Integer(), failbacks: Type.Integer() }),
    /** Start-up reconciliation of the store after the last restart (null before it ran). */
    storeRecovery: Type.Union([Type.Null(), StoreRecoveryItem]),
    /**
     * The audit log: entries so far and the newest one's hash (kept by the NOC, a log cut short
     * no longer ends there), and where its chain broke when the start-up check found it broken.
     */
    audit: Type.Object({
      entries: Type.Integer(),
      hash: Type.String(),
      chainBroken: Type.Union([Type.Null(), Type.Object({ id: Type.Integer(), reason: Type.String() })]),
    }),
    /**
     * Patient data at rest: 'aes-256-gcm' or 'off'; where the data key lives (TPM or key file) and
     * its fingerprint (an HMAC under the key: tells keys apart, reveals nothing of it).
     */
    encryption: Type.Object({
      mode: Type.Union([Type.Literal('aes-256-gcm'), Type.Literal('off')]),
      keyStore: Type.Union([Type.Literal('tpm'), Type.Literal('file'), Type.Null()]),
      keyFingerprint: Type.Union([Type.String(), Type.Null()]),
    }),
    uplink: Type.Record(
      Type.String(),
      Type.Object({
        name: Type.String(),
        state: Type.String(),
        home: Type.Boolean(),
        /** New uploads go here now. */
        active: Type.Boolean(),
        consecutiveFailures: Type.Integer(),
        delivered: Type.Integer(),
        probes: Type.Integer(),
        probeFailures: Type.Integer(),
        lastSuccessAt: Type.Union([Type.String(), Type.Null()]),
        lastError: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    /**
     * The uplink's use of the clinic link: its bandwidth cap now (lower while a live consultation
     * runs), uploads in flight and allowed, bytes sent and bytes that must go again (cut uploads:
     * plain STOW-RS cannot resume, so a cut costs at most one instance, kept small by segmenting).
     */
    uplinkFlow: Type.Object({
      capKbps: Type.Union([Type.Number(), Type.Null()]),
      live: Type.Boolean(),
      inFlight: Type.Integer(),
      allowedInFlight: Type.Integer(),
      sentBytes: Type.Integer(),
      resentBytes: Type.Integer(),
    }),
    ingest: Counters,
    telemetry: Type.Object({
      state: Type.String({ description: 'connecting | online | offline | stopped' }),
      counters: Type.Object(
        {
          connects: Type.Integer(),
          published: Type.Integer(),
          buffered: Type.Integer(),
          dropped: Type.Integer(),
          replayed: Type.Integer(),
        },
        {
          description:
            'buffered: kept while offline; dropped: lost to the buffer bound; replayed: sent later as historical',
        },
      ),
    }),
    encoder: Type.Union([Type.String(), Type.Null()], { description: 'the H.264 encoder element in use' }),
    media: Type.Union([
      Type.Null(),
      Type.Object({
        worker: Type.String({ description: 'starting | ready | restarting | stopped' }),
        gstVersion: Type.Union([Type.String(), Type.Null()]),
        counters: Type.Object({
          starts: Type.Integer(),
          crashes: Type.Integer(),
          heartbeatKills: Type.Integer(),
          requestTimeouts: Type.Integer(),
        }),
        encoder: Type.Object({
          state: Type.String({ description: 'unknown | ready | none' }),
          element: Type.Union([Type.String(), Type.Null()]),
          kind: Type.Union([Type.Literal('hardware'), Type.Literal('software'), Type.Null()]),
          family: Type.Union([Type.String(), Type.Null()]),
          fallbackReason: Type.Union([Type.String(), Type.Null()]),
          available: Type.Array(Type.String()),
          failedHardware: Type.Array(Type.String()),
        }),
        camera: Type.Object({
          state: Type.String({
            description: 'off | starting | live | stopping | waiting (unplugged in use)',
          }),
          name: Type.Union([Type.String(), Type.Null()]),
          active: Type.Union([Type.Literal('room'), Type.Literal('document'), Type.Null()], {
            description: 'the camera shown (room or document camera); null while the video is off',
          }),
          lastError: Type.Union([Type.String(), Type.Null()]),
          counters: Type.Object({ starts: Type.Integer(), losses: Type.Integer(), returns: Type.Integer() }),
          microphone: Type.Union([Type.String(), Type.Null()], {
            description: 'the microphone sent and recorded with the video; null: video without sound',
          }),
          audioEncoder: Type.Union([Type.String(), Type.Null()], {
            description: 'the AAC encoder the registry offers (fdkaacenc, avenc_aac, voaacenc), or null',
          }),
        }),
        encoderOutput: Type.Union([Type.Null(), Type.Object({ fps: Type.Number(), kbps: Type.Number() })], {
          description: "measured at the encoder's output over the last second while the camera runs",
        }),
        live: Type.Object({
          state: Type.String({
            description: 'off | connecting | live | retrying (media server unreachable or refusing)',
          }),
          lastError: Type.Union([Type.String(), Type.Null()]),
          counters: Type.Object({
            attempts: Type.Integer(),
            connected: Type.Integer(),
            failures: Type.Integer(),
          }),
          bitrateKbps: Type.Number({ description: 'the encoder rate adapted to the link' }),
          resolution: Type.Object(
            { width: Type.Integer(), height: Type.Integer() },
            { description: 'the picture size encoded now: smaller on a weak link, held while recording' },
          ),
          bitrateSteps: Type.Object({ stepsDown: Type.Integer(), stepsUp: Type.Integer() }),
          rttMs: Type.Union([Type.Number(), Type.Null()]),
        }),
        recording: Type.Object({
          state: Type.String({ description: 'idle | recording | finishing' }),
          segments: Type.Integer(),
        }),
      }),
    ]),
    call: Type.Optional(
      Type.Union(
        [
          Type.Null(),
          Type.Object({
            state: Type.String({ description: 'idle | joining | in-call | reconnecting | leaving' }),
            server: Type.Union([Type.Literal('A'), Type.Literal('B'), Type.Null()], {
              description: 'the data centre whose media server the call is on',
            }),
            farEnd: Type.Boolean({ description: 'the specialist is in the room and received' }),
            received: Type.Union([
              Type.Null(),
              Type.Object({
                framesRendered: Type.Integer(),
                framesDropped: Type.Integer(),
                fps: Type.Union([Type.Number(), Type.Null()]),
                width: Type.Union([Type.Integer(), Type.Null()]),
                height: Type.Union([Type.Integer(), Type.Null()]),
                audioSeconds: Type.Number(),
                freezes: Type.Integer({ description: "seconds the far end's picture stood still" }),
              }),
            ]),
            link: Type.Union([Type.Null(), CallLinkItem], {
              description: 'bitrates both ways, loss each way, round trip, jitter, the adapted sending rate',
            }),
            echoControl: Type.Boolean({ description: 'webrtcdsp echo cancellation on the microphone' }),
            picture: Type.Union(
              [Type.Null(), Type.Literal('camera'), Type.Literal('camera-lost'), Type.Literal('camera-off')],
              {
                description:
                  'what the far end is sent: the camera, or the placeholder because the camera is unplugged or turned off; null outside a room',
              },
            ),
            counters: CallCounters,
          }),
        ],
        { description: 'the two-way consultation call; null: no media server configured' },
      ),
    ),
  },
  { $id: 'telemed/health/1', additionalProperties: false },
);

export const EventPayload = Type.Object(
  {
    v: Type.Literal(1),
    at: Type.String({ format: 'date-time' }),
    historical: Type.Boolean(),
    severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('alarm')]),
    code: Type.String(),
    message: Type.String(),
    subject: Type.Optional(Type.String()),
  },
  { $id: 'telemed/event/1', additionalProperties: false },
);

export type StatePayload = Static<typeof StatePayload>;
export type HealthPayload = Static<typeof HealthPayload>;
export type EventPayload = Static<typeof EventPayload>;
