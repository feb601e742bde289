import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { LevelTrack } from './analysis.ts';
import { SAMPLE_RATE, voicePcm } from './schedule.ts';
import { SpeakerTimeline } from './speaker-timeline.ts';

/** 10 ms of sound: the unit the room hears and speaks in (one datagram each way). */
const FRAME_MS = 10;
const FRAME_SAMPLES = (SAMPLE_RATE * FRAME_MS) / 1000;
/** Ten minutes of levels kept (a call test needs one). */
const KEEP_BINS = 60_000;

/** The microphone's RTP payload type (dynamic; L16 mono at 48 kHz is not a static one). */
export const ROOM_MIC_PT = 97;
/** RTP's fixed header (RFC 3550 §5.1): no CSRCs, no extension. */
const RTP_HEADER = 12;

export interface RoomOptions {
  /** How long the loudspeaker's sound takes back into the microphone (the issue: 30–80 ms). */
  echoDelayMs?: number;
  /** How much of it comes back (0.3: −10.5 dB, a hands-free set on a desk). */
  echoGain?: number;
}

export interface RoomReport {
  /** What the terminal's loudspeaker played (by when it played it). */
  speaker: LevelTrack;
  /** The loudspeaker's sound as it came back into the microphone (by when the microphone took it). */
  echo: LevelTrack;
  /** The clinic's own talker at the microphone. */
  talker: LevelTrack;
  echoDelayMs: number;
  echoGain: number;
}

/** A level track being recorded, 10 ms a bin. */
class Levels {
  startMs: number | null = null;
  readonly rms: number[] = [];

  add(atMs: number, rms: number): void {
    if (this.startMs === null) this.startMs = Math.floor(atMs / FRAME_MS) * FRAME_MS;
    const bin = Math.floor((atMs - this.startMs) / FRAME_MS);
    while (this.rms.length <= bin) this.rms.push(0);
    if (bin >= 0) this.rms[bin] = rms;
    if (this.rms.length > KEEP_BINS) {
      const drop = this.rms.length - KEEP_BINS;
      this.rms.splice(0, drop);
      this.startMs += drop * FRAME_MS;
    }
  }

  track(fromMs: number): LevelTrack {
    const start = this.startMs ?? fromMs;
    const skip = Math.max(0, Math.floor((fromMs - start) / FRAME_MS));
    return { startMs: start + skip * FRAME_MS, stepMs: FRAME_MS, rms: this.rms.slice(skip) };
  }
}

const rmsOf = (pcm: Int16Array) => {
  let energy = 0;
  for (const s of pcm) energy += (s / 32_768) ** 2;
  return pcm.length === 0 ? 0 : Math.sqrt(energy / pcm.length);
};

/**
 * The clinic's consultation room, for calls: the terminal's loudspeaker plays into it and its
 * microphone hears it. The loudspeaker is a UDP port the terminal sends raw sound to (S16LE, 48 kHz,
 * mono, as it plays it); the microphone is a UDP port the room sends RTP to (L16), 10 ms a packet,
 * stamped on the wall clock. What the microphone hears is the clinic's talker (schedule.ts) plus
 * the loudspeaker's sound `echoDelayMs` later and `echoGain` as loud: the echo a hands-free
 * terminal must take out.
 * The room keeps the levels of each part, so the rig can tell what came back to the specialist.
 *
 * INVARIANTS: the loudspeaker's sound is laid on one continuous timeline (speaker-timeline.ts), so
 * jitter in delivery does not move the echo; the microphone's frames go out in wall-clock order,
 * each once, stamped (RTP) with when they were heard.
 */
export class RigRoom {
  private readonly chunks: { atMs: number; pcm: Int16Array }[] = [];
  private readonly levels = { speaker: new Levels(), echo: new Levels(), talker: new Levels() };
  private nextFrameMs = Math.ceil(Date.now() / FRAME_MS) * FRAME_MS;
  private timer: NodeJS.Timeout | null = null;
  private readonly timeline = new SpeakerTimeline();
  private sequence = 0;
  private readonly ssrc = randomInt(1, 2 ** 32 - 1);

