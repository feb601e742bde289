/**
 * Every H.264 encoder the terminal may meet, in preference order (hardware first), each with its
 * own property map: bitrate units, key-frame interval, rate control and the low-latency settings
 * differ per element. One table, so adaptive bitrate and health work the same for all of them.
 */

export interface EncodeTarget {
  bitrateKbps: number;
  fps: number;
  /** A key frame at least this often (live out needs ≤ 2 s). */
  keyFrameIntervalS: number;
  /** Software only: how much CPU the board can spare (x264's speed-preset). */
  cpu: 'weak' | 'normal';
}

export type PropValue = string | number | boolean;

export interface EncoderEntry {
  element: string;
  kind: 'hardware' | 'software';
  /** Board family, for health and docs. */
  family: string;
  /** Properties for live, low-latency CBR at the target. */
  properties(target: EncodeTarget): Record<string, PropValue>;
  /** Properties to change for a new bitrate while playing (adaptive bitrate). */
  bitrate(kbps: number): Record<string, PropValue>;
  /**
   * Caps after the encoder: profile is negotiated by caps for elements without a profile
   * property; baseline/constrained-baseline where the encoder cannot do B-frames anyway.
   */
  outputCaps: string;
}

const keyFrames = (t: EncodeTarget) => Math.max(1, Math.round(t.fps * t.keyFrameIntervalS));

/** V4L2 stateful encoders take their controls as one GstStructure string (bitrate in bit/s). */
function v4l2Controls(kbps: number, gop?: number): string {
  const parts = [`video_bitrate=${kbps * 1000}`, 'video_bitrate_mode=1', 'video_b_frames=0'];
  if (gop !== undefined) parts.push(`h264_i_frame_period=${gop}`, `video_gop_size=${gop}`);
  return `controls,${parts.join(',')}`;
}

export const ENCODERS: readonly EncoderEntry[] = [
  {
    element: 'v4l2h264enc',
    kind: 'hardware',
    family: 'V4L2 M2M (Raspberry Pi 4, many SoCs)',
    properties: (t) => ({ 'extra-controls': v4l2Controls(t.bitrateKbps, keyFrames(t)) }),
    bitrate: (kbps) => ({ 'extra-controls': v4l2Controls(kbps) }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline',
  },
  {
    element: 'mpph264enc',
    kind: 'hardware',
    family: 'Rockchip MPP',
    // bps in bit/s; gop in frames; rc-mode cbr.
    properties: (t) => ({ bps: t.bitrateKbps * 1000, gop: keyFrames(t), 'rc-mode': 'cbr' }),
    bitrate: (kbps) => ({ bps: kbps * 1000 }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au',
  },
  {
    element: 'vpuenc_h264',
    kind: 'hardware',
    family: 'NXP i.MX 8M Plus VPU',
    // bitrate in kbit/s; gop-size in frames.
    properties: (t) => ({ bitrate: t.bitrateKbps, 'gop-size': keyFrames(t) }),
    bitrate: (kbps) => ({ bitrate: kbps }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au',
  },
  {
    element: 'nvv4l2h264enc',
    kind: 'hardware',
    family: 'NVIDIA Jetson',
    // bitrate in bit/s; control-rate 1 = CBR; profile 0 = baseline; SPS/PPS on every IDR for late joiners.
    properties: (t) => ({
      bitrate: t.bitrateKbps * 1000,
      'control-rate': 1,
      iframeinterval: keyFrames(t),
      idrinterval: keyFrames(t),
      profile: 0,
      'insert-sps-pps': true,
      'maxperf-enable': true,
    }),
    bitrate: (kbps) => ({ bitrate: kbps * 1000 }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au',
  },
  {
    element: 'vah264enc',
    kind: 'hardware',
    family: 'Intel/AMD VA-API (va plugin)',
    // bitrate in kbit/s; cpb-size in kbit (one second's worth would be large: a quarter second).
    properties: (t) => ({
      bitrate: t.bitrateKbps,
      'rate-control': 'cbr',
      'key-int-max': keyFrames(t),
      'b-frames': 0,
      'cpb-size': Math.round(t.bitrateKbps / 4),
    }),
    bitrate: (kbps) => ({ bitrate: kbps }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au',
  },
  {
    element: 'vaapih264enc',
    kind: 'hardware',
    family: 'Intel VA-API (gstreamer-vaapi)',
    // bitrate in kbit/s; cpb-length in ms.
    properties: (t) => ({
      bitrate: t.bitrateKbps,
      'rate-control': 'cbr',
      'keyframe-period': keyFrames(t),
      'max-bframes': 0,
      'cpb-length': 250,
    }),
    bitrate: (kbps) => ({ bitrate: kbps }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au',
  },
  {
    element: 'x264enc',
    kind: 'software',
    family: 'software (x264)',
    // bitrate in kbit/s; vbv-buf-capacity in ms; no B-frames; zerolatency drops lookahead.
    properties: (t) => ({
      bitrate: t.bitrateKbps,
      tune: 'zerolatency',
      'speed-preset': t.cpu === 'weak' ? 'ultrafast' : 'veryfast',
      'key-int-max': keyFrames(t),
      bframes: 0,
      'vbv-buf-capacity': 250,
      'byte-stream': true,
      pass: 'cbr',
    }),
    bitrate: (kbps) => ({ bitrate: kbps }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline',
  },
  {
    element: 'openh264enc',
    kind: 'software',
    family: 'software (OpenH264)',
    // bitrate in bit/s; gop-size in frames; OpenH264 has no B-frames.
    properties: (t) => ({
      bitrate: t.bitrateKbps * 1000,
      'max-bitrate': t.bitrateKbps * 1000,
      'gop-size': keyFrames(t),
      'rate-control': 'bitrate',
      'usage-type': 'camera',
    }),
    bitrate: (kbps) => ({ bitrate: kbps * 1000, 'max-bitrate': kbps * 1000 }),
    outputCaps: 'video/x-h264,stream-format=byte-stream,alignment=au',
  },
];

export function encoderEntry(element: string): EncoderEntry {
  const entry = ENCODERS.find((e) => e.element === element);
  if (!entry) {
    throw new RangeError(
      `unknown H.264 encoder ${element}; known: ${ENCODERS.map((e) => e.element).join(', ')}`,
    );
  }
  return entry;
}

/**
 * The encoders to try, best first: the pinned one alone when configuration pins one, else every
 * table entry the registry has. Hardware that failed at run time this boot is skipped.
 */
export function encoderCandidates(
  available: ReadonlySet<string>,
  options: { pinned?: string | null; failedHardware?: ReadonlySet<string> } = {},
): EncoderEntry[] {
  if (options.pinned) {
    const entry = encoderEntry(options.pinned);
    return available.has(entry.element) ? [entry] : [];
  }
  return ENCODERS.filter(
    (e) => available.has(e.element) && !(e.kind === 'hardware' && options.failedHardware?.has(e.element)),
  );
}
