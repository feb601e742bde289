import type { PropValue } from './encoders.ts';
import { type ElementSpec, type LinkSpec, tapSink } from './pipeline-spec.ts';

/**
 * Consultation audio: the terminal's microphone, AAC-LC at 48 kHz mono. AAC rather than Opus
 * because one encode serves both outputs: MPEG-TS live out carries either, but a recording
 * becomes DICOM, and PS3.5 §8.2.12 admits MPEG-4 AAC (not Opus) alongside AVC video.
 */
export const AUDIO = { rate: 48_000, channels: 1, bitrateKbps: 64 } as const;

export interface AudioEncoderEntry {
  element: string;
  properties(kbps: number): Record<string, PropValue>;
}

/** AAC encoders in preference order; all take their bitrate in bit/s. */
export const AUDIO_ENCODERS: readonly AudioEncoderEntry[] = [
  // Fraunhofer FDK: the best AAC-LC at low rates, where the board's BSP ships it.
  { element: 'fdkaacenc', properties: (kbps) => ({ bitrate: kbps * 1000 }) },
  // FFmpeg's native encoder (gstreamer1.0-libav); fine at 64 kbit/s mono.
  { element: 'avenc_aac', properties: (kbps) => ({ bitrate: kbps * 1000 }) },
  { element: 'voaacenc', properties: (kbps) => ({ bitrate: kbps * 1000 }) },
];

/** A microphone the GStreamer device monitor found (ALSA, PulseAudio or PipeWire on the board). */
export interface MicrophoneInfo {
  name: string;
  /** The source element the device's provider makes for it (alsasrc, pulsesrc, pipewiresrc). */
  factory: string;
  /** How that element addresses the device: its `device` (ALSA, Pulse) or `target-object` (PipeWire). */
  props: Record<string, string>;
  /** Provider's class: Pulse lists the monitors of its outputs as sources; they are not microphones. */
  deviceClass: string | null;
}

/** Configured microphone: discovered, none, or an element chain (the rig's tone source). */
export type MicrophoneConfig =
  | { kind: 'auto' }
  | { kind: 'none' }
  | { kind: 'elements'; elements: ElementSpec[] };

/** The microphone to use, or null: the first real capture device (never a loopback monitor). */
export function chooseMicrophone(found: readonly MicrophoneInfo[]): MicrophoneInfo | null {
  return found.find((m) => m.deviceClass !== 'monitor') ?? null;
}

export interface AudioChain {
  elements: ElementSpec[];
  links: LinkSpec[];
  /** The appsink carrying encoded AAC, a tap recordings and live out are fed from. */
  tap: string;
}

/**
 * Microphone → convert/resample to 48 kHz mono → AAC → parse → the audio tap. The queue before
 * the tap is leaky: a stalled reader drops sound, never holds up the capture.
 */
export function audioChain(source: ElementSpec[], encoder: AudioEncoderEntry, tap = 'audio-tap'): AudioChain {
  if (source.length === 0) throw new RangeError('a microphone needs at least one element');
  const id = (name: string) => `mic-${name}`;
  const sources = source.map((e) => ({ ...e, id: id(e.id) }));
  const elements: ElementSpec[] = [
    ...sources,
    { id: id('convert'), factory: 'audioconvert' },
    { id: id('resample'), factory: 'audioresample' },
    { id: id('tee'), factory: 'tee' },
    { id: id('encoder-queue'), factory: 'queue' },
    { id: 'audio-encoder', factory: encoder.element, props: encoder.properties(AUDIO.bitrateKbps) },
    { id: 'audio-parse', factory: 'aacparse' },
    ...tapSink('audio-queue', tap, 200),
    // The same capture for a call (sharedMicrophone): a board's microphone opens once.
    {
      id: id('share-queue'),
      factory: 'queue',
      props: {
        leaky: 'downstream',
        'max-size-time': 200_000_000,
        'max-size-buffers': 0,
        'max-size-bytes': 0,
      },
    },
    { id: id('share'), factory: 'interaudiosink', props: { channel: MICROPHONE_CHANNEL, sync: false } },
  ];
  const links: LinkSpec[] = [
    ...sources.slice(1).map((e, i) => ({ from: sources[i]!.id, to: e.id })),
    { from: sources.at(-1)!.id, to: id('convert') },
    { from: id('convert'), to: id('resample') },
    {
      from: id('resample'),
      to: id('tee'),
      caps: `audio/x-raw,rate=${AUDIO.rate},channels=${AUDIO.channels}`,
    },
    { from: id('tee'), to: id('encoder-queue') },
    { from: id('encoder-queue'), to: 'audio-encoder' },
    { from: id('tee'), to: id('share-queue') },
    { from: id('share-queue'), to: id('share') },
    { from: 'audio-encoder', to: 'audio-parse' },
    { from: 'audio-parse', to: 'audio-queue' },
    { from: 'audio-queue', to: tap },
  ];
  return { elements, links, tap };
}

/** The channel a consultation's microphone capture is shared on (interaudiosink → interaudiosrc). */
export const MICROPHONE_CHANNEL = 'telemed-microphone';

/**
 * The microphone as a second pipeline hears it while a consultation captures it: one capture, as
 * on a board whose sound card opens once (and as the rig's microphone, a UDP port, can be read once).
 */
export function sharedMicrophoneElements(): ElementSpec[] {
  return [
    {
      id: 'shared',
      factory: 'interaudiosrc',
      // 10 ms periods and 20 ms of latency: a call's voice should not wait here.
      props: {
        channel: MICROPHONE_CHANNEL,
        'period-time': 10_000_000,
        'latency-time': 20_000_000,
        'buffer-time': 40_000_000,
      },
    },
  ];
}

/** A discovered microphone as a source element. */
export function microphoneElements(mic: MicrophoneInfo): ElementSpec[] {
  return [{ id: 'src', factory: mic.factory, props: { ...mic.props } }];
}
