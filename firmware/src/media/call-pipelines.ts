import {
  audioShare,
  FAR_AUDIO_RECORD_CHANNEL,
  FAR_VIDEO_CHANNEL,
  MIC_RECORD_CHANNEL,
  videoShare,
} from './call-recording.ts';
import type { ElementSpec, LinkSpec, PipelineSpec } from './pipeline-spec.ts';
import { tapFedSource } from './pipeline-spec.ts';

/*
 * A consultation call as two pipelines in the media worker, so that the far end's part can end
 * and start again on its own (the specialist leaving and rejoining):
 *
 *   call-out      the camera's encoded video (fed from the consultation's tap: one encode for
 *                 preview, recording, live out and the call) and the microphone → webrtcdsp
 *                 (echo cancellation against the probe, noise suppression) → Opus → webrtcbin,
 *                 sending only; and the loudspeaker: the far end's sound (interaudiosrc) →
 *                 webrtcechoprobe → the speaker
 *   call-in       webrtcbin, receiving only → H.264 decoded (hardware first) → the far-end
 *                 picture; Opus decoded → interaudiosink, into call-out's loudspeaker
 *
 * The loudspeaker and the microphone are in one pipeline: the canceller takes from the probe the
 * next 10 ms it has heard (delay-agnostic mode), so the two must start together — a probe started
 * earlier hands over audio as old as its head start, beyond the delays the canceller searches
 * (measured: 0.6 dB of echo taken out with the probe in a pipeline of its own, timestamps lined up
 * or not; see docs/design/calls.md).
 */

export const CALL_PIPELINES = { out: 'call-out', in: 'call-in' } as const;

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
  /** In-call controls: the microphone's mute (before Opus), the loudspeaker's volume (before the echo probe). */
  mute: 'out-mute',
  volume: 'speaker-volume',
} as const;

/** The channel between call-in's decoded sound and call-out's loudspeaker (interaudiosink → interaudiosrc). */
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
  /**
   * The board's display for the far-end picture (an overlay sink: its elements, the last the sink,
   * and where on the screen), or null: the kiosk shows the sink's frames.
   */
  display: FarEndDisplay | null;
  /** webrtcbin's jitter buffer: 200 ms by default, which alone adds ~120 ms on a good link. */
  latencyMs: number;
  /** Echo control on (webrtcdsp); off only where the element is missing. */
  echoControl: boolean;
  /** The in-call controls as the call starts (a rejoin keeps what staff set). */
  controls: CallControls;
}

export interface FarEndDisplay {
  elements: ElementSpec[];
  rectangle: { x: number; y: number; width: number; height: number };
}

/**
 * What staff set during a call: the microphone muted, the camera turned off (the far end sees the
 * placeholder; the kiosk's preview and a recording keep the camera), the loudspeaker's volume (0–1).
 */
export interface CallControls {
  muted: boolean;
  cameraOff: boolean;
  volume: number;
}

/** The far-end sound into the loudspeaker, through the echo probe. Silence until the far end speaks. */
function speakerChain(media: CallMedia): { elements: ElementSpec[]; links: LinkSpec[] } {
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
      props: {
        channel: FAR_AUDIO_CHANNEL,
        'period-time': 10_000_000,
        'latency-time': 20_000_000,
        'buffer-time': 100_000_000,
      },
    },
    { id: 'speaker-convert', factory: 'audioconvert' },
    { id: 'speaker-resample', factory: 'audioresample' },
    // Before the probe: the canceller must know what the loudspeaker really plays.
    { id: CALL_ELEMENTS.volume, factory: 'volume', props: { volume: media.controls.volume } },
    ...probe,
    ...sinks,
  ];
  const chain = elements.map((e) => e.id);
  const links: LinkSpec[] = chain.slice(1).map((to, i) => ({
    from: chain[i]!,
    to,
    ...(chain[i] === 'speaker-resample' ? { caps: 'audio/x-raw,rate=48000,channels=1,format=S16LE' } : {}),
  }));
  return { elements, links };
}

/**
 * What we send — the shared encoded video (fed from the consultation's tap) and the microphone —
 * and the loudspeaker, whose sound the microphone's canceller takes out.
 */
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
              // The way from loudspeaker to microphone (sound card, room, shared capture) is not
              // known in advance: the canceller finds the delay itself and models a long tail.
              'delay-agnostic': true,
              'extended-filter': true,
              'noise-suppression': true,
              // Off: while only the far end talks, the gain control lifts the echo that is left
              // (+7 dB measured); the microphone's level is set on the board's mixer instead.
              'gain-control': false,
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
      // Muted: silence goes out (the stream stays, so unmuting is instant).
      { id: CALL_ELEMENTS.mute, factory: 'volume', props: { mute: media.controls.muted } },
      // What the specialist hears of us, shared for a recording made during the call.
      { id: 'out-mic-tee', factory: 'tee' },
      { id: 'out-opus', factory: 'opusenc', props: { bitrate: 32_000, 'frame-size': 20 } },
      { id: 'out-audio-pay', factory: 'rtpopuspay', props: { pt: PT.audio, ssrc: media.ssrc.audio } },
    ];
    const micShare = audioShare('out-mic-share', MIC_RECORD_CHANNEL);
    elements.push(...audio, ...micShare.elements);
    links.push({ from: 'out-mic-tee', to: micShare.head }, ...micShare.links);
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
  const speaker = speakerChain(media);
  elements.push(...speaker.elements);
  links.push(...speaker.links);
  return { name: CALL_PIPELINES.out, elements, links };
}

