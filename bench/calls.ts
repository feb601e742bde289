import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFirmware } from '../firmware/build.ts';
import type { CallItem } from '../firmware/src/api/types.ts';
import { RigUnderTest } from './end-to-end.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median, table } from './stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One direction of `telemed-rig call`'s report (the contract's fields the bench reads). */
interface Direction {
  fps: number | null;
  width: number | null;
  height: number | null;
  framesDecoded: number;
  latencyMs: number | null;
  audioLatencyMs: number | null;
}
interface CallReport {
  toSpecialist: Direction;
  toTerminal: Direction;
  lipSyncMs: { atTerminal: number | null; atSpecialist: number | null };
  echo: { erleDb: number | null; erleDbWithoutAec: number | null; doubleTalkDb: number | null };
  link: CallItem['link'];
  faults: string[];
}

export interface CallsResult {
  latency: Row[];
  lipSync: Row[];
  echo: Row[];
  held: Row[];
  join: Row[];
  cpu: Row[];
  notes: string[];
}

/** `telemed-rig call` as a person runs it: its JSON object. */
function rigCall(stateFile: string, args: string[]): Promise<CallReport> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'hw-test-rig/bin/telemed-rig.js'), 'call', '--state-file', stateFile, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) =>
      code === 0
        ? done(JSON.parse(out) as CallReport)
        : fail(new Error(`telemed-rig call ${args.join(' ')}: ${err}`)),
    );
  });
}

/** CPU seconds of a process and all its descendants so far (utime + stime from /proc). */
function treeCpuSeconds(pid: number): number {
  const tick = 100;
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const parent = Number(fields[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone while listed
    }
  }
  let total = 0;
  const visit = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      return;
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return total;
}

const ms = (v: number | null) => (v === null ? 'n/a' : String(Math.round(v)));
const pictures = (d: Direction) =>
  `${d.width ?? '?'}×${d.height ?? '?'} at ${d.fps ?? '?'} frames/s at the end, ${d.framesDecoded} frames`;

/**
 * Two-way consultation calls on the rig (issue 15's benchmark list): the delay each way from time
 * marks in the pictures (loopback; the shaped 10 Mbit/s link), lip sync and echo from the talk
 * schedule's pips and voices, what each way holds at 1 Mbit/s and at 5 % loss, time to join,
 * time back in a call after the home data centre goes down, and the call's CPU share here.
 */
