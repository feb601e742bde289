import gi from 'node-gtk';
import { AUDIO_ENCODERS, type MicrophoneInfo } from './audio.ts';
import { CALL_ECHO_CONTROL, CALL_REQUIRES, DECODERS } from './call-pipelines.ts';
import { ENCODERS } from './encoders.ts';
import type {
  GLibNamespace,
  GstAppSink,
  GstAppSrc,
  GstDevice,
  GstElement,
  GstElementWithPads,
  GstMessage,
  GstNamespace,
  GstPipeline,
  GstSample,
  GstVideoNamespace,
  InputSelector,
} from './gst-types.ts';
import type { BusKind, WorkerMessage, WorkerRequest } from './ipc.ts';
import { type PipelineSpec, specProblems } from './pipeline-spec.ts';
import { Taps } from './worker-taps.ts';
import { WebRtcCalls, type WebRtcDeps } from './worker-webrtc.ts';

/**
 * The media worker: a child process of the daemon that owns GStreamer. It runs a GLib main loop
 * (node-gtk nests libuv inside it, so IPC keeps flowing) and answers the daemon's requests. A crash
 * or a wedged encoder here costs the daemon a restart of this process, nothing more.
 */
const GLib = gi.require('GLib', '2.0') as GLibNamespace;
const Gst = gi.require('Gst', '1.0') as GstNamespace;
Gst.init(null);
// Only after Gst.init: GstVideo's typelib needs GStreamer initialised.
const GstVideo = gi.require('GstVideo', '1.0') as GstVideoNamespace;
// So that appsink/appsrc elements are wrapped with their pull/push API.
gi.require('GstApp', '1.0');
/** Consultation calls: webrtcbin's API (its session descriptions, SDP messages). */
const webrtc = new WebRtcCalls({
  Gst: Gst as WebRtcDeps['Gst'],
  GLib,
  GstWebRTC: gi.require('GstWebRTC', '1.0') as WebRtcDeps['GstWebRTC'],
  GstSdp: gi.require('GstSdp', '1.0') as WebRtcDeps['GstSdp'],
});

const HEARTBEAT_MS = Number(process.env['TELEMED_MEDIA_HEARTBEAT_MS'] ?? 1000);
const pipelines = new Map<string, GstPipeline>();
/** finish requests waiting for their pipeline's EOS. */
const finishing = new Map<string, number>();

/** Encoded-video taps: meters at the encoder's output, and the feeds recordings are made from. */
const taps = new Taps({ Gst, GLib, GstVideo }, (meter) =>
  send({
    type: 'bus',
    pipeline: meter.pipeline,
    kind: 'meter',
    element: meter.element,
    message: `${meter.fps} frames/s, ${meter.kbps} kbit/s`,
    debug: null,
    meter: { fps: meter.fps, kbps: meter.kbps, keyRequests: meter.keyRequests },
  }),
);

function send(message: WorkerMessage): void {
  process.send?.(message);
}