/**
 * What we receive: webrtcbin's pads appear once the subscription's offer is answered; each is
 * linked by the kind of media its caps announce.
 */
export function inSpec(media: CallMedia): PipelineSpec {
  const farVideoShare = videoShare('in-video-share', FAR_VIDEO_CHANNEL);
  const farAudioShare = audioShare('in-audio-share', FAR_AUDIO_RECORD_CHANNEL);
  const elements: ElementSpec[] = [
    {
      id: CALL_ELEMENTS.inWebrtc,
      factory: 'webrtcbin',
      props: { 'bundle-policy': 'max-bundle', latency: media.latencyMs },
    },
    {
      id: 'in-video-depay',
      factory: 'rtph264depay',
      // A lost packet asks the far end for a key frame (PLI, through webrtcbin's RTCP) and the
      // broken pictures until it comes are dropped: the far end sends key frames only when asked,
      // so without this one lost packet froze the picture for good (0 frames/s at 5 % loss).
      props: { 'request-keyframe': true },
    },
    { id: 'in-video-parse', factory: 'h264parse' },
    { id: 'in-video-decode', factory: media.decoder },
    { id: 'in-video-convert', factory: 'videoconvert' },
    // The specialist as shown, shared for a recording made during the call (call-recording.ts).
    { id: 'in-video-shown-tee', factory: 'tee' },
    ...farVideoShare.elements,
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
    { id: 'in-audio-tee', factory: 'tee' },
    ...farAudioShare.elements,
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
    ...(media.display ? [] : [{ from: 'in-video-decode', to: 'in-video-convert' }]),
    { from: 'in-video-convert', to: 'in-video-shown-tee' },
    { from: 'in-video-shown-tee', to: CALL_ELEMENTS.farVideo },
    { from: 'in-video-shown-tee', to: farVideoShare.head },
    ...farVideoShare.links,
    { from: CALL_ELEMENTS.inWebrtc, to: 'in-audio-depay', dynamic: true, fromPad: 'src_', media: 'audio' },
    { from: 'in-audio-depay', to: 'in-audio-decode' },
    { from: 'in-audio-decode', to: 'in-audio-convert' },
    { from: 'in-audio-convert', to: CALL_ELEMENTS.farLevel },
    { from: CALL_ELEMENTS.farLevel, to: 'in-audio-resample' },
    { from: 'in-audio-resample', to: 'in-audio-tee', caps: 'audio/x-raw,rate=48000,channels=1' },
    { from: 'in-audio-tee', to: CALL_ELEMENTS.farAudio },
    { from: 'in-audio-tee', to: farAudioShare.head },
    ...farAudioShare.links,
  ];
  if (media.display) {
    const display = overlayBranch(media.display);
    elements.push(...display.elements);
    links.push(...display.links);
  }
  return { name: CALL_PIPELINES.in, elements, links };
}

/**
 * The decoded picture split: to the board's overlay sink as the decoder gives it (on the board
 * the VPU's buffers reach the display plane without a copy or a conversion), and converted to
 * the sink whose counts and last frame the status and the kiosk use.
 */
/** The overlay's own elements in call-in are named so: a failure among them is the display's. */
const DISPLAY_PREFIX = 'display-';

/** Whether an element of call-in (as the bus names it) is one of the overlay's own. */
export function isDisplayElement(element: string | null): boolean {
  return element?.startsWith(DISPLAY_PREFIX) ?? false;
}

function overlayBranch(display: FarEndDisplay): { elements: ElementSpec[]; links: LinkSpec[] } {
  const chain = display.elements.map((e, i, all) => ({
    ...e,
    id: `${DISPLAY_PREFIX}${e.id}`,
    // The sink is placed where the kiosk's layout leaves clear.
    ...(i === all.length - 1 ? { renderRectangle: { ...display.rectangle } } : {}),
  }));
  const elements: ElementSpec[] = [
    { id: 'in-video-tee', factory: 'tee' },
    { id: 'in-video-kiosk-queue', factory: 'queue', props: { 'max-size-buffers': 2, leaky: 2 } },
    { id: 'in-video-display-queue', factory: 'queue', props: { 'max-size-buffers': 2, leaky: 2 } },
    ...chain,
  ];
  const ids = ['in-video-display-queue', ...chain.map((e) => e.id)];
  const links: LinkSpec[] = [
    { from: 'in-video-decode', to: 'in-video-tee' },
    { from: 'in-video-tee', to: 'in-video-kiosk-queue' },
    { from: 'in-video-kiosk-queue', to: 'in-video-convert' },
    { from: 'in-video-tee', to: 'in-video-display-queue' },
    ...ids.slice(1).map((to, i) => ({ from: ids[i]!, to })),
  ];
  return { elements, links };
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
