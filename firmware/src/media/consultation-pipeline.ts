import type { AudioChain } from './audio.ts';
import { CAMERA_RAW_CHANNEL, videoShare } from './call-recording.ts';
import type { CameraRole } from './camera-finder.ts';
import type { SourceChain } from './camera-source.ts';
import type { EncoderEntry } from './encoders.ts';
import {
  type ElementSpec,
  encoderElement,
  type LinkSpec,
  type PipelineSpec,
  tapFedSource,
  tapSink,
} from './pipeline-spec.ts';

/** Where live consultation video goes. */
export type LiveOutConfig =
  | { transport: 'none' }
  | { transport: 'srt'; uri: string; passphrase: string; latencyMs: number; retryMaxMs?: number }
  | { transport: 'rtp'; host: string; port: number; payloadType: number };

export interface ConsultationTarget {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  /**
   * At most 2 s (live out's requirement). Recording segments can split only at key frames and the
   * recording pipeline cannot ask this encoder for one, so it is also at most the segment length.
   */
  keyFrameIntervalS: number;
}

/** The kiosk preview: small, few frames a second, JPEG — enough to frame the patient. */
export const PREVIEW = { width: 320, height: 180, fps: 5 };

/** The caps in front of the encoder for a picture size. */
export function encodeCaps(size: { width: number; height: number }): string {
  return `video/x-raw,width=${size.width},height=${size.height}`;
}

/** Element ids the daemon addresses in the running pipeline. */
export const ELEMENTS = {
  encoder: 'encoder',
  encodeCaps: 'encode-caps',
  stillSink: 'still-sink',
  previewSink: 'preview-sink',
  encodedTap: 'encoded-tap',
  audioTap: 'audio-tap',
  liveSink: 'live-sink',
  /** With two cameras: the input-selector between them, and each camera's gate behind its source. */
  cameraSelect: 'camera-select',
} as const;

/** Each camera's gate (a valve right behind its source) and the prefix of its element ids. */
export const CAMERA_INPUTS: Record<CameraRole, { gate: string; prefix: string }> = {
  room: { gate: 'cam-gate', prefix: 'cam' },
  document: { gate: 'doc-gate', prefix: 'doc' },
};

/**
 * Each camera's pad on the selector. input-selector shows the first pad requested, and names its
 * pads in the order they are requested whatever name is asked for: the camera shown at start is
 * linked first and gets sink_0. (Selecting it after start instead, from a pad that had never
 * streamed, sent its caps before its stream-start.)
 */
export function cameraPads(active: CameraRole): Record<CameraRole, string> {
  return active === 'room' ? { room: 'sink_0', document: 'sink_1' } : { document: 'sink_0', room: 'sink_1' };
}

/**
 * A camera chain with a valve right behind its source element: a closed gate drops frames before
 * anything decodes or converts them, so the camera not shown costs its capture only (an MJPEG
 * camera's decoding is the dear part). The first link's caps (the mode asked of the device) stay
 * between the source and the gate. A valve reopened sends the stream's caps and segment again
 * before its first frame (GstValve's sticky-event repush), so the selector downstream renegotiates.
 */
function gatedChain(chain: SourceChain, gate: string, open: boolean): SourceChain {
  const [head] = chain.elements;
  if (!head) throw new RangeError('a camera chain needs at least one element');
  const valve: ElementSpec = { id: gate, factory: 'valve', props: { drop: !open } };
  const first = chain.links[0];
  if (!first)
    return { elements: [...chain.elements, valve], links: [{ from: head.id, to: gate }], tail: gate };
  return {
    elements: [head, valve, ...chain.elements.slice(1)],
    links: [{ ...first, to: gate }, { from: gate, to: first.to }, ...chain.links.slice(1)],
    tail: chain.tail,
  };
}

/**
 * The cameras into one stream of raw video. One camera: its chain. Two: both chains gated, into an
 * input-selector (the camera shown at start on sink_0: cameraPads) with only the active one's gate
 * open. A switch opens the new gate, selects its pad and closes the old one: no restart,
 * so a recording, live out and a call carry on across it. sync-streams off: a frame on a pad not
 * selected (the moment both gates are open) is dropped at once rather than held.
 */
