import type { ElementSpec, LinkSpec, PipelineSpec } from './pipeline-spec.ts';
import { tapFedSource } from './pipeline-spec.ts';

/*
 * A consultation call as three pipelines in the media worker, so that each part can end and
 * start again on its own (the specialist leaving and rejoining, a media server lost):
 *
 *   call-speaker  far-end sound (interaudiosrc) → webrtcechoprobe → the speaker
 *   call-out      the camera's encoded video (fed from the consultation's tap: one encode for
 *                 preview, recording, live out and the call) and the microphone → webrtcdsp
 *                 (echo cancellation against the probe, noise suppression, gain control) → Opus
 *                 → webrtcbin, sending only
 *   call-in       webrtcbin, receiving only → H.264 decoded (hardware first) → the far-end
 *                 picture; Opus decoded → interaudiosink, into call-speaker
 *
 * The speaker pipeline starts first and lives for the whole call: webrtcdsp finds its echo probe
 * by name when it starts and fails without one (it must know what the loudspeaker plays to take it
 * out of what the microphone hears).
 */

export const CALL_PIPELINES = { speaker: 'call-speaker', out: 'call-out', in: 'call-in' } as const;

export const CALL_ELEMENTS = {
  outWebrtc: 'out-webrtc',
  inWebrtc: 'in-webrtc',
  videoSrc: 'out-video-src',
  echoProbe: 'call-echo-probe',
  dsp: 'out-dsp',
  farVideo: 'in-video-sink',
  farAudio: 'in-audio-sink',
  farLevel: 'in-audio-level',
  speakerSink: 'speaker-sink',
} as const;

/** The channel between call-in's decoded sound and call-speaker (interaudiosink → interaudiosrc). */
const FAR_AUDIO_CHANNEL = 'telemed-call-far-audio';

/** RTP payload types as the room offers them: H.264 and Opus (Janus's defaults, fixed here). */
const PT = { video: 96, audio: 111 } as const;

/** H.264 decoders, hardware first, as the encoder table has its encoders. */
export const DECODERS = [
  { element: 'v4l2h264dec', kind: 'hardware' },
  { element: 'v4l2slh264dec', kind: 'hardware' },
  { element: 'mppvideodec', kind: 'hardware' },
  { element: 'vpudec', kind: 'hardware' },
  { element: 'nvv4l2decoder', kind: 'hardware' },
  { element: 'vah264dec', kind: 'hardware' },
  { element: 'vaapih264dec', kind: 'hardware' },
  { element: 'avdec_h264', kind: 'software' },
  { element: 'openh264dec', kind: 'software' },
] as const;

export interface CallMedia {
  /**
   * The SSRCs the payloaders use, also written into their caps: webrtcbin 1.22 otherwise announces
   * one SSRC in the offer and the payloader sends another, and the media server drops every packet.
   */
  ssrc: { video: number; audio: number };
  /** The microphone's source elements, or null (the call goes without our sound). */
  microphone: ElementSpec[] | null;
  /** The loudspeaker's sink elements (the last one is the sink). */
  speaker: ElementSpec[];
  /** The H.264 decoder for the far-end picture (chosen from DECODERS by what the registry has). */
  decoder: string;
  /** webrtcbin's jitter buffer: 200 ms by default, which alone adds ~120 ms on a good link. */
  latencyMs: number;
  /** Echo control on (webrtcdsp); off only where the element is missing. */
  echoControl: boolean;
}

