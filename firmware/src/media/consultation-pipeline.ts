import type { AudioChain } from './audio.ts';
import type { SourceChain } from './camera-source.ts';
import type { EncoderEntry } from './encoders.ts';
import { type ElementSpec, type PipelineSpec, tapFedSource } from './pipeline-spec.ts';

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
} as const;

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
  chain: SourceChain;
  encoder: EncoderEntry;
  target: ConsultationTarget;
  /** The microphone's chain to its AAC tap, when the terminal has one. */
  audio?: AudioChain | null;
}): PipelineSpec {
  const { chain, encoder, target: t, audio } = options;
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
      { id: 'encode-queue', factory: 'queue' },
      // The encoded picture's size: the target, or a smaller rung of the resolution ladder while
      // the live link is weak (its caps are changed while playing; the encoder renegotiates).
      { id: 'encode-scale', factory: 'videoscale' },
      { id: ELEMENTS.encodeCaps, factory: 'capsfilter', props: { caps: encodeCaps(t) } },
      {
        id: ELEMENTS.encoder,
        factory: encoder.element,
        props: encoder.properties({
          bitrateKbps: t.bitrateKbps,
          fps: t.fps,
          keyFrameIntervalS: t.keyFrameIntervalS,
          cpu: 'weak',
        }),
      },
      // SPS/PPS before every key frame, so a recording or a receiver fed mid-stream can start.
      { id: 'parse', factory: 'h264parse', props: { 'config-interval': -1 } },
      {
        id: 'tap-queue',
        factory: 'queue',
        props: { leaky: 'downstream', 'max-size-buffers': 120, 'max-size-time': 0, 'max-size-bytes': 0 },
      },
      {
        id: ELEMENTS.encodedTap,
        factory: 'appsink',
        props: { sync: false, async: false, 'max-buffers': 120, drop: true },
      },
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
