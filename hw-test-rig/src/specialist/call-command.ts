import type { CallItem, StatusResponse } from '../../../firmware/src/api/types.ts';
import { median } from '../call-measure/analysis.ts';
import { soundFigures } from '../call-measure/call-figures.ts';
import { sampleFarEndDelays } from '../call-measure/far-end.ts';
import type { RoomReport } from '../call-measure/room.ts';
import { CYCLE_MS } from '../call-measure/schedule.ts';
import { sendControl } from '../control.ts';
import type { RigState } from '../state-file.ts';
import { type FeedStats, Specialist } from './specialist.ts';

/** One direction of a call as its receiving end decoded it (the `telemed-rig call` contract). */
export interface Direction {
  fps: number | null;
  width: number | null;
  height: number | null;
  framesDecoded: number;
  audioSeconds: number;
  audioLevelDb: number | null;
  /** One-way delay, camera to screen: the median of the time marks burnt into the picture and read back. */
  latencyMs: number | null;
  /** One-way delay of sound: a pip said on the schedule, to where it was heard (median). */
  audioLatencyMs: number | null;
}

export interface CallReport {
  server: 'A' | 'B' | null;
  toSpecialist: Direction;
  toTerminal: Direction;
  lipSyncMs: { atTerminal: number | null; atSpecialist: number | null };
  /**
   * The specialist's voice into the terminal's microphone (the room's echo), less what of it came
   * back to the specialist: with the terminal's echo control, and in a second call without it.
   * doubleTalkDb: the clinic's voice at the specialist while both talk, against alone.
   */
  echo: { erleDb: number | null; erleDbWithoutAec: number | null; doubleTalkDb: number | null };
  faults: string[];
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms));

const toDb = (linear: number) => (linear > 0 ? Math.round(20 * Math.log10(linear) * 10) / 10 : -200);

function specialistSide(feed: FeedStats | undefined): Direction {
  return {
    fps: feed?.video?.fps ?? null,
    width: feed?.video?.width || null,
    height: feed?.video?.height || null,
    framesDecoded: feed?.video?.framesDecoded ?? 0,
    audioSeconds: Math.round((feed?.audio?.seconds ?? 0) * 10) / 10,
    audioLevelDb: feed?.audio ? toDb(feed.audio.level) : null,
    latencyMs: round(feed?.video?.latencyMs ?? null),
    audioLatencyMs: null,
  };
}

function terminalSide(call: CallItem | null, delays: number[]): Direction {
  const r = call?.received ?? null;
  return {
    fps: r?.fps ?? null,
    width: r?.width ?? null,
    height: r?.height ?? null,
    framesDecoded: r?.framesRendered ?? 0,
    audioSeconds: Math.round((r?.audioSeconds ?? 0) * 10) / 10,
    audioLevelDb: r?.audioLevelDb ?? null,
    latencyMs: round(median(delays)),
    audioLatencyMs: null,
  };
}

/** How long a call must run for the sound figures: one whole cycle of the talk schedule, and a pip's way. */
const SOUND_CYCLE_S = CYCLE_MS / 1000 + 1;

/**
 * `telemed-rig call`: the terminal calls through its local API (as the kiosk's button does), the
 * specialist joins the room the terminal is in, both run for `seconds`, the terminal hangs up, and
 * one JSON object says what each end decoded of the other: picture and sound, the delay each way
 * from the time marks, lip sync, and the echo that came back to the specialist. For the echo
 * without the terminal's echo control, a second, shorter call is made with it off (as for a
 * headset) and measured the same way.
 */
export async function callCommand(state: RigState, o: { seconds: number }): Promise<CallReport> {
  if (!state.call) throw new Error('this rig runs no media servers (start it with `telemed-rig up`)');
  const call = state.call;
  const api = new URL(state.kioskUrl).origin;
  const headers = { authorization: `Bearer ${state.apiToken}`, 'content-type': 'application/json' };
  const status = async () =>
    (await (await fetch(`${api}/api/v1/status`, { headers })).json()) as StatusResponse;
  const deviceId = (await status()).device.id;
  const room = (fromMs: number) =>
    sendControl(state.controlUrl, { command: 'room-report', fromMs }).then(
      (m) => JSON.parse(m) as RoomReport,
    );

  let specialist: Specialist | null = null;
  const hangUp = () => fetch(`${api}/api/v1/call`, { method: 'DELETE', headers }).catch(() => {});
  /** One call: placed, joined by the specialist (once), run for `seconds`, measured, ended. */
  const measuredCall = async (seconds: number, echoControl: boolean) => {
    const started = await fetch(`${api}/api/v1/call`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ echoControl }),
    });
    const placed = (await started.json()) as CallItem & { error?: string };
    if (!started.ok) throw new Error(`the terminal could not call: ${placed.error ?? started.status}`);
    const server = placed.server ?? 'A';
    specialist ??= await Specialist.join({ ws: call.janus[server].ws, room: call.room });
    // The specialist's picture as the terminal shows it, sampled while the call runs.
    const sampling = new AbortController();
    const delays = sampleFarEndDelays(api, headers, sampling.signal);
    const from = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const to = Date.now();
    sampling.abort();
    const feeds = await specialist.stats();
    const [id, feed] = Object.entries(feeds).findLast(([, f]) => f.display === deviceId) ?? [];
    const heard = id === undefined ? null : ((await specialist.levels())[id] ?? null);
    const atTerminal = (await status()).call;
    await hangUp();
    const toSpecialist = specialistSide(feed);
    const toTerminal = terminalSide(atTerminal, await delays);
    const sound = soundFigures(
      await room(from - CYCLE_MS),
      heard,
      { toTerminal: toTerminal.latencyMs, toSpecialist: toSpecialist.latencyMs },
      from,
      to,
    );
    toSpecialist.audioLatencyMs = sound.audioDelayMs.toSpecialist;
    toTerminal.audioLatencyMs = sound.audioDelayMs.toTerminal;
    // The voice's level while it talks (the sound follows a schedule: a reading at the end may fall
    // in a pause).
    toSpecialist.audioLevelDb = sound.voiceDb.atSpecialist ?? toSpecialist.audioLevelDb;
    toTerminal.audioLevelDb = sound.voiceDb.atTerminal ?? toTerminal.audioLevelDb;
    return { server: atTerminal?.server ?? server, toSpecialist, toTerminal, sound };
  };

  try {
    const main = await measuredCall(o.seconds, true);
    const withoutAec = o.seconds >= SOUND_CYCLE_S ? await measuredCall(SOUND_CYCLE_S + 1, false) : null;
    return {
      server: main.server,
      toSpecialist: main.toSpecialist,
      toTerminal: main.toTerminal,
      lipSyncMs: main.sound.lipSyncMs,
      echo: {
        erleDb: main.sound.erleDb,
        erleDbWithoutAec: withoutAec?.sound.erleDb ?? null,
        doubleTalkDb: main.sound.doubleTalkDb,
      },
      faults: [],
    };
  } finally {
    await hangUp();
    await (specialist as Specialist | null)?.leave().catch(() => {});
  }
}
