import type { MicrophoneInfo } from './audio.ts';
import type { PropValue } from './encoders.ts';
import type { PipelineSpec } from './pipeline-spec.ts';

/** Requests the daemon sends the media worker; each gets exactly one reply with the same id. */
export type WorkerRequest =
  | { id: number; op: 'probe' }
  | { id: number; op: 'cameras' }
  | { id: number; op: 'microphones' }
  /**
   * The newest frame an element holds, as JPEG: a fakesink with enable-last-sample (converted), or
   * an appsink whose newest sample is taken (already JPEG when its caps say so).
   */
  | { id: number; op: 'snapshot'; pipeline: string; element: string }
  | { id: number; op: 'start'; spec: PipelineSpec }
  | { id: number; op: 'stop'; pipeline: string }
  /** End cleanly: EOS through the pipeline (muxers write their last fragment), reply at EOS. */
  | { id: number; op: 'finish'; pipeline: string }
  | { id: number; op: 'set'; pipeline: string; element: string; props: Record<string, PropValue> }
  /**
   * Shows one input of an input-selector: its gate (a valve) opened, its pad made active, the other
   * inputs' gates closed, in that order, on the worker's main loop (no frame is lost in between).
   */
  | {
      id: number;
      op: 'select-input';
      pipeline: string;
      selector: string;
      pad: string;
      open: string;
      close: string[];
    }
  /** The caps on an element's sink pad now (what a sink is being given), as text. */
  | { id: number; op: 'caps'; pipeline: string; element: string }
  /** An element's statistics structure (srtsink's `stats`), serialised; parsed by the daemon. */
  | { id: number; op: 'stats'; pipeline: string; element: string }
  /**
   * Feeds an appsink's encoded buffers into another pipeline's appsrc, from the next key frame on
   * (one is requested upstream), until the receiving pipeline finishes or stops. A recording is
   * its own pipeline this way: its EOS, errors and full disk never stop the camera or live out.
   */
  | {
      id: number;
      op: 'pump';
      from: ElementRef;
      to: ElementRef;
      /** From the tap's last key frame (recordings) or the next one, asked for now (live out). */
      start: 'last-key-frame' | 'next-key-frame';
      /**
       * When the tap's pipeline ends (camera lost, encoder replaced): 'end' gives the appsrc
       * end-of-stream (a recording closes its segment); 'wait' leaves it open for a new pump (a
       * call keeps its session while the camera is away). Default 'end'.
       */
      onSourceGone?: 'end' | 'wait';
      /**
       * Whose running time the fed buffers keep: the tap's pipeline's ('source', default: a
       * recording's tracks all come from there), or the receiving pipeline's ('target': a call's
       * picture joins a microphone that is stamped there; fed as they are, buffers from a camera
       * pipeline that started earlier would be seconds ahead and wait that long in the sink).
       */
      timeline?: 'source' | 'target';
      /**
       * The appsrc may be fed already: its feed is replaced by this one (a call switching between
       * its camera and its placeholder). Without it, feeding a fed appsrc is refused.
       */
      replace?: boolean;
    }
  /** A call's publisher: webrtcbin's offer, with its ICE candidates (reply: sdp). */
  | { id: number; op: 'webrtc-offer'; pipeline: string; element: string; streams: number; ports?: PortRange }
  /** The media server's answer to that offer. */
  | { id: number; op: 'webrtc-remote-answer'; pipeline: string; element: string; sdp: string }
  /** A call's subscription: the media server's offer in, webrtcbin's answer out (reply: sdp). */
  | { id: number; op: 'webrtc-answer'; pipeline: string; element: string; sdp: string; ports?: PortRange }
  /** webrtcbin's statistics for the stream through one of its pads (reply: stats, one structure each). */
  | { id: number; op: 'webrtc-stats'; pipeline: string; element: string; pad: string };

/** UDP ports ICE may use (a clinic's firewall opens these for calls). */
export interface PortRange {
  min: number;
  max: number;
}

/** An element by its spec id inside a named pipeline. */
export interface ElementRef {
  pipeline: string;
  element: string;
}

export interface ProbeResult {
  gstVersion: string;
  /** Which of the encoder table's elements this registry has. */
  encoders: string[];
  /** Which of the AAC encoder table's elements it has. */
  audioEncoders: string[];
  /** Which of the H.264 decoder table's elements it has (a call's far-end picture). */
  decoders: string[];
  /** The elements a two-way call needs beyond those: webrtcbin, Opus, echo control, … */
  callElements: string[];
}

/** A video source the GStreamer device monitor found (V4L2/UVC on the board). */
export interface CameraInfo {
  name: string;
  /** /dev/video* now; it can change on replug, so identity comes from busPath/serial. */
  path: string | null;
  busPath: string | null;
  serial: string | null;
  /** The device's caps as text; parseCameraCaps turns them into modes. */
  caps: string;
}

export type BusKind =
  | 'error'
  | 'warning'
  | 'eos'
  | 'state-changed'
  | 'qos'
  | 'latency'
  | 'segment-closed'
  /** Once a second per encoded tap: what the encoder really delivered. */
  | 'meter'
  /** A level element's reading: the structure as text in `message`. */
  | 'level';

/** What the worker tells the daemon, unasked or in reply. */
export type WorkerMessage =
  | { type: 'ready'; pid: number; gstVersion: string }
  /** Sent from a GLib timeout: proves the worker's main loop turns, not only its process. */
  | { type: 'heartbeat'; seq: number }
  | {
      type: 'reply';
      id: number;
      ok: true;
      result?: ProbeResult;
      cameras?: CameraInfo[];
      microphones?: MicrophoneInfo[];
      /** snapshot: JPEG bytes (IPC carries JSON, hence base64). */
      jpegBase64?: string;
      /** snapshot: when its sink showed that frame (wall-clock ms), where the sink keeps time. */
      shownAt?: number | null;
      /** stats: the GstStructure as text (`gst_structure_to_string`). */
      structure?: string;
      /** webrtc-stats: each statistic (outbound-rtp, remote-inbound-rtp, …) as structure text. */
      stats?: string[];
      /** webrtc-offer, webrtc-answer: the local description with its candidates. */
      sdp?: string;
    }
  | { type: 'reply'; id: number; ok: false; error: string; element: string | null }
  | {
      type: 'bus';
      pipeline: string;
      kind: BusKind;
      /** The element the message came from (its id in the spec), or the pipeline's name. */
      element: string;
      message: string;
      debug: string | null;
      state?: string;
      /** segment-closed: the finished file. */
      location?: string;
      /** meter: measured at the encoder's output over the last second. */
      meter?: { fps: number; kbps: number; keyRequests: number };
    };

/** The daemon's boundary check on what arrives from the child process. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  switch (type) {
    case 'ready':
    case 'heartbeat':
      return true;
    case 'reply':
      return (
        typeof (value as { id?: unknown }).id === 'number' &&
        typeof (value as { ok?: unknown }).ok === 'boolean'
      );
    case 'bus':
      return (
        typeof (value as { pipeline?: unknown }).pipeline === 'string' &&
        typeof (value as { kind?: unknown }).kind === 'string'
      );
    default:
      return false;
  }
}
