import { type LevelTrack, median, onsetDelays, pipTimes, windowsDb } from './analysis.ts';
import type { RoomReport } from './room.ts';
import { SCHEDULE } from './schedule.ts';

export interface SoundFigures {
  /** Pip sent → heard: at the terminal's loudspeaker, and at the specialist. */
  audioDelayMs: { toTerminal: number | null; toSpecialist: number | null };
  /**
   * Picture delay minus sound delay at each end (ITU-R BT.1359's sign: positive is sound ahead of
   * the picture); the goal is within +45 / −125 ms.
   */
  lipSyncMs: { atTerminal: number | null; atSpecialist: number | null };
  /** The specialist's voice as it came into the terminal's microphone, less what came back to them. */
  erleDb: number | null;
  /** The clinic's voice at the specialist while both talk, against while it talks alone (goal: within 6 dB). */
  doubleTalkDb: number | null;
  /** Each side's voice, talking alone, as the other end played it (dBFS). */
  voiceDb: { atTerminal: number | null; atSpecialist: number | null };
}

/** Below this a window is silence (16-bit PCM's own floor is about −96 dBFS). */
const SILENT_DBFS = -80;

const round = (v: number | null, digits = 0) =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;
const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);

/**
 * A call's sound figures over [fromMs, toMs), from what the room recorded (the loudspeaker, the
 * echo it put into the microphone) and what the specialist heard from the terminal (`heard`), with
 * the picture's delay each way from the time marks.
 */
export function soundFigures(
  room: RoomReport,
  heard: LevelTrack | null,
  video: { toTerminal: number | null; toSpecialist: number | null },
  fromMs: number,
  toMs: number,
): SoundFigures {
  // A pip sent less than a second before the end may not have arrived: not counted.
  const toTerminal = median(onsetDelays(room.speaker, pipTimes('specialistPip', fromMs, toMs - 1000)));
  const toSpecialist = heard ? median(onsetDelays(heard, pipTimes('roomPip', fromMs, toMs - 1000))) : null;
  const voiceAtTerminal =
    toTerminal === null ? null : windowsDb(room.speaker, SCHEDULE.specialistAlone, toTerminal, fromMs, toMs);
  const voiceAtSpecialist =
    heard && toSpecialist !== null ? windowsDb(heard, SCHEDULE.roomAlone, toSpecialist, fromMs, toMs) : null;
  let erleDb: number | null = null;
  let doubleTalkDb: number | null = null;
  if (heard && toTerminal !== null && toSpecialist !== null) {
    // The specialist talking alone: into the microphone after the loudspeaker's delay and the
    // room's, back at the specialist after the way up as well.
    const intoMic = toTerminal + room.echoDelayMs;
    const echoIn = windowsDb(room.echo, SCHEDULE.specialistAlone, intoMic, fromMs, toMs);
    const echoBack = windowsDb(heard, SCHEDULE.specialistAlone, intoMic + toSpecialist, fromMs, toMs);
    // No echo went in (the loudspeaker was silent then): nothing to take out, nothing to say.
    erleDb = echoIn !== null && echoIn > SILENT_DBFS ? minus(echoIn, echoBack) : null;
    const both = windowsDb(heard, SCHEDULE.doubleTalk, toSpecialist, fromMs, toMs);
    doubleTalkDb = minus(both, voiceAtSpecialist);
  }
  return {
    audioDelayMs: { toTerminal: round(toTerminal), toSpecialist: round(toSpecialist) },
    lipSyncMs: {
      atTerminal: round(minus(video.toTerminal, toTerminal)),
      atSpecialist: round(minus(video.toSpecialist, toSpecialist)),
    },
    erleDb: round(erleDb, 1),
    doubleTalkDb: round(doubleTalkDb, 1),
    voiceDb: { atTerminal: round(voiceAtTerminal, 1), atSpecialist: round(voiceAtSpecialist, 1) },
  };
}