class BuildError extends Error {
  constructor(
    readonly element: string | null,
    message: string,
  ) {
    super(message);
  }
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** What the device monitor lists of one class (`Video/Source`, `Audio/Source`) right now. */
function devicesNow(klass: string): GstDevice[] {
  const monitor = new Gst.DeviceMonitor();
  monitor.addFilter(klass, null);
  monitor.start();
  const devices = monitor.getDevices() ?? [];
  monitor.stop();
  return devices;
}

function build(spec: PipelineSpec): GstPipeline {
  const problems = specProblems(spec);
  if (problems.length > 0) throw new BuildError(null, problems.join('; '));
  // ElementFactory names it; node-gtk's `new Gst.Pipeline(name)` would not.
  const pipeline = Gst.ElementFactory.make('pipeline', spec.name) as GstPipeline;
  const elements = new Map<string, GstElement>();
  for (const e of spec.elements) {
    const element = Gst.ElementFactory.make(e.factory, e.id);
    if (!element)
      throw new BuildError(
        e.id,
        `${e.id}: no element "${e.factory}" (its GStreamer plugin is not installed)`,
      );
    for (const [name, value] of Object.entries(e.props ?? {})) {
      if (!(camel(name) in element))
        throw new BuildError(e.id, `${e.id}: ${e.factory} has no property "${name}"`);
      Gst.utilSetObjectArg(element, name, String(value));
    }
    if (e.renderRectangle) {
      const overlay = element as unknown as { setRenderRectangle?: (...xywh: number[]) => boolean };
      const { x, y, width, height } = e.renderRectangle;
      if (
        typeof overlay.setRenderRectangle !== 'function' ||
        !overlay.setRenderRectangle(x, y, width, height)
      )
        throw new BuildError(
          e.id,
          `${e.id}: ${e.factory} cannot be placed on the screen (not a GstVideoOverlay sink)`,
        );
    }
    pipeline.add(element);
    elements.set(e.id, element);
  }
  for (const l of spec.links) {
    const from = elements.get(l.from)!;
    const to = elements.get(l.to)!;
    const caps = l.caps ? Gst.Caps.fromString(l.caps) : null;
    const link = (fromPad: string | null = l.fromPad ?? null) =>
      fromPad || l.toPad
        ? from.linkPadsFiltered(fromPad, to, l.toPad ?? null, caps)
        : caps
          ? from.linkFiltered(to, caps)
          : from.link(to);
    if (l.dynamic) {
      from.on('pad-added', (pad) => {
        if (l.fromPad && !pad.name.startsWith(l.fromPad)) return;
        if (l.media && !(pad.getCurrentCaps()?.toString() ?? '').includes(`media=(string)${l.media}`)) return;
        if (!link(l.fromPad ? pad.name : null)) {
          send({
            type: 'bus',
            pipeline: spec.name,
            kind: 'error',
            element: l.from,
            message: `cannot link ${l.from} → ${l.to} when its pad appeared`,
            debug: null,
          });
        }
      });
      continue;
    }
    if (!link()) {
      throw new BuildError(
        l.from,
        `cannot link ${l.from} → ${l.to}${l.caps ? ` with ${l.caps}` : ''}: the formats do not match`,
      );
    }
    if (l.toPadProps && l.toPad) {
      const pad = (to as GstElementWithPads).getStaticPad(l.toPad);
      if (!pad) throw new BuildError(l.to, `${l.to} has no pad ${l.toPad} to set properties on`);
      for (const [name, value] of Object.entries(l.toPadProps))
        Gst.utilSetObjectArg(pad, name, String(value));
    }
  }
  watchBus(spec.name, pipeline);
  return pipeline;
}

function watchBus(name: string, pipeline: GstPipeline): void {
  const report = (kind: BusKind, message: GstMessage, text: string, debug: string | null, state?: string) =>
    send({
      type: 'bus',
      pipeline: name,
      kind,
      element: message.src?.name ?? name,
      message: text,
      debug,
      ...(state ? { state } : {}),
    });
  pipeline.getBus().addWatch(GLib.PRIORITY_DEFAULT, (_bus, message) => {
    switch (message.type) {
      case Gst.MessageType.ERROR: {
        const [error, debug] = message.parseError();
        report('error', message, error.message, debug);
        // An error stops the pipeline here; the daemon decides what runs next.
        pipeline.setState(Gst.State.NULL);
        pipelines.delete(name);
        taps.pipelineGone(name);
        settleFinish(name, `${message.src?.name ?? name}: ${error.message}`);
        return false;
      }
      case Gst.MessageType.WARNING: {
        const [warning, debug] = message.parseWarning();
        report('warning', message, warning.message, debug);
        break;
      }
      case Gst.MessageType.EOS:
        report('eos', message, 'end of stream', null);
        pipeline.setState(Gst.State.NULL);
        pipelines.delete(name);
        taps.pipelineGone(name);
        settleFinish(name, null);
        return false;
      case Gst.MessageType.STATE_CHANGED:
        if (message.src?.name === name) {
          const [, next] = message.parseStateChanged();
          report('state-changed', message, 'state changed', null, Gst.Element.stateGetName(next));
        }
        break;
      case Gst.MessageType.QOS:
        report('qos', message, 'quality of service: buffers dropped or late', null);
        break;
      case Gst.MessageType.LATENCY:
        report('latency', message, 'latency changed', null);
        break;
      case Gst.MessageType.ELEMENT: {
        // splitmuxsink finished a segment file: the daemon turns it into an instance.
        const structure = message.getStructure();
        if (structure?.getName() === 'splitmuxsink-fragment-closed') {
          send({
            type: 'bus',
            pipeline: name,
            kind: 'segment-closed',
            element: message.src?.name ?? name,
            message: 'segment closed',
            debug: null,
            location: structure.getString('location') ?? '',
          });
        }
        // A level meter's reading (a call's far-end sound): its structure as text, parsed by the daemon.
        if (structure?.getName() === 'level')
          send({
            type: 'bus',
            pipeline: name,
            kind: 'level',
            element: message.src?.name ?? name,
            message: structure.toString(),
            debug: null,
          });
        break;
      }
    }
    return true;
  });
}

function settleFinish(pipeline: string, error: string | null): void {
  const id = finishing.get(pipeline);
  if (id === undefined) return;
  finishing.delete(pipeline);
  send(error ? { type: 'reply', id, ok: false, error, element: null } : { type: 'reply', id, ok: true });
}

/** The last sample each snapshot appsink gave, for a request that comes between two frames. */
const lastSamples = new Map<string, GstSample>();

/** An appsink's newest sample (older ones are dropped), or a fakesink's last-sample. */
function newestSample(pipeline: string, element: GstElement): GstSample | null {
  const appsink = element as GstAppSink;
  const key = `${pipeline}/${element.name}`;
  if (typeof appsink.tryPullSample === 'function') {
    for (let s = appsink.tryPullSample(0); s; s = appsink.tryPullSample(0)) lastSamples.set(key, s);
    return lastSamples.get(key) ?? null;
  }
  // A boxed property: node-gtk gives it through the camelCase accessor, not getProperty().
  return (element as unknown as { lastSample: GstSample | null }).lastSample;
}

/**
 * When a synchronising sink showed (or will show) `sample`, as wall-clock milliseconds: a sink
 * renders a buffer at base time + its running time + the latency the pipeline configured on it.
 * Null when the sink does not synchronise or the times are unknown.
 */
function shownAt(pipeline: GstPipeline, element: GstElement, sample: GstSample): number | null {
  const sink = element as GstElement & { getLatency?: () => bigint; getSync?: () => boolean };
  const pts = sample.getBuffer()?.pts;
  const clock = pipeline.getClock();
  if (!clock || pts === undefined || typeof sink.getLatency !== 'function' || sink.getSync?.() === false)
    return null;
  const runningTime = sample.getSegment()?.toRunningTime(Gst.Format.TIME, pts) ?? -1n;
  if (runningTime < 0n || runningTime === 0xffffffffffffffffn) return null;
  const at = pipeline.getBaseTime() + runningTime + sink.getLatency();
  return Date.now() - Number(clock.getTime() - at) / 1e6;
}

function handle(request: WorkerRequest): void {
  const reply = (error?: BuildError | Error) =>
    send(
      error
        ? {
            type: 'reply',
            id: request.id,
            ok: false,
            error: error.message,
            element: error instanceof BuildError ? error.element : null,
          }
        : { type: 'reply', id: request.id, ok: true },
    );
  try {
    switch (request.op) {
      case 'probe': {
        const [major, minor, micro] = Gst.version();
        send({
          type: 'reply',
          id: request.id,
          ok: true,
          result: {
            gstVersion: `${major}.${minor}.${micro}`,
            encoders: ENCODERS.filter((e) => Gst.ElementFactory.find(e.element) !== null).map(
              (e) => e.element,
            ),
            audioEncoders: AUDIO_ENCODERS.filter((e) => Gst.ElementFactory.find(e.element) !== null).map(
              (e) => e.element,
            ),
            decoders: DECODERS.filter((d) => Gst.ElementFactory.find(d.element) !== null).map(
              (d) => d.element,
            ),
            callElements: [...CALL_REQUIRES, ...CALL_ECHO_CONTROL].filter(
              (e) => Gst.ElementFactory.find(e) !== null,
            ),
          },
        });
        return;
      }
      case 'cameras': {
        const devices = devicesNow('Video/Source');
        send({
          type: 'reply',
          id: request.id,
          ok: true,
          cameras: devices.map((d) => {
            const props = d.getProperties();
            const get = (key: string) => props?.getString(key) ?? null;
            return {
              name: d.getDisplayName(),
              path: get('api.v4l2.path') ?? get('device.path'),
              busPath: get('device.bus_path'),
              serial: get('device.serial'),
              caps: d.getCaps()?.toString() ?? '',
            };
          }),
        });
        return;
      }
      case 'microphones': {
        const devices = devicesNow('Audio/Source');
        const microphones: MicrophoneInfo[] = [];
        for (const d of devices) {
          // The provider knows how its element addresses the device: ask it for one and read back
          // the addressing property, so the daemon can put the same element into a spec.
          const element = d.createElement(null);
          const factory = element?.getFactory()?.getName();
          if (!element || !factory) continue;
          const props: Record<string, string> = {};
          for (const name of ['device', 'target-object']) {
            const value =
              camel(name) in element ? (element as unknown as Record<string, unknown>)[camel(name)] : null;
            if (typeof value === 'string' && value) {
              props[name] = value;
              break;
            }
          }
          microphones.push({
            name: d.getDisplayName(),
            factory,
            props,
            deviceClass: d.getProperties()?.getString('device.class') ?? null,
          });
        }
        send({ type: 'reply', id: request.id, ok: true, microphones });
        return;
      }
      case 'start': {
        if (pipelines.has(request.spec.name))
          throw new BuildError(null, `pipeline ${request.spec.name} is already running`);
        for (const key of lastSamples.keys())
          if (key.startsWith(`${request.spec.name}/`)) lastSamples.delete(key);
        const pipeline = build(request.spec);
        pipelines.set(request.spec.name, pipeline);
        if (pipeline.setState(Gst.State.PLAYING) === Gst.StateChangeReturn.FAILURE) {
          pipelines.delete(request.spec.name);
          // Going to NULL flushes the bus: take the element's own error first, report it, and
          // put it in the reply.
          const failure = pipeline.getBus().popFiltered(Gst.MessageType.ERROR);
          if (failure) {
            pipeline.setState(Gst.State.NULL);
            const [error, debug] = failure.parseError();
            const element = failure.src?.name ?? request.spec.name;
            send({
              type: 'bus',
              pipeline: request.spec.name,
              kind: 'error',
              element,
              message: error.message,
              debug,
            });
            throw new BuildError(element, `${element}: ${error.message}`);
          }
          // Some elements refuse a state without posting an error (waylandsink with no compositor
          // to reach), and a bin leaves every child at NULL then: each is asked to get READY on
          // its own, and the one that refuses is named.
          pipeline.setState(Gst.State.NULL);
          const refused = request.spec.elements.find((e) => {
            const element = pipeline.getByName(e.id);
            if (!element) return false;
            const failed = element.setState(Gst.State.READY) === Gst.StateChangeReturn.FAILURE;
            element.setState(Gst.State.NULL);
            return failed;
          });
          if (refused) {
            const message = `${refused.id}: ${refused.factory} refused to start`;
            send({
              type: 'bus',
              pipeline: request.spec.name,
              kind: 'error',
              element: refused.id,
              message,
              debug: null,
            });
            throw new BuildError(refused.id, message);
          }
          throw new BuildError(null, `pipeline ${request.spec.name} failed to start`);
        }
        for (const { element: id, media } of request.spec.taps ?? []) {
          const sink = pipeline.getByName(id) as GstAppSink | null;
          if (!sink || typeof sink.tryPullSample !== 'function')
            throw new BuildError(id, `${id}: a tap must be an appsink`);
          taps.open(request.spec.name, id, media, sink);
        }
        reply();
        return;
      }
      case 'stop': {
        pipelines.get(request.pipeline)?.setState(Gst.State.NULL);
        taps.pipelineGone(request.pipeline);
        pipelines.delete(request.pipeline);
        reply();
        return;
      }
      case 'snapshot': {
        const element = pipelines.get(request.pipeline)?.getByName(request.element);
        if (!element)
          throw new BuildError(request.element, `no element ${request.element} in ${request.pipeline}`);
        const sample = newestSample(request.pipeline, element);
        if (!sample) throw new BuildError(request.element, 'no frame has arrived yet');
        const jpeg = sample.getCaps()?.toString().startsWith('image/jpeg')
          ? sample
          : GstVideo.videoConvertSample(sample, Gst.Caps.fromString('image/jpeg'), 5_000_000_000);
        const buffer = jpeg?.getBuffer();
        if (!buffer) throw new BuildError(request.element, 'the frame could not be converted to JPEG');
        const bytes = Uint8Array.from(buffer.extractDup(0, Number(buffer.getSize())));
        const pipeline = pipelines.get(request.pipeline);
        send({
          type: 'reply',
          id: request.id,
          ok: true,
          jpegBase64: Buffer.from(bytes).toString('base64'),
          shownAt: pipeline ? shownAt(pipeline, element, sample) : null,
        });
        return;
      }
      case 'finish': {
        const pipeline = pipelines.get(request.pipeline);
        if (!pipeline) throw new BuildError(null, `no pipeline ${request.pipeline} is running`);
        finishing.set(request.pipeline, request.id);
        // A fed pipeline ends at its appsrc, after the last buffer it was given.
        if (!taps.detach(request.pipeline, true)) pipeline.sendEvent(Gst.Event.newEos());
        return; // replied at EOS (or error) by the bus watch
      }
      case 'caps': {
        const element = pipelines
          .get(request.pipeline)
          ?.getByName(request.element) as GstElementWithPads | null;
        if (!element)
          throw new BuildError(request.element, `no element ${request.element} in ${request.pipeline}`);
        const caps = element.getStaticPad('sink')?.getCurrentCaps()?.toString() ?? '';
        send({ type: 'reply', id: request.id, ok: true, structure: caps });
        return;
      }
      case 'stats': {
        const element = pipelines.get(request.pipeline)?.getByName(request.element);
        if (!element)
          throw new BuildError(request.element, `no element ${request.element} in ${request.pipeline}`);
        // A boxed property: node-gtk gives it through the camelCase accessor.
        const stats = (element as unknown as { stats: { toString(): string } | null }).stats;
        send({ type: 'reply', id: request.id, ok: true, structure: stats?.toString() ?? '' });
        return;
      }
      case 'pump': {
        const src = pipelines.get(request.to.pipeline)?.getByName(request.to.element) as GstAppSrc | null;
        if (!src || typeof src.pushSample !== 'function')
          throw new BuildError(
            request.to.element,
            `no appsrc ${request.to.element} in ${request.to.pipeline}`,
          );
        if (request.timeline === 'target') {
          // The same moment in both pipelines (one clock): running times differ by their base times.
          const source = pipelines.get(request.from.pipeline);
          const target = pipelines.get(request.to.pipeline);
          if (source && target)
            src.getStaticPad('src')?.setOffset(Number(source.getBaseTime() - target.getBaseTime()));
        }
        taps.attach(
          request.from,
          request.to,
          src,
          request.start,
          request.onSourceGone ?? 'end',
          request.replace ?? false,
        );
        reply();
        return;
      }
      case 'webrtc-offer':
      case 'webrtc-answer':
      case 'webrtc-remote-answer': {
        const element = pipelines.get(request.pipeline)?.getByName(request.element);
        if (!element)
          throw new BuildError(request.element, `no element ${request.element} in ${request.pipeline}`);
        const id = request.id;
        if (request.op !== 'webrtc-remote-answer' && request.ports) webrtc.usePorts(element, request.ports);
        const done =
          request.op === 'webrtc-offer'
            ? webrtc.offer(element, request.streams)
            : request.op === 'webrtc-answer'
              ? webrtc.answer(element, request.sdp)
              : webrtc.remoteAnswer(element, request.sdp).then(() => undefined);
        done.then(
          (sdp) => send({ type: 'reply', id, ok: true, ...(sdp ? { sdp } : {}) }),
          (error: Error) =>
            send({ type: 'reply', id, ok: false, error: error.message, element: request.element }),
        );
        return; // replied when webrtcbin has done it
      }
      case 'webrtc-stats': {
        const element = pipelines.get(request.pipeline)?.getByName(request.element);
        if (!element)
          throw new BuildError(request.element, `no element ${request.element} in ${request.pipeline}`);
        const id = request.id;
        webrtc.stats(element, request.pad).then(
          (stats) => send({ type: 'reply', id, ok: true, stats }),
          (error: Error) =>
            send({ type: 'reply', id, ok: false, error: error.message, element: request.element }),
        );
        return; // replied when webrtcbin has answered
      }
      case 'select-input': {
        const pipeline = pipelines.get(request.pipeline);
        const named = (name: string) => {
          const element = pipeline?.getByName(name);
          if (!element) throw new BuildError(name, `no element ${name} in ${request.pipeline}`);
          return element;
        };
        const selector = named(request.selector) as InputSelector;
        const pad = selector.getStaticPad(request.pad);
        if (!pad) throw new BuildError(request.selector, `${request.selector} has no pad ${request.pad}`);
        Gst.utilSetObjectArg(named(request.open), 'drop', 'false');
        selector.activePad = pad;
        for (const gate of request.close) Gst.utilSetObjectArg(named(gate), 'drop', 'true');
        reply();
        return;
      }
      case 'set': {
        const element = pipelines.get(request.pipeline)?.getByName(request.element);
        if (!element)
          throw new BuildError(request.element, `no element ${request.element} in ${request.pipeline}`);
        for (const [name, value] of Object.entries(request.props))
          Gst.utilSetObjectArg(element, name, String(value));
        reply();
        return;
      }
    }
  } catch (error) {
    reply(error as Error);
  }
}

process.on('message', (message: WorkerRequest) => handle(message));
process.on('disconnect', () => process.exit(0));

let seq = 0;
GLib.timeoutAdd(GLib.PRIORITY_DEFAULT, HEARTBEAT_MS, () => {
  send({ type: 'heartbeat', seq: seq++ });
  return true;
});
const [major, minor, micro] = Gst.version();
send({ type: 'ready', pid: process.pid, gstVersion: `${major}.${minor}.${micro}` });
new GLib.MainLoop(null, false).run();