function cameraInput(
  room: SourceChain,
  document: SourceChain | null,
  active: CameraRole,
): { elements: ElementSpec[]; links: LinkSpec[]; tail: string } {
  if (!document) return room;
  const pads = cameraPads(active);
  const chains = {
    room: gatedChain(room, CAMERA_INPUTS.room.gate, active === 'room'),
    document: gatedChain(document, CAMERA_INPUTS.document.gate, active === 'document'),
  };
  return {
    elements: [
      ...chains.room.elements,
      ...chains.document.elements,
      { id: ELEMENTS.cameraSelect, factory: 'input-selector', props: { 'sync-streams': false } },
      // A switch re-sends the new camera's segment; videorate then restarts its count and a
      // recording's muxer saw a key frame stamped earlier than the one before ("Queued GOP time is
      // negative", the recording lost). Both cameras run on this pipeline's clock, so their
      // frames' running times are one timeline: stamped with it, in one segment, nothing behind
      // the selector sees a switch in time.
      { id: 'camera-timeline', factory: 'identity', props: { 'single-segment': true } },
    ],
    links: [
      ...chains.room.links,
      ...chains.document.links,
      ...(['room', 'document'] as const)
        .map((role) => ({ from: chains[role].tail, to: ELEMENTS.cameraSelect, toPad: pads[role] }))
        .toSorted((a, b) => a.toPad.localeCompare(b.toPad)),
      { from: ELEMENTS.cameraSelect, to: 'camera-timeline' },
    ],
    tail: 'camera-timeline',
  };
}

/**
 * Live out as its own pipeline, fed from the encoded tap (from the next key frame): an appsrc
 * that drops its oldest buffers rather than ever holding up the tap (a slow link loses live
 * frames, never recorded ones), then for SRT MPEG-TS in 7-packet (1316-byte) units, one per SRT
 * message — without that alignment the listener's demuxer finds no frames — sent AES-encrypted
 * with the provisioned passphrase in caller mode; or, the second option, RTP over UDP. An
 * unreachable or refusing media server fails this pipeline only; the daemon reconnects it with
 * back-off.
 */
export function livePipeline(
  name: string,
  live: Exclude<LiveOutConfig, { transport: 'none' }>,
  audio = false,
): PipelineSpec {
  const head: ElementSpec[] = [
    tapFedSource('live-src', 2_000_000, true),
    { id: 'live-parse', factory: 'h264parse', props: { 'config-interval': -1 } },
  ];
  const audioHead: ElementSpec[] = audio
    ? [tapFedSource('live-audio-src', 200_000, true), { id: 'live-audio-parse', factory: 'aacparse' }]
    : [];
  if (live.transport === 'rtp') {
    // RFC 6184 packets under a 1200-byte MTU (room for VPN and PPPoE headers on clinic links),
    // SPS/PPS repeated in-band so a receiver can join at any key frame. Sound goes as its own
    // RTP stream (RFC 3640 AAC-hbr) to the next even port, as RTP pairs streams by convention.
    const audioOut: ElementSpec[] = audio
      ? [
          ...audioHead,
          { id: 'live-audio-pay', factory: 'rtpmp4gpay', props: { pt: live.payloadType + 1 } },
          {
            id: 'live-audio-sink',
            factory: 'udpsink',
            props: { host: live.host, port: live.port + 2, sync: false, async: false },
          },
        ]
      : [];
    return {
      name,
      elements: [
        ...head,
        {
          id: 'live-pay',
          factory: 'rtph264pay',
          props: { pt: live.payloadType, mtu: 1200, 'config-interval': -1 },
        },
        {
          id: ELEMENTS.liveSink,
          factory: 'udpsink',
          props: { host: live.host, port: live.port, sync: false, async: false },
        },
        ...audioOut,
      ],
      links: [
        { from: 'live-src', to: 'live-parse' },
        { from: 'live-parse', to: 'live-pay' },
        { from: 'live-pay', to: ELEMENTS.liveSink },
        ...(audio
          ? [
              { from: 'live-audio-src', to: 'live-audio-parse' },
              { from: 'live-audio-parse', to: 'live-audio-pay' },
              { from: 'live-audio-pay', to: 'live-audio-sink' },
            ]
          : []),
      ],
    };
  }
  return {
    name,
    elements: [
      ...head,
      ...audioHead,
      { id: 'live-mux', factory: 'mpegtsmux', props: { alignment: 7 } },
      {
        id: ELEMENTS.liveSink,
        factory: 'srtsink',
        props: {
          uri: `${live.uri}?mode=caller`,
          passphrase: live.passphrase,
          pbkeylen: 16,
          latency: live.latencyMs,
          'wait-for-connection': false,
          sync: false,
          async: false,
        },
      },
    ],
    links: [
      { from: 'live-src', to: 'live-parse' },
      { from: 'live-parse', to: 'live-mux' },
      ...(audio
        ? [
            { from: 'live-audio-src', to: 'live-audio-parse' },
            { from: 'live-audio-parse', to: 'live-mux' },
          ]
        : []),
      { from: 'live-mux', to: ELEMENTS.liveSink },
    ],
  };
}

/**
 * The consultation pipeline: camera → convert/scale/rate → raw tee (stills at full resolution,
 * the kiosk preview scaled down) → one encode → the encoded tap that live out and recordings are
 * fed from; beside it, when there is a microphone, its AAC tap. Sound and picture share this
 * pipeline's clock, so their timestamps line up wherever they are muxed together. The preview is a scaled copy of the raw frames, JPEG-compressed a few times a second:
 * the camera is never H.264-encoded twice.
 */
