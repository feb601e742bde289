import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { JanusMediaServer, RIG_ROOM, roomParticipants } from '../src/services/janus.ts';
import { type FeedStats, Specialist } from '../src/specialist/specialist.ts';
import { until } from './helpers/harness.ts';
import { RIG_BIN } from './helpers/rig-up.ts';

/** Janus for one data centre, stopped with the test. */
async function mediaServer(t: import('ava').ExecutionContext, dc: 'A' | 'B'): Promise<JanusMediaServer> {
  const server = await JanusMediaServer.start(dc, mkdtempSync(join(tmpdir(), `janus-${dc}-`)));
  t.teardown(() => server.stop());
  return server;
}

async function joined(t: import('ava').ExecutionContext, ws: string, display: string): Promise<Specialist> {
  const s = await Specialist.join({ ws, room: RIG_ROOM, display });
  t.teardown(() => s.close().catch(() => {}));
  return s;
}

/** The feed of `display` as `who` decoded it, once it has frames and sound. */
const decodedFrom = (who: Specialist, display: string) =>
  until(
    `${display}'s picture and sound decoded`,
    async () =>
      Object.values(await who.stats()).find(
        (f): f is FeedStats =>
          f.display === display && (f.video?.framesDecoded ?? 0) > 30 && (f.audio?.seconds ?? 0) > 1,
      ),
    30_000,
  );

test.serial(
  'the province side: each data centre runs Janus; two browsers in the room see and hear each other; its HTTP API says who is there',
  async (t) => {
    const [a, b] = await Promise.all([mediaServer(t, 'A'), mediaServer(t, 'B')]);
    t.not(a.ws, b.ws);
    const specialist = await joined(t, a.ws, 'specialist');
    const other = await joined(t, a.ws, 'T-0001');
    const seen = await decodedFrom(specialist, 'T-0001');
    t.true(seen.video!.width > 0 && seen.video!.height > 0);
    await decodedFrom(other, 'specialist');
    const inRoom = await roomParticipants(a.http, RIG_ROOM);
    t.deepEqual(inRoom.map((p) => [p.display, p.publisher]).sort(), [
      ['T-0001', true],
      ['specialist', true],
    ]);
    t.deepEqual(await roomParticipants(b.http, RIG_ROOM), [], 'the other data centre holds its own room');
    await other.leave();
    await until(
      'T-0001 gone from the room',
      async () => (await roomParticipants(a.http, RIG_ROOM)).length === 1,
      10_000,
    );
    await until(
      'the specialist saw it leave',
      async () => Object.keys((await specialist.state()).publishers).length === 0,
      10_000,
    );
    await t.throwsAsync(() => roomParticipants(a.http, 999), { message: /room 999|No such room/i });
    t.deepEqual([...specialist.pageErrors, ...other.pageErrors], []);
  },
);

test.serial(
  'telemed-rig specialist joins the room named in the state file and reports what it decoded',
  async (t) => {
    const a = await mediaServer(t, 'A');
    const b = await mediaServer(t, 'B');
    const dir = mkdtempSync(join(tmpdir(), 'specialist-cli-'));
    const stateFile = join(dir, 'state.json');
    writeFileSync(
      stateFile,
      JSON.stringify({
        call: {
          janus: {
            A: { ws: a.ws, http: a.http, running: true },
            B: { ws: b.ws, http: b.http, running: true },
          },
          room: RIG_ROOM,
        },
      }),
    );
    await joined(t, b.ws, 'T-0001');
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (done) =>
        execFile(
          process.execPath,
          [
            RIG_BIN,
            'specialist',
            '--state-file',
            stateFile,
            '--seconds',
            '6',
            '--dc',
            'B',
            '--display',
            '专家',
          ],
          { timeout: 60_000 },
          (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr }),
        ),
    );
    t.is(code, 0, stderr);
    const report = JSON.parse(stdout) as {
      server: string;
      room: number;
      participants: Array<{ display: string; publisher: boolean }>;
      feeds: FeedStats[];
    };
    t.is(report.server, 'B');
    t.is(report.room, RIG_ROOM);
    t.deepEqual(report.participants.map((p) => p.display).sort(), ['T-0001', '专家']);
    const feed = report.feeds.find((f) => f.display === 'T-0001');
    t.true((feed?.video?.framesDecoded ?? 0) > 30, JSON.stringify(feed));
    t.true((feed?.audio?.seconds ?? 0) > 2, JSON.stringify(feed));
    const noRig = join(dir, 'none.json');
    writeFileSync(noRig, JSON.stringify({ call: null }));
    const refused = await new Promise<string>((done) =>
      execFile(
        process.execPath,
        [RIG_BIN, 'specialist', '--state-file', noRig, '--seconds', '1'],
        (_e, o, e) => done(o + e),
      ),
    );
    t.regex(refused, /runs no media servers/);
  },
);
