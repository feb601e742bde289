import type { CallItem, StatusResponse } from '../../../firmware/src/api/types.ts';
import { median } from '../call-measure/analysis.ts';
import { soundFigures } from '../call-measure/call-figures.ts';
import { sampleFarEndDelays } from '../call-measure/far-end.ts';
import type { RoomReport } from '../call-measure/room.ts';
import { CYCLE_MS } from '../call-measure/schedule.ts';
import { type ControlCommand, sendControl } from '../control.ts';
import { describeLink, type LinkShape } from '../services/link-shape.ts';
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
  /** The terminal's own view of the link at the end of the call (bitrates, loss, round trip, the adapted rate). */
  link: CallItem['link'];
  /** The faults injected, and what became of the call. */
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

export interface CallOptions {
  seconds: number;
  /** The county link for the call: loss each way (%) and rate each way (kbit/s); null: as it is. */
  shape: LinkShape | null;
  /** This data centre goes down half way through the call (its media server with it). */
  dcDown: 'A' | 'B' | null;
}

/**
 * `telemed-rig call`: the terminal calls through its local API (as the kiosk's button does), the
 * specialist joins the room the terminal is in, both run for `seconds`, the terminal hangs up, and
 * one JSON object says what each end decoded of the other: picture and sound, the delay each way
 * from the time marks, lip sync, and the echo that came back to the specialist. For the echo
 * without the terminal's echo control, a second, shorter call is made with it off (as for a
 * headset) and measured the same way. With a shape, the whole of it runs over that link; with
 * `dcDown`, that data centre stops half way through, the specialist moves to the other data
 * centre's room, and `faults` says when the terminal was back in the call there.
 */
export async function callCommand(state: RigState, o: CallOptions): Promise<CallReport> {
  if (!state.call) throw new Error('this rig runs no media servers (start it with `telemed-rig up`)');
  const call = state.call;
  const api = new URL(state.kioskUrl).origin;
  const headers = { authorization: `Bearer ${state.apiToken}`, 'content-type': 'application/json' };
  const status = async () =>
    (await (await fetch(`${api}/api/v1/status`, { headers })).json()) as StatusResponse;
  const deviceId = (await status()).device.id;
  const control = (command: ControlCommand) => sendControl(state.controlUrl, command);
  const room = (fromMs: number) =>
    control({ command: 'room-report', fromMs }).then((m) => JSON.parse(m) as RoomReport);
  const faults: string[] = [];

  let specialist: Specialist | null = null;
  const hangUp = () => fetch(`${api}/api/v1/call`, { method: 'DELETE', headers }).catch(() => {});
  /** A data centre goes down mid-call: how long until the terminal is in the call on the other. */
  const dataCentreDown = async (dc: 'A' | 'B', at: number) => {
    const other = dc === 'A' ? 'B' : 'A';
    const downAt = Date.now();
    await control({ command: 'dc-down', dc });
    await specialist?.close();
    specialist = await Specialist.join({ ws: call.janus[other].ws, room: call.room });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const c = (await status()).call;
      if (c?.state === 'in-call' && c.server === other && c.received) {
        faults.push(
          `data centre ${dc} down ${at.toFixed(1)} s into the call: the terminal was in the call on ${other} again, receiving the specialist, after ${Date.now() - downAt} ms`,
        );
        return;
      }
      if (Date.now() > deadline) {
        faults.push(`data centre ${dc} down: the terminal was not back in a call on ${other} within 60 s`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** One call: placed, joined by the specialist (once), run for `seconds`, measured, ended. */
  const measuredCall = async (seconds: number, echoControl: boolean, dcDown: 'A' | 'B' | null) => {
    const started = await fetch(`${api}/api/v1/call`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ echoControl }),
    });
    const placed = (await started.json()) as CallItem & { error?: string };
    if (!started.ok) throw new Error(`the terminal could not call: ${placed.error ?? started.status}`);
    const server = placed.server ?? 'A';
    specialist ??= await Specialist.join({ ws: call.janus[server].ws, room: call.room });
    // Measured from when each side hears the other: before that there is no echo to take out nor
    // anything of it to hear back, and such a window says nothing of the canceller.
    const joined = specialist;
    const hearEachOther = async () => {
      const terminal = (await status()).call?.received?.audioSeconds ?? 0;
      const feeds = Object.values(await joined.stats()).filter((f) => f.display === deviceId);
      return terminal >= 0.5 && (feeds.at(-1)?.audio?.seconds ?? 0) >= 0.5;
    };
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(await hearEachOther())) await new Promise((r) => setTimeout(r, 100));
    // The specialist's picture as the terminal shows it, sampled while the call runs.
    const sampling = new AbortController();
    const delays = sampleFarEndDelays(api, headers, sampling.signal);
    let from = Date.now();
    if (dcDown) {
      await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
      await dataCentreDown(dcDown, (Date.now() - from) / 1000);
      // What is measured is the call as it goes on there.
      from = Date.now();
    }
    await new Promise((r) =>
      setTimeout(r, Math.max(1000, seconds * 1000 - (dcDown ? (seconds * 1000) / 2 : 0))),
    );
    const to = Date.now();
    sampling.abort();
    // The specialist now: with --dc-down, the one that joined the other data centre's room.
    const active = specialist as Specialist;
    const feeds = await active.stats();
    const [id, feed] = Object.entries(feeds).findLast(([, f]) => f.display === deviceId) ?? [];
    const heard = id === undefined ? null : ((await active.levels())[id] ?? null);
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
    return {
      server: atTerminal?.server ?? server,
      toSpecialist,
      toTerminal,
      sound,
      link: atTerminal?.link ?? null,
    };
  };

  try {
    if (o.shape) {
      await control({ command: 'link', shape: o.shape });
      faults.push(`the link shaped: ${describeLink(o.shape)}`);
    }
    const main = await measuredCall(o.seconds, true, o.dcDown);
    const withoutAec = o.seconds >= SOUND_CYCLE_S ? await measuredCall(SOUND_CYCLE_S + 1, false, null) : null;
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
      link: main.link,
      faults,
    };
  } finally {
    await hangUp();
    await (specialist as Specialist | null)?.leave().catch(() => {});
    if (o.shape) await control({ command: 'link', shape: null }).catch(() => {});
    if (o.dcDown) await control({ command: 'dc-up', dc: o.dcDown }).catch(() => {});
  }
}
