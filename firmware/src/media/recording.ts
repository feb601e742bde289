import { type ElementSpec, type LinkSpec, type PipelineSpec, tapFedSource } from './pipeline-spec.ts';

export interface RecordingOptions {
  /** Element id prefix, so one pipeline can hold the live and the recording branches. */
  prefix?: string;
  dir: string;
  /** Segment length (design.md: one instance per segment, so a lost link costs one segment). */
  segmentS: number;
  /**
   * Fragmented MP4: a moof/mdat pair every this many ms, so a segment cut by a power failure or a
   * kill is still playable up to its last complete fragment.
   */
  fragmentMs?: number;
  /** The consultation has a microphone: an AAC track beside the video, fed from the audio tap. */
  audio?: boolean;
}

/**
 * The recording branch: after the encoder's tee, a queue into splitmuxsink writing fragmented MP4
 * segments. The filesink inside is unbuffered: data the muxer wrote is in the kernel, not lost in a
 * user-space buffer when the worker dies. Each finished file is reported as `segment-closed`.
 */
export function recordingBranch(options: RecordingOptions): {
  elements: ElementSpec[];
  links: LinkSpec[];
  head: string;
} {
  const id = (name: string) => `${options.prefix ?? 'rec'}-${name}`;
  return {
    head: id('queue'),
    elements: [
      { id: id('queue'), factory: 'queue' },
      { id: id('parse'), factory: 'h264parse' },
      {
        id: id('split'),
        factory: 'splitmuxsink',
        props: {
          location: `${options.dir}/segment-%05d.mp4`,
          'max-size-time': Math.round(options.segmentS * 1e9),
          'send-keyframe-requests': true,
          'async-finalize': true,
          'muxer-factory': 'mp4mux',
          'muxer-properties': `properties,fragment-duration=${options.fragmentMs ?? 500}`,
          'sink-properties': 'properties,buffer-mode=2',
        },
      },
    ],
    links: [
      { from: id('queue'), to: id('parse') },
      // By pad name: splitmuxsink's pads all take ANY caps, so only the name says which is video.
      { from: id('parse'), to: id('split'), toPad: 'video' },
    ],
  };
}

/**
 * A recording as its own pipeline: an appsrc the media worker feeds with the consultation
 * pipeline's encoded buffers (from a key frame on), then the recording branch. Its end-of-stream
 * closes the last segment; its errors (a full disk) end the recording, not the camera or live out.
 */
export function recordingPipeline(options: RecordingOptions & { name: string }): PipelineSpec {
  const branch = recordingBranch(options);
  return {
    name: options.name,
    elements: [
      tapFedSource('rec-src', 16_000_000),
      ...branch.elements,
      ...(options.audio
        ? [
            tapFedSource('rec-audio-src', 2_000_000),
            { id: 'rec-audio-queue', factory: 'queue' },
            { id: 'rec-audio-parse', factory: 'aacparse' },
          ]
        : []),
    ],
    links: [
      { from: 'rec-src', to: branch.head },
      ...branch.links,
      ...(options.audio
        ? [
            { from: 'rec-audio-src', to: 'rec-audio-queue' },
            { from: 'rec-audio-queue', to: 'rec-audio-parse' },
            { from: 'rec-audio-parse', to: 'rec-split', toPad: 'audio_0' },
          ]
        : []),
    ],
  };
}