export async function benchCalls(dir: string, runs = 3): Promise<CallsResult> {
  const rig = await RigUnderTest.start(dir, await buildFirmware());
  const stateFile = join(dir, 'state.json');
  const api = new URL(rig.state.kioskUrl).origin;
  const headers = { authorization: `Bearer ${rig.state.apiToken}`, 'content-type': 'application/json' };
  const notes: string[] = [];
  try {
    const plain: CallReport[] = [];
    for (let i = 0; i < runs; i++) plain.push(await rigCall(stateFile, ['--seconds', '12']));
    const shaped10 = await rigCall(stateFile, ['--seconds', '12', '--rate', '10000']);
    const at1M = await rigCall(stateFile, ['--seconds', '16', '--rate', '1000']);
    const at5 = await rigCall(stateFile, ['--seconds', '16', '--loss', '5']);
    const medianOf = (pick: (r: CallReport) => number | null) => {
      const values = plain.map(pick).filter((v): v is number => v !== null);
      return values.length > 0 ? median(values) : null;
    };
    const latency: Row[] = [
      {
        what: 'terminal → specialist, picture (loopback)',
        median: ms(medianOf((r) => r.toSpecialist.latencyMs)),
        ratio: '',
      },
      {
        what: 'specialist → terminal, picture (loopback)',
        median: ms(medianOf((r) => r.toTerminal.latencyMs)),
        ratio: '',
      },
      {
        what: 'terminal → specialist, sound (loopback)',
        median: ms(medianOf((r) => r.toSpecialist.audioLatencyMs)),
        ratio: '',
      },
      {
        what: 'specialist → terminal, sound (loopback)',
        median: ms(medianOf((r) => r.toTerminal.audioLatencyMs)),
        ratio: '',
      },
      {
        what: 'terminal → specialist, picture (10 Mbit/s link)',
        median: ms(shaped10.toSpecialist.latencyMs),
        ratio: '',
      },
      {
        what: 'specialist → terminal, picture (10 Mbit/s link)',
        median: ms(shaped10.toTerminal.latencyMs),
        ratio: '',
      },
    ];
    const lipSync: Row[] = [
      {
        what: 'at the specialist (terminal’s picture and voice)',
        median: ms(medianOf((r) => r.lipSyncMs.atSpecialist)),
        ratio: '',
      },
      {
        what: 'at the terminal (specialist’s picture and voice)',
        median: ms(medianOf((r) => r.lipSyncMs.atTerminal)),
        ratio: '',
      },
    ];
    const echo: Row[] = [
      {
        what: 'with the terminal’s echo control (webrtcdsp)',
        median: fmt(medianOf((r) => r.echo.erleDb) ?? Number.NaN, 1),
        ratio: '',
      },
      {
        what: 'without it (baseline)',
        median: fmt(medianOf((r) => r.echo.erleDbWithoutAec) ?? Number.NaN, 1),
        ratio: '',
      },
      {
        what: 'the clinic’s voice during double talk, against alone (dB)',
        median: fmt(medianOf((r) => r.echo.doubleTalkDb) ?? Number.NaN, 1),
        ratio: '',
      },
    ];
    const held: Row[] = [
      { what: 'loopback, to the specialist', median: pictures(plain[0]!.toSpecialist), ratio: '' },
      { what: 'loopback, to the terminal', median: pictures(plain[0]!.toTerminal), ratio: '' },
      { what: '1 Mbit/s, to the specialist', median: pictures(at1M.toSpecialist), ratio: '' },
      { what: '1 Mbit/s, to the terminal', median: pictures(at1M.toTerminal), ratio: '' },
      { what: '5 % loss, to the specialist', median: pictures(at5.toSpecialist), ratio: '' },
      { what: '5 % loss, to the terminal', median: pictures(at5.toTerminal), ratio: '' },
    ];
    notes.push(
      `1 Mbit/s: the terminal's link at the end ${JSON.stringify(at1M.link)}`,
      `5 % loss: the terminal's link at the end ${JSON.stringify(at5.link)}`,
    );

    // Time to join: the kiosk's button (POST) until the terminal is in the room, media flowing.
    const joins: number[] = [];
    const idle: number[] = [];
    const inCall: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const placed = await fetch(`${api}/api/v1/call`, { method: 'POST', headers, body: '{}' });
      if (!placed.ok) throw new Error(`call: HTTP ${placed.status} ${await placed.text()}`);
      joins.push(performance.now() - t0);
      // CPU of the firmware and its media worker over 10 s of the call (no specialist: sending
      // only), against 10 s of the camera alone just after.
      const c0 = treeCpuSeconds(rig.pid);
      await new Promise((r) => setTimeout(r, 10_000));
      inCall.push((100 * (treeCpuSeconds(rig.pid) - c0)) / 10);
      await fetch(`${api}/api/v1/call`, { method: 'DELETE', headers });
      const c1 = treeCpuSeconds(rig.pid);
      await new Promise((r) => setTimeout(r, 10_000));
      idle.push((100 * (treeCpuSeconds(rig.pid) - c1)) / 10);
    }
    const moved = await rigCall(stateFile, ['--seconds', '16', '--dc-down', 'A']);
    const back = /after (\d+) ms/.exec(moved.faults.join(' '));
    const join: Row[] = [
      {
        what: 'the call button to "in the call" (POST /api/v1/call answered)',
        median: fmt(median(joins), 0),
        ratio: '',
      },
      {
        what: 'data centre A down mid-call → in the call on B and receiving the specialist',
        median: back ? back[1]! : 'n/a',
        ratio: '',
      },
    ];
    const cpu: Row[] = [
      { what: 'the camera and encoder alone (baseline)', median: fmt(median(idle), 0), ratio: '1.00' },
      {
        what: 'in a call (also the call’s pipelines, Opus, webrtcbin, echo control)',
        median: fmt(median(inCall), 0),
        ratio: fmt(median(inCall) / Math.max(1, median(idle))),
      },
    ];
    return { latency, lipSync, echo, held, join, cpu, notes };
  } finally {
    await rig.stop();
  }
}

/** Two-way calls (issue 15): `telemed-rig call` against the rig's Janus rooms and specialist. */
export function callsSection(calls: CallsResult): string[] {
  return [
    '## Two-way consultation calls (issue 15)',
    '',
    "`telemed-rig call` on the rig: the terminal's call through its local API, the specialist in",
    "headless Chromium, both in the rig's Janus room; x264 and avdec_h264 on this machine. Each",
    'figure is read from the media: time marks burnt into both pictures, pips and voices on a',
    'wall-clock talk schedule (docs/design/calls.md). Delay rows are medians of the runs; the',
    "goals are the issue's (ITU-T G.114, ITU-R BT.1359).",
    '',
    '### One-way delay, camera to screen (goal under 150 ms)',
    '',
    table('(ms)', calls.latency),
    '',
    '### Lip sync: picture delay − sound delay (BT.1359 sign: + is sound ahead; goal +45 / −125 ms)',
    '',
    table('(ms)', calls.lipSync),
    '',
    "### Echo return loss enhancement: the specialist's voice into the terminal's microphone, less what came back (goal ≥ 25 dB)",
    '',
    table('(dB)', calls.echo),
    '',
    '### Pictures held each way',
    '',
    table('', calls.held),
    '',
    '### Joining, and coming back after a media server is lost',
    '',
    table('(ms)', calls.join),
    '',
    '### CPU share of the firmware and its media worker (100 = one core)',
    '',
    table('(% of a core)', calls.cpu),
    '',
    ...calls.notes.map((n) => `- ${n}`),
    "- On the board the call's H.264 decode moves to the VPU (`v4l2h264dec`, `mppvideodec`, …,",
    '  hardware first as for the encoder) and the encode is the one hardware encode the camera',
    '  already runs; what stays on the CPU is Opus, webrtcdsp, SRTP and RTP.',
    '',
  ];
}
