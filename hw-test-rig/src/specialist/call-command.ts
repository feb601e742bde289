import type { CallItem, StatusResponse } from '../../../firmware/src/api/types.ts';
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
  /** One-way delay of a time mark burnt into the picture; null until the rig burns one in. */
  latencyMs: number | null;
}

export interface CallReport {
  server: 'A' | 'B' | null;
  toSpecialist: Direction;
  toTerminal: Direction;
  lipSyncMs: { atTerminal: number | null; atSpecialist: number | null };
  echo: { erleDb: number | null; erleDbWithoutAec: number | null };
  faults: string[];
}

const toDb = (linear: number) => (linear > 0 ? Math.round(20 * Math.log10(linear) * 10) / 10 : -200);

function specialistSide(feed: FeedStats | undefined): Direction {
  return {
    fps: feed?.video?.fps ?? null,
    width: feed?.video?.width || null,
    height: feed?.video?.height || null,
    framesDecoded: feed?.video?.framesDecoded ?? 0,
    audioSeconds: Math.round((feed?.audio?.seconds ?? 0) * 10) / 10,
    audioLevelDb: feed?.audio ? toDb(feed.audio.level) : null,
    latencyMs: null,
  };
}

function terminalSide(call: CallItem | null): Direction {
  const r = call?.received ?? null;
  return {
    fps: r?.fps ?? null,
    width: r?.width ?? null,
    height: r?.height ?? null,
    framesDecoded: r?.framesRendered ?? 0,
    audioSeconds: Math.round((r?.audioSeconds ?? 0) * 10) / 10,
    audioLevelDb: r?.audioLevelDb ?? null,
    latencyMs: null,
  };
}

/**
 * `telemed-rig call`: the terminal calls through its local API (as the kiosk's button does), the
 * specialist joins the room the terminal is in, both run for `seconds`, the terminal hangs up, and
 * one JSON object says what each end decoded of the other.
 */
export async function callCommand(state: RigState, o: { seconds: number }): Promise<CallReport> {
  if (!state.call) throw new Error('this rig runs no media servers (start it with `telemed-rig up`)');
  const api = new URL(state.kioskUrl).origin;
  const headers = { authorization: `Bearer ${state.apiToken}`, 'content-type': 'application/json' };
  const status = async () =>
    (await (await fetch(`${api}/api/v1/status`, { headers })).json()) as StatusResponse;
  const deviceId = (await status()).device.id;
  const started = await fetch(`${api}/api/v1/call`, { method: 'POST', headers, body: '{}' });
  const call = (await started.json()) as CallItem & { error?: string };
  if (!started.ok) throw new Error(`the terminal could not call: ${call.error ?? started.status}`);
  const server = call.server ?? 'A';
  let specialist: Specialist | null = null;
  try {
    specialist = await Specialist.join({ ws: state.call.janus[server].ws, room: state.call.room });
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const feeds = Object.values(await specialist.stats());
    const atTerminal = (await status()).call;
    return {
      server: atTerminal?.server ?? server,
      toSpecialist: specialistSide(feeds.find((f) => f.display === deviceId)),
      toTerminal: terminalSide(atTerminal),
      lipSyncMs: { atTerminal: null, atSpecialist: null },
      echo: { erleDb: null, erleDbWithoutAec: null },
      faults: [],
    };
  } finally {
    await fetch(`${api}/api/v1/call`, { method: 'DELETE', headers }).catch(() => {});
    await specialist?.leave().catch(() => {});
  }
}
