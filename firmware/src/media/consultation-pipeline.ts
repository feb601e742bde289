import type { SourceChain } from './camera-source.ts';
import type { EncoderEntry } from './encoders.ts';
import type { ElementSpec, LinkSpec, PipelineSpec } from './pipeline-spec.ts';

/** Where the live side of the tee goes. */
export type LiveOut =
  | { transport: 'none' }
  | { transport: 'srt'; uri: string; passphrase: string; latencyMs: number };

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

/** Element ids the daemon addresses in the running pipeline. */
export const ELEMENTS = {
  encoder: 'encoder',
  stillSink: 'still-sink',
  previewSink: 'preview-sink',
  recordTap: 'rec-tap',
} as const;

/**
 * The live side of the tee. SRT: MPEG-TS in 7-packet (1316-byte) units, one per SRT message —
 * without that alignment the listener's demuxer finds no frames — AES with the provisioned
 * passphrase, caller mode; a leaky queue so a slow link drops live frames, never recording ones.
 */
export function liveBranch(live: LiveOut): { elements: ElementSpec[]; links: LinkSpec[] } {
  const queue: ElementSpec = {
    id: 'live-queue',
    factory: 'queue',
    props: { leaky: 'downstream', 'max-size-buffers': 30 },
  };
  if (live.transport === 'none') {
    return {
      elements: [queue, { id: 'live-sink', factory: 'fakesink', props: { sync: false, async: false } }],
      links: [{ from: 'live-queue', to: 'live-sink' }],
    };
  }
  return {
    elements: [
      queue,
      { id: 'live-parse', factory: 'h264parse', props: { 'config-interval': -1 } },
      { id: 'live-mux', factory: 'mpegtsmux', props: { alignment: 7 } },
      {
        id: 'live-sink',
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
      { from: 'live-queue', to: 'live-parse' },
      { from: 'live-parse', to: 'live-mux' },
      { from: 'live-mux', to: 'live-sink' },
    ],
  };
}

/**
 * The consultation pipeline: camera → convert/scale/rate → raw tee (stills at full resolution,
 * the kiosk preview scaled down) → one encode → encoded tee (live out; a tap that recordings are
 * fed from). The preview is a scaled copy of the raw frames, JPEG-compressed a few times a
 * second: the camera is never H.264-encoded twice.
 */
export function consultationSpec(options: {
  name: string;
  chain: SourceChain;
  encoder: EncoderEntry;
  target: ConsultationTarget;
  live: LiveOut;
}): PipelineSpec {
  const { chain, encoder, target: t } = options;
  const live = liveBranch(options.live);
  return {
    name: options.name,
    elements: [
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
      // SPS/PPS before every key frame, so a recording fed from the tap mid-stream can start.
      { id: 'parse', factory: 'h264parse', props: { 'config-interval': -1 } },
      { id: 'tee', factory: 'tee' },
      ...live.elements,
      {
        id: 'rec-queue',
        factory: 'queue',
        props: { leaky: 'downstream', 'max-size-buffers': 120, 'max-size-time': 0, 'max-size-bytes': 0 },
      },
      {
        id: ELEMENTS.recordTap,
        factory: 'appsink',
        props: { sync: false, async: false, 'max-buffers': 120, drop: true },
      },
    ],
    links: [
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
      { from: 'encode-queue', to: ELEMENTS.encoder },
      { from: ELEMENTS.encoder, to: 'parse', caps: encoder.outputCaps },
      // One stream format before the tee; each branch's own parser converts for its muxer
      // (MP4 wants avc, MPEG-TS byte-stream), so the branches never fight over caps.
      { from: 'parse', to: 'tee', caps: 'video/x-h264,stream-format=byte-stream,alignment=au' },
      { from: 'tee', to: 'live-queue' },
      ...live.links,
      { from: 'tee', to: 'rec-queue' },
      { from: 'rec-queue', to: ELEMENTS.recordTap },
    ],
    taps: [ELEMENTS.recordTap],
  };
}
