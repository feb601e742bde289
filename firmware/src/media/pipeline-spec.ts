import type { EncoderEntry, EncodeTarget, PropValue } from './encoders.ts';

/**
 * A pipeline as data: elements with their properties, and links (with optional caps filters).
 * The media worker creates and links the elements through the GStreamer API from this; nothing is
 * pasted into gst_parse_launch, so a bad value is reported against the element that has it.
 */
export interface ElementSpec {
  id: string;
  factory: string;
  props?: Record<string, PropValue>;
  /**
   * For a video sink that draws on a screen (GstVideoOverlay: kmssink, waylandsink): where, in
   * screen pixels. Set through the interface, not as the `render-rectangle` property, which
   * waylandsink 1.22 refuses ("invalid property id").
   */
  renderRectangle?: { x: number; y: number; width: number; height: number };
}

export interface LinkSpec {
  from: string;
  to: string;
  caps?: string;
  /**
   * The source pad appears at run time (demuxers): link when it is added. With `fromPad`, only a
   * pad whose name starts with it (`video_`, `audio_`); other pads are left for other links.
   */
  dynamic?: boolean;
  /** A pad by name (or name prefix, for a dynamic link); otherwise any compatible pad. */
  fromPad?: string;
  /**
   * A dynamic link for one kind of stream only: the new pad's caps must say `media=` this
   * (webrtcbin's `src_%u` pads carry RTP of either kind, told apart only by their caps).
   */
  media?: 'video' | 'audio';
  /** A sink pad by name; a request pad is requested by it (`audio_0` from splitmuxsink's `audio_%u`). */
  toPad?: string;
  /** Properties of that sink pad once linked (a compositor's `xpos`, `ypos`, `zorder`). */
  toPadProps?: Record<string, PropValue>;
}

/** What an encoded tap carries: video feeds start at key frames, audio follows its video. */
export type TapMedia = 'video' | 'audio';

export interface PipelineSpec {
  name: string;
  elements: ElementSpec[];
  links: LinkSpec[];
  /**
   * Appsinks at an encoder's output that the worker drains continuously: it measures frames/s and
   * kbit/s there (bus `meter` events) and feeds recordings from them (the `pump` request).
   */
  taps?: Array<{ element: string; media: TapMedia }>;
}

/**
 * An appsrc the media worker feeds from an encoded tap. handle-segment-change: it passes on the
 * segment each sample came with, so a muxer sees the camera pipeline's running time on every
 * track (x264enc alone puts 1000 h on its timestamps, offset by its segment) and interleaves sound
 * with picture. Leaky for live out: a slow link loses live frames, never holds up the tap.
 */
export function tapFedSource(id: string, maxBytes: number, leaky = false): ElementSpec {
  return {
    id,
    factory: 'appsrc',
    props: {
      'is-live': true,
      format: 'time',
      'handle-segment-change': true,
      'max-bytes': maxBytes,
      ...(leaky ? { 'leaky-type': 'downstream' } : {}),
    },
  };
}

/**
 * A live H.264 encode on the terminal: the encoder's own properties for low-latency CBR at the
 * target, tuned for the board's weak cores (software encoders' fastest presets).
 */
export function encoderElement(
  id: string,
  encoder: EncoderEntry,
  target: Omit<EncodeTarget, 'cpu'>,
): ElementSpec {
  return { id, factory: encoder.element, props: encoder.properties({ ...target, cpu: 'weak' }) };
}

/**
 * The end of an encoded tap: a leaky queue into an appsink that keeps at most `buffers` (a stalled
 * reader drops the oldest, never holds up the encoder). The worker drains the appsink.
 */
export function tapSink(queue: string, sink: string, buffers: number): ElementSpec[] {
  return [
    {
      id: queue,
      factory: 'queue',
      props: { leaky: 'downstream', 'max-size-buffers': buffers, 'max-size-time': 0, 'max-size-bytes': 0 },
    },
    {
      id: sink,
      factory: 'appsink',
      props: { sync: false, async: false, 'max-buffers': buffers, drop: true },
    },
  ];
}

/** Every problem with a spec, each naming the element or link; empty when it can be built. */
export function specProblems(spec: PipelineSpec): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name))
    problems.push(`pipeline name "${spec.name}" must be lower-case letters, digits, -`);
  for (const e of spec.elements) {
    if (ids.has(e.id)) problems.push(`element id "${e.id}" is used twice`);
    ids.add(e.id);
    // As GStreamer spells them: rtpL16depay, avdec_h264, input-selector.
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(e.factory))
      problems.push(`${e.id}: "${e.factory}" is not an element factory name`);
  }
  for (const l of spec.links) {
    for (const end of [l.from, l.to])
      if (!ids.has(end)) problems.push(`link ${l.from} → ${l.to}: no element "${end}"`);
  }
  if (spec.elements.length === 0) problems.push('a pipeline needs at least one element');
  // An element nothing links to would sit in the pipeline doing nothing, silently.
  if (spec.elements.length > 1) {
    const linked = new Set(spec.links.flatMap((l) => [l.from, l.to]));
    for (const e of spec.elements) if (!linked.has(e.id)) problems.push(`${e.id}: not linked to anything`);
  }
  return problems;
}

/**
 * The one-second test encode that proves an encoder works before it is used: a test pattern at the
 * target's size and rate into the encoder, parsed, written to `outFile`. It worked when EOS came and
 * the file holds an H.264 byte stream (an element can reach EOS having encoded nothing).
 */
export function testEncodeSpec(
  encoder: EncoderEntry,
  target: EncodeTarget & { width: number; height: number },
  outFile: string,
): PipelineSpec {
  return {
    name: `test-${encoder.element.replace(/_/g, '-')}`,
    elements: [
      { id: 'source', factory: 'videotestsrc', props: { 'num-buffers': target.fps, 'is-live': false } },
      { id: 'convert', factory: 'videoconvert' },
      { id: 'encoder', factory: encoder.element, props: encoder.properties(target) },
      { id: 'parse', factory: 'h264parse' },
      { id: 'sink', factory: 'filesink', props: { location: outFile, sync: false } },
    ],
    links: [
      {
        from: 'source',
        to: 'convert',
        caps: `video/x-raw,width=${target.width},height=${target.height},framerate=${target.fps}/1`,
      },
      { from: 'convert', to: 'encoder', caps: 'video/x-raw,format=I420' },
      { from: 'encoder', to: 'parse', caps: encoder.outputCaps },
      { from: 'parse', to: 'sink' },
    ],
  };
}
