import { AUDIO, type AudioEncoderEntry } from './audio.ts';
import type { EncoderEntry } from './encoders.ts';
import type { ElementRef } from './ipc.ts';
import {
  type ElementSpec,
  encoderElement,
  type LinkSpec,
  type PipelineSpec,
  tapSink,
} from './pipeline-spec.ts';

/*
 * A recording made during a call holds both sides, as the hospital's records need: our camera
 * full frame with the specialist's picture in a corner, and both voices mixed. The parts come from
 * the pipelines that already have them, each shared on a channel of GStreamer's inter elements
 * (a reference to the newest frame, or a short ring of sound — no copy of the picture, no second
 * capture, no second decode):
 *
 *   consultation  raw camera frames (the raw tee)        → CAMERA_RAW_CHANNEL
 *   call-in       the specialist's decoded picture        → FAR_VIDEO_CHANNEL
 *                 the specialist's decoded voice          → FAR_AUDIO_RECORD_CHANNEL
 *   call-out      our microphone after echo control and
 *                 the mute, as the specialist hears it    → MIC_RECORD_CHANNEL
 *
 * and `call-record-mix`, started only for such a recording, composes, mixes and encodes them into
 * taps the recorder is fed from like the consultation's. The composite needs its own encode (the
 * call's stream cannot carry the specialist back to the specialist); on the board it is the VPU's
 * second session, here a second x264.
 */

export const CALL_RECORDING_PIPELINE = 'call-record-mix';
export const CAMERA_RAW_CHANNEL = 'telemed-camera-raw';
export const FAR_VIDEO_CHANNEL = 'telemed-call-far-video';
export const FAR_AUDIO_RECORD_CHANNEL = 'telemed-call-far-audio-record';
export const MIC_RECORD_CHANNEL = 'telemed-call-mic-record';

export const CALL_RECORDING_TAPS = { video: 'mix-video-tap', audio: 'mix-audio-tap' } as const;

/**
 * A part whose picture stops (a specialist's picture freezing on a bad link, a camera unplugged)
 * is kept as its last frame this long before it turns black (intervideosrc's default is 1 s:
 * seen here, a loaded machine's short freeze blacked the specialist out of the record).
 */
const STILL_BEFORE_BLACK_NS = 10_000_000_000;

/** How long the compositor and the mixer wait for a late part (ns). */
const AGGREGATOR_WAIT_NS = 200_000_000;

/**
 * Inter channels for sound keep little: what a recording starting later takes first is at most
 * this old, so the voices stay in step with the picture.
 */
const AUDIO_CHANNEL_TIMES = {
  'period-time': 10_000_000,
  'latency-time': 20_000_000,
  'buffer-time': 100_000_000,
} as const;

type Share = { elements: ElementSpec[]; head: string; links: LinkSpec[] };

/** A leaky queue into an inter sink on `channel`: a share never holds up the pipeline it is in. */
function share(prefix: string, queueProps: ElementSpec['props'], sink: ElementSpec): Share {
  const queue = `${prefix}-queue`;
  return {
    head: queue,
    elements: [{ id: queue, factory: 'queue', props: { leaky: 'downstream', ...queueProps } }, sink],
    links: [{ from: queue, to: sink.id }],
  };
}

/**
 * A branch off a tee that shares the newest frame on `channel` (intervideosink keeps a reference,
 * no copy), one frame deep.
 */
export function videoShare(prefix: string, channel: string): Share {
  return share(
    prefix,
    { 'max-size-buffers': 1 },
    { id: `${prefix}-sink`, factory: 'intervideosink', props: { channel, sync: false, async: false } },
  );
}

/**
 * A branch off a tee that shares sound on `channel`. The ring's size is the reading side's
 * (interaudiosrc's buffer-time: AUDIO_CHANNEL_TIMES).
 */
export function audioShare(prefix: string, channel: string): Share {
  return share(
    prefix,
    { 'max-size-time': 100_000_000, 'max-size-buffers': 0, 'max-size-bytes': 0 },
    { id: `${prefix}-sink`, factory: 'interaudiosink', props: { channel, sync: false, async: false } },
  );
}