  private constructor(
    private readonly speakerSocket: Socket,
    private readonly micSocket: Socket,
    readonly micPort: number,
    private readonly echoDelayMs: number,
    private readonly echoGain: number,
  ) {
    speakerSocket.on('message', (message) => this.heard(message));
    this.tick();
  }

  static async start(micPort: number, options: RoomOptions = {}): Promise<RigRoom> {
    const speaker = createSocket('udp4');
    const mic = createSocket('udp4');
    await new Promise<void>((r) => speaker.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => mic.bind(0, '127.0.0.1', () => r()));
    return new RigRoom(speaker, mic, micPort, options.echoDelayMs ?? 50, options.echoGain ?? 0.3);
  }

  /** Where the terminal's loudspeaker sends its sound. */
  get speakerPort(): number {
    return this.speakerSocket.address().port;
  }

  /** A free UDP port on loopback for the microphone (the terminal binds it). */
  static freeUdpPort(): Promise<number> {
    const socket = createSocket('udp4');
    return new Promise((resolve) =>
      socket.bind(0, '127.0.0.1', () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      }),
    );
  }

  report(fromMs = 0): RoomReport {
    return {
      speaker: this.levels.speaker.track(fromMs),
      echo: this.levels.echo.track(fromMs),
      talker: this.levels.talker.track(fromMs),
      echoDelayMs: this.echoDelayMs,
      echoGain: this.echoGain,
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all(
      [this.speakerSocket, this.micSocket].map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
  }

  private heard(message: Buffer): void {
    const pcm = new Int16Array(message.length >> 1);
    for (let i = 0; i < pcm.length; i++) pcm[i] = message.readInt16LE(i * 2);
    const now = Date.now();
    const atMs = this.timeline.place(now, (pcm.length * 1000) / SAMPLE_RATE);
    this.chunks.push({ atMs, pcm });
    this.levels.speaker.add(atMs, rmsOf(pcm));
    // What the microphone can still need: the last second.
    while (this.chunks.length > 0 && (this.chunks[0]?.atMs ?? 0) < now - 1000) this.chunks.shift();
  }

  /** The loudspeaker's sample that was playing at `atMs`, or silence. */
  private played(atMs: number): number {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const chunk = this.chunks[i];
      if (!chunk || chunk.atMs > atMs) continue;
      const index = Math.floor(((atMs - chunk.atMs) * SAMPLE_RATE) / 1000);
      return index < chunk.pcm.length ? (chunk.pcm[index] ?? 0) : 0;
    }
    return 0;
  }

  private tick(): void {
    const now = Date.now();
    while (this.nextFrameMs <= now) {
      this.speak(this.nextFrameMs);
      this.nextFrameMs += FRAME_MS;
    }
    this.timer = setTimeout(() => this.tick(), Math.max(1, this.nextFrameMs - Date.now()));
  }

  private speak(atMs: number): void {
    const talker = voicePcm('room', atMs, FRAME_SAMPLES);
    const echo = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++)
      echo[i] = Math.round(this.played(atMs - this.echoDelayMs + (i * 1000) / SAMPLE_RATE) * this.echoGain);
    const out = Buffer.alloc(RTP_HEADER + FRAME_SAMPLES * 2);
    out.writeUInt8(0x80, 0); // version 2
    out.writeUInt8(ROOM_MIC_PT, 1);
    out.writeUInt16BE(this.sequence++ & 0xffff, 2);
    // The sample clock: wall-clock time in samples, so the timestamp says when the frame was heard.
    out.writeUInt32BE(((atMs * SAMPLE_RATE) / 1000) % 2 ** 32, 4);
    out.writeUInt32BE(this.ssrc, 8);
    // L16 is network byte order (RFC 3551 §4.5.11).
    for (let i = 0; i < FRAME_SAMPLES; i++)
      out.writeInt16BE(
        Math.max(-32_768, Math.min(32_767, (talker[i] ?? 0) + (echo[i] ?? 0))),
        RTP_HEADER + i * 2,
      );
    this.micSocket.send(out, this.micPort, '127.0.0.1');
    this.levels.echo.add(atMs, rmsOf(echo));
    this.levels.talker.add(atMs, rmsOf(talker));
  }
}
