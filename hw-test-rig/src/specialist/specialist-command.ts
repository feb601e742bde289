import { roomParticipants } from '../services/janus.ts';
import type { RigState } from '../state-file.ts';
import { Specialist } from './specialist.ts';

/**
 * `telemed-rig specialist`: the province's specialist joins the consultation room of data centre
 * `dc` (the home one by default), stays `seconds` (or until Ctrl-C), and prints one JSON object:
 * the server and room, who else was in it, and what the specialist's browser decoded of each feed.
 */
export async function specialistCommand(
  state: RigState,
  o: { seconds: number | null; dc: 'A' | 'B'; display: string },
): Promise<void> {
  if (!state.call) throw new Error('this rig runs no media servers (start it with `telemed-rig up`)');
  const server = state.call.janus[o.dc];
  const specialist = await Specialist.join({ ws: server.ws, room: state.call.room, display: o.display });
  console.error(`the specialist is in room ${state.call.room} on data centre ${o.dc}`);
  try {
    await new Promise<void>((resolve) => {
      const timer = o.seconds === null ? null : setTimeout(resolve, o.seconds * 1000);
      const stop = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    const feeds = await specialist.stats();
    const participants = await roomParticipants(server.http, state.call.room);
    console.log(
      JSON.stringify({
        server: o.dc,
        room: state.call.room,
        participants: participants.map((p) => ({ display: p.display, publisher: p.publisher })),
        feeds: Object.values(feeds),
        pageErrors: specialist.pageErrors,
      }),
    );
  } finally {
    await specialist.leave();
  }
}