/** Where the specialist sits in the composite: a third of each side, in the top right corner. */
export function pictureInPicture(size: { width: number; height: number }): {
  x: number;
  y: number;
  width: number;
  height: number;
} {
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  const width = even(size.width / 3);
  const height = even(size.height / 3);
  const margin = even(Math.min(size.width, size.height) / 40);
  return { x: size.width - width - margin, y: margin, width, height };
}

export interface CallRecordingOptions {
  encoder: EncoderEntry;
  /** The AAC encoder, or null: the composite goes without sound. */
  audioEncoder: AudioEncoderEntry | null;
  /** The recording's picture: the consultation's size (held while recording) and rate. */
  size: { width: number; height: number };
  fps: number;
  bitrateKbps: number;
  keyFrameIntervalS: number;
}

/**
 * `call-record-mix`: the camera (full frame) and the specialist (picture-in-picture) composed,
 * encoded and tapped; our voice and the specialist's mixed, AAC-encoded and tapped. Each inter
 * source makes frames on its own clock, its last frame again while its channel has nothing new,
 * black (or silence) once it has had nothing for long: a camera unplugged or a specialist gone
 * leaves a still or black part of the picture, not a stopped recording.
 */
export function callRecordingSpec(o: CallRecordingOptions): PipelineSpec {
  const { width, height } = o.size;
  const pip = pictureInPicture(o.size);
  const raw = (w: number, h: number) => `video/x-raw,format=I420,width=${w},height=${h},framerate=${o.fps}/1`;
  const picture = (prefix: string, channel: string, w: number, h: number) => ({
    elements: [
      { id: `${prefix}-src`, factory: 'intervideosrc', props: { channel, timeout: STILL_BEFORE_BLACK_NS } },
      { id: `${prefix}-convert`, factory: 'videoconvert' },
      { id: `${prefix}-scale`, factory: 'videoscale' },
      { id: `${prefix}-rate`, factory: 'videorate' },
    ] satisfies ElementSpec[],
    links: [
      { from: `${prefix}-src`, to: `${prefix}-convert` },
      { from: `${prefix}-convert`, to: `${prefix}-scale` },
      { from: `${prefix}-scale`, to: `${prefix}-rate` },
    ] satisfies LinkSpec[],
    tail: `${prefix}-rate`,
    caps: `${raw(w, h)},pixel-aspect-ratio=1/1`,
  });
  const camera = picture('mix-camera', CAMERA_RAW_CHANNEL, width, height);
  const far = picture('mix-far', FAR_VIDEO_CHANNEL, pip.width, pip.height);
  const elements: ElementSpec[] = [
    ...camera.elements,
    ...far.elements,
    // Each aggregator waits this long for a late part before going on without it: on a loaded
    // board the parts' own threads can be held up, and what comes after the wait is dropped.
    { id: 'mix-compose', factory: 'compositor', props: { latency: AGGREGATOR_WAIT_NS } },
    { id: 'mix-compose-convert', factory: 'videoconvert' },
    encoderElement('mix-encoder', o.encoder, {
      bitrateKbps: o.bitrateKbps,
      fps: o.fps,
      keyFrameIntervalS: o.keyFrameIntervalS,
    }),
    { id: 'mix-parse', factory: 'h264parse', props: { 'config-interval': -1 } },
    ...tapSink('mix-video-queue', CALL_RECORDING_TAPS.video, 120),
  ];
  const links: LinkSpec[] = [
    ...camera.links,
    ...far.links,
    { from: camera.tail, to: 'mix-compose', caps: camera.caps, toPad: 'sink_0', toPadProps: { zorder: 0 } },
    {
      from: far.tail,
      to: 'mix-compose',
      caps: far.caps,
      toPad: 'sink_1',
      toPadProps: { zorder: 1, xpos: pip.x, ypos: pip.y },
    },
    { from: 'mix-compose', to: 'mix-compose-convert', caps: raw(width, height) },
    { from: 'mix-compose-convert', to: 'mix-encoder', caps: 'video/x-raw,format=I420' },
    { from: 'mix-encoder', to: 'mix-parse', caps: o.encoder.outputCaps },
    { from: 'mix-parse', to: 'mix-video-queue', caps: 'video/x-h264,stream-format=byte-stream,alignment=au' },
    { from: 'mix-video-queue', to: CALL_RECORDING_TAPS.video },
  ];
  const taps: NonNullable<PipelineSpec['taps']> = [{ element: CALL_RECORDING_TAPS.video, media: 'video' }];
  if (o.audioEncoder) {
    const voice = (prefix: string, channel: string, pad: string) => {
      const ids = [`${prefix}-src`, `${prefix}-convert`, `${prefix}-resample`];
      elements.push(
        { id: ids[0]!, factory: 'interaudiosrc', props: { channel, ...AUDIO_CHANNEL_TIMES } },
        { id: ids[1]!, factory: 'audioconvert' },
        { id: ids[2]!, factory: 'audioresample' },
      );
      links.push(
        { from: ids[0]!, to: ids[1]! },
        { from: ids[1]!, to: ids[2]! },
        {
          from: ids[2]!,
          to: 'mix-voices',
          caps: `audio/x-raw,format=S16LE,rate=${AUDIO.rate},channels=${AUDIO.channels}`,
          toPad: pad,
        },
      );
    };
    voice('mix-mic', MIC_RECORD_CHANNEL, 'sink_0');
    voice('mix-far-audio', FAR_AUDIO_RECORD_CHANNEL, 'sink_1');
    elements.push(
      { id: 'mix-voices', factory: 'audiomixer', props: { latency: AGGREGATOR_WAIT_NS } },
      { id: 'mix-voices-convert', factory: 'audioconvert' },
      {
        id: 'mix-audio-encoder',
        factory: o.audioEncoder.element,
        props: o.audioEncoder.properties(AUDIO.bitrateKbps),
      },
      { id: 'mix-audio-parse', factory: 'aacparse' },
      ...tapSink('mix-audio-queue', CALL_RECORDING_TAPS.audio, 200),
    );
    links.push(
      { from: 'mix-voices', to: 'mix-voices-convert' },
      { from: 'mix-voices-convert', to: 'mix-audio-encoder' },
      { from: 'mix-audio-encoder', to: 'mix-audio-parse' },
      { from: 'mix-audio-parse', to: 'mix-audio-queue' },
      { from: 'mix-audio-queue', to: CALL_RECORDING_TAPS.audio },
    );
    taps.push({ element: CALL_RECORDING_TAPS.audio, media: 'audio' });
  }
  return { name: CALL_RECORDING_PIPELINE, elements, links, taps };
}

/** What a recording is fed from: taps of one pipeline, and how to let them go at its end. */
export interface RecordingFeed {
  video: ElementRef;
  audio: ElementRef | null;
  /** What the recording holds, for its series: 'camera' alone, or 'call' (both sides). */
  holds: 'camera' | 'call';
  release(): Promise<void>;
}

/** Starts `call-record-mix` and gives its taps as a recording's feed; stopped when released. */
export async function startCallRecordingMix(
  worker: { startPipeline(spec: PipelineSpec): Promise<void>; stopPipeline(name: string): Promise<void> },
  options: CallRecordingOptions,
): Promise<RecordingFeed> {
  await worker.startPipeline(callRecordingSpec(options));
  return {
    video: { pipeline: CALL_RECORDING_PIPELINE, element: CALL_RECORDING_TAPS.video },
    audio: options.audioEncoder
      ? { pipeline: CALL_RECORDING_PIPELINE, element: CALL_RECORDING_TAPS.audio }
      : null,
    holds: 'call',
    release: () => worker.stopPipeline(CALL_RECORDING_PIPELINE).catch(() => {}),
  };
}