/** The far-end sound into the loudspeaker, through the echo probe. Silence until the far end speaks. */
export function speakerSpec(media: CallMedia): PipelineSpec {
  const sinks = media.speaker.map((e) => ({
    ...e,
    id: e.id === 'sink' ? CALL_ELEMENTS.speakerSink : `speaker-${e.id}`,
  }));
  const probe: ElementSpec[] = media.echoControl
    ? [{ id: CALL_ELEMENTS.echoProbe, factory: 'webrtcechoprobe' }]
    : [];
  const elements: ElementSpec[] = [
    {
      id: 'far-audio-src',
      factory: 'interaudiosrc',
      // 10 ms periods, 20 ms reported latency: the far end's voice should not wait here.
      props: { channel: FAR_AUDIO_CHANNEL, 'period-time': 10_000_000, 'latency-time': 20_000_000 },
    },
    { id: 'speaker-convert', factory: 'audioconvert' },
    { id: 'speaker-resample', factory: 'audioresample' },
    ...probe,
    ...sinks,
  ];
  const chain = elements.map((e) => e.id);
  const links: LinkSpec[] = chain.slice(1).map((to, i) => ({
    from: chain[i]!,
    to,
    ...(chain[i] === 'speaker-resample' ? { caps: 'audio/x-raw,rate=48000,channels=1,format=S16LE' } : {}),
  }));
  return { name: CALL_PIPELINES.speaker, elements, links };
}

/** What we send: the shared encoded video (fed from the consultation's tap) and the microphone. */
export function outSpec(media: CallMedia): PipelineSpec {
  const video: ElementSpec[] = [
    tapFedSource(CALL_ELEMENTS.videoSrc, 2_000_000, true),
    { id: 'out-video-parse', factory: 'h264parse', props: { 'config-interval': -1 } },
    {
      id: 'out-video-pay',
      factory: 'rtph264pay',
      props: {
        pt: PT.video,
        ssrc: media.ssrc.video,
        'config-interval': -1,
        'aggregate-mode': 'zero-latency',
        mtu: 1200,
      },
    },
    { id: CALL_ELEMENTS.outWebrtc, factory: 'webrtcbin', props: { 'bundle-policy': 'max-bundle' } },
  ];
  const links: LinkSpec[] = [
    { from: CALL_ELEMENTS.videoSrc, to: 'out-video-parse' },
    { from: 'out-video-parse', to: 'out-video-pay' },
    {
      from: 'out-video-pay',
      to: CALL_ELEMENTS.outWebrtc,
      caps: `application/x-rtp,media=video,encoding-name=H264,payload=${PT.video},clock-rate=90000,ssrc=(uint)${media.ssrc.video}`,
    },
  ];
  const elements = [...video];
  if (media.microphone) {
    const mic = media.microphone.map((e) => ({ ...e, id: `out-mic-${e.id}` }));
    const dsp: ElementSpec[] = media.echoControl
      ? [
          {
            id: CALL_ELEMENTS.dsp,
            factory: 'webrtcdsp',
            props: {
              probe: CALL_ELEMENTS.echoProbe,
              'echo-cancel': true,
              // Lined up with the probe by running time (clockFrom); the room's echo can last
              // longer than the default filter models.
              'extended-filter': true,
              'noise-suppression': true,
              'gain-control': true,
            },
          },
          { id: 'out-dsp-convert', factory: 'audioconvert' },
        ]
      : [];
    const audio: ElementSpec[] = [
      ...mic,
      { id: 'out-mic-convert', factory: 'audioconvert' },
      { id: 'out-mic-resample', factory: 'audioresample' },
      ...dsp,
      { id: 'out-opus', factory: 'opusenc', props: { bitrate: 32_000, 'frame-size': 20 } },
      { id: 'out-audio-pay', factory: 'rtpopuspay', props: { pt: PT.audio, ssrc: media.ssrc.audio } },
    ];
    elements.push(...audio);
    const ids = audio.map((e) => e.id);
    links.push(
      ...ids.slice(1).map((to, i) => ({
        from: ids[i]!,
        to,
        // webrtcdsp works on 10 ms frames of 16-bit audio at up to 48 kHz.
        ...(ids[i] === 'out-mic-resample' ? { caps: 'audio/x-raw,rate=48000,channels=1,format=S16LE' } : {}),
      })),
      {
        from: 'out-audio-pay',
        to: CALL_ELEMENTS.outWebrtc,
        caps: `application/x-rtp,media=audio,encoding-name=OPUS,payload=${PT.audio},clock-rate=48000,ssrc=(uint)${media.ssrc.audio}`,
      },
    );
  }
  // The echo probe hands the canceller what was played by running time: one clock, one base time.
  return {
    name: CALL_PIPELINES.out,
    elements,
    links,
    ...(media.echoControl ? { clockFrom: CALL_PIPELINES.speaker } : {}),
  };
}