export function consultationSpec(options: {
  name: string;
  /** The camera (the room camera when there are two; prefix its ids `cam-`). */
  chain: SourceChain;
  /** The document camera's chain beside it (ids prefixed `doc-`), or none. */
  document?: SourceChain | null;
  /** Which of the two is shown at start (default the room camera). */
  active?: CameraRole;
  encoder: EncoderEntry;
  target: ConsultationTarget;
  /** The microphone's chain to its AAC tap, when the terminal has one. */
  audio?: AudioChain | null;
}): PipelineSpec {
  const { encoder, target: t, audio } = options;
  const chain = cameraInput(options.chain, options.document ?? null, options.active ?? 'room');
  const cameraShare = videoShare('camera-share', CAMERA_RAW_CHANNEL);
  return {
    name: options.name,
    elements: [
      ...(audio?.elements ?? []),
      ...chain.elements,
      { id: 'convert', factory: 'videoconvert' },
      { id: 'scale', factory: 'videoscale' },
      { id: 'rate', factory: 'videorate' },
      // Raw frames fork before the encoder: stills are full-resolution frames, not decoded H.264.
      { id: 'raw-tee', factory: 'tee' },
      { id: 'still-queue', factory: 'queue', props: { leaky: 'downstream', 'max-size-buffers': 1 } },
      {
        id: ELEMENTS.stillSink,
        factory: 'fakesink',
        props: { sync: false, async: false, 'enable-last-sample': true },
      },
      { id: 'preview-queue', factory: 'queue', props: { leaky: 'downstream', 'max-size-buffers': 1 } },
      { id: 'preview-rate', factory: 'videorate', props: { 'drop-only': true } },
      { id: 'preview-scale', factory: 'videoscale' },
      { id: 'preview-jpeg', factory: 'jpegenc', props: { quality: 70 } },
      {
        id: ELEMENTS.previewSink,
        factory: 'appsink',
        props: { sync: false, async: false, 'max-buffers': 1, drop: true },
      },
      // The newest raw frame shared for a recording made during a call (call-recording.ts).
      ...cameraShare.elements,
      { id: 'encode-queue', factory: 'queue' },
      // The encoded picture's size: the target, or a smaller rung of the resolution ladder while
      // the live link is weak (its caps are changed while playing; the encoder renegotiates).
      { id: 'encode-scale', factory: 'videoscale' },
      { id: ELEMENTS.encodeCaps, factory: 'capsfilter', props: { caps: encodeCaps(t) } },
      encoderElement(ELEMENTS.encoder, encoder, t),
      // SPS/PPS before every key frame, so a recording or a receiver fed mid-stream can start.
      { id: 'parse', factory: 'h264parse', props: { 'config-interval': -1 } },
      ...tapSink('tap-queue', ELEMENTS.encodedTap, 120),
    ],
    links: [
      ...(audio?.links ?? []),
      ...chain.links,
      { from: chain.tail, to: 'convert' },
      { from: 'convert', to: 'scale' },
      { from: 'scale', to: 'rate' },
      {
        from: 'rate',
        to: 'raw-tee',
        caps: `video/x-raw,format=I420,width=${t.width},height=${t.height},framerate=${t.fps}/1`,
      },
      { from: 'raw-tee', to: 'still-queue' },
      { from: 'still-queue', to: ELEMENTS.stillSink },
      { from: 'raw-tee', to: 'preview-queue' },
      { from: 'preview-queue', to: 'preview-rate' },
      { from: 'preview-rate', to: 'preview-scale', caps: `video/x-raw,framerate=${PREVIEW.fps}/1` },
      {
        from: 'preview-scale',
        to: 'preview-jpeg',
        caps: `video/x-raw,width=${PREVIEW.width},height=${PREVIEW.height}`,
      },
      { from: 'preview-jpeg', to: ELEMENTS.previewSink },
      { from: 'raw-tee', to: cameraShare.head },
      ...cameraShare.links,
      { from: 'raw-tee', to: 'encode-queue' },
      { from: 'encode-queue', to: 'encode-scale' },
      { from: 'encode-scale', to: ELEMENTS.encodeCaps },
      { from: ELEMENTS.encodeCaps, to: ELEMENTS.encoder },
      { from: ELEMENTS.encoder, to: 'parse', caps: encoder.outputCaps },
      { from: 'parse', to: 'tap-queue', caps: 'video/x-h264,stream-format=byte-stream,alignment=au' },
      { from: 'tap-queue', to: ELEMENTS.encodedTap },
    ],
    taps: [
      { element: ELEMENTS.encodedTap, media: 'video' },
      ...(audio ? [{ element: audio.tap, media: 'audio' as const }] : []),
    ],
  };
}