/**
 * What we receive: webrtcbin's pads appear once the subscription's offer is answered; each is
 * linked by the kind of media its caps announce.
 */
export function inSpec(media: CallMedia): PipelineSpec {
  const elements: ElementSpec[] = [
    {
      id: CALL_ELEMENTS.inWebrtc,
      factory: 'webrtcbin',
      props: { 'bundle-policy': 'max-bundle', latency: media.latencyMs },
    },
    { id: 'in-video-depay', factory: 'rtph264depay' },
    { id: 'in-video-parse', factory: 'h264parse' },
    { id: 'in-video-decode', factory: media.decoder },
    { id: 'in-video-convert', factory: 'videoconvert' },
    {
      id: CALL_ELEMENTS.farVideo,
      factory: 'fakesink',
      // The far-end picture as the screen shows it: on time (sync), the last frame kept for the
      // kiosk and for snapshots.
      props: { sync: true, 'enable-last-sample': true, qos: true },
    },
    { id: 'in-audio-depay', factory: 'rtpopusdepay' },
    { id: 'in-audio-decode', factory: 'opusdec', props: { plc: true } },
    { id: 'in-audio-convert', factory: 'audioconvert' },
    // What the far end's sound amounts to, twice a second (bus 'level'): seconds heard, loudness.
    { id: CALL_ELEMENTS.farLevel, factory: 'level', props: { interval: 500_000_000, 'post-messages': true } },
    { id: 'in-audio-resample', factory: 'audioresample' },
    {
      id: CALL_ELEMENTS.farAudio,
      factory: 'interaudiosink',
      props: { channel: FAR_AUDIO_CHANNEL, sync: true },
    },
  ];
  const links: LinkSpec[] = [
    { from: CALL_ELEMENTS.inWebrtc, to: 'in-video-depay', dynamic: true, fromPad: 'src_', media: 'video' },
    { from: 'in-video-depay', to: 'in-video-parse' },
    { from: 'in-video-parse', to: 'in-video-decode' },
    { from: 'in-video-decode', to: 'in-video-convert' },
    { from: 'in-video-convert', to: CALL_ELEMENTS.farVideo },
    { from: CALL_ELEMENTS.inWebrtc, to: 'in-audio-depay', dynamic: true, fromPad: 'src_', media: 'audio' },
    { from: 'in-audio-depay', to: 'in-audio-decode' },
    { from: 'in-audio-decode', to: 'in-audio-convert' },
    { from: 'in-audio-convert', to: CALL_ELEMENTS.farLevel },
    { from: CALL_ELEMENTS.farLevel, to: 'in-audio-resample' },
    { from: 'in-audio-resample', to: CALL_ELEMENTS.farAudio, caps: 'audio/x-raw,rate=48000,channels=1' },
  ];
  return { name: CALL_PIPELINES.in, elements, links };
}

/** Elements a call cannot go without. */
export const CALL_REQUIRES = [
  'webrtcbin',
  'nicesrc',
  'rtph264pay',
  'rtph264depay',
  'opusenc',
  'opusdec',
  'rtpopuspay',
  'rtpopusdepay',
  'interaudiosrc',
  'interaudiosink',
] as const;

/** Echo control: used when present (a call without it still works, with echo in a hands-free room). */
export const CALL_ECHO_CONTROL = ['webrtcdsp', 'webrtcechoprobe'] as const;

/** The decoder to use from what the registry has: hardware first. */
export function chooseDecoder(available: ReadonlySet<string>): string | null {
  return DECODERS.find((d) => available.has(d.element))?.element ?? null;
}
