import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFirmware } from '../firmware/build.ts';
import { RigUnderTest } from './end-to-end.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median } from './stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KILLS = 60;

export interface KillTestBenchResult {
  rows: Row[];
  notes: string[];
}

/** Milliseconds from spawning `args` to `ready` appearing on its stdout (or its exit), each run. */
async function startTimes(args: string[], ready: string | null, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((done) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (ready !== null && out.includes(ready)) {
          times.push(performance.now() - t0);
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => {
        if (ready === null) times.push(performance.now() - t0);
        done();
      });
    });
    await new Promise((r) => setTimeout(r, 200));
  }
  return times;
}

/**
 * The kill test's throughput (issue 5: "kills per minute the rig sustains"): `telemed-rig
 * kill-test` for 60 kills (a third power cuts) on the rig's disk image, and where its time goes.
 * Start-up is most of it, so the firmware's own start to READY is measured beside it, against a
 * bare `node` that starts and exits (the floor no firmware can go below) in the same run.
 */
export async function benchKillTest(dir: string): Promise<KillTestBenchResult> {
  mkdirSync(dir, { recursive: true });
  const firmware = await buildFirmware();
  const rig = await RigUnderTest.start(dir, firmware, [
    '--carts',
    '2',
    '--segment-s',
    '1',
    '--disk-mb',
    '128',
  ]);
  const stateFile = join(dir, 'state.json');
  let summary: {
    killsPerMinute: number;
    durationS: number;
    acknowledged: number;
    delivered: number;
    powerCuts: number;
    ok: boolean;
    secondsIn: Record<string, number>;
  };
  let startup: number[];
  try {
    const out = await new Promise<string>((done, fail) =>
      execFile(
        process.execPath,
        [
          join(ROOT, 'hw-test-rig/bin/telemed-rig.js'),
          'kill-test',
          '--state-file',
          stateFile,
          '--kills',
          String(KILLS),
          '--seed',
          '1',
          '--power-cuts',
          '0.3',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => (stdout ? done(stdout) : fail(error ?? new Error(stderr))),
      ),
    );
    summary = JSON.parse(out) as typeof summary;
    // Start to READY against the rig's own configuration, with the firmware held down.
    // The pid in the state file is the current one (the kill test restarted it 60 times).
    await rig.control({ command: 'firmware-hold' });
    const { firmwarePid } = JSON.parse(readFileSync(stateFile, 'utf8')) as { firmwarePid: number | null };
    if (firmwarePid) process.kill(firmwarePid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    startup = await startTimes(
      [firmware, 'daemon', '--config', rig.state.configFile],
      'telemed daemon running',
      9,
    );
  } finally {
    await rig.stop();
  }
  const bare = await startTimes(['-e', '0'], null, 9);
  const kpm = summary.killsPerMinute;
  const bareKpm = 60_000 / median(bare);
  const rows: Row[] = [
    {
      what: `kill test: kills per minute (${KILLS} kills, ${summary.powerCuts} of them power cuts; baseline: a bare node started and gone)`,
      median: fmt(kpm, 1),
      ratio: fmt(kpm / bareKpm, 3),
    },
    {
      what: 'firmware start to READY on the rig, ms (baseline: `node -e 0` start to exit)',
      median: fmt(median(startup), 0),
      ratio: fmt(median(startup) / median(bare), 1),
    },
    { what: 'baseline: `node -e 0` start to exit, ms', median: fmt(median(bare), 0), ratio: '1' },
  ];
  const phases = Object.entries(summary.secondsIn)
    .map(([phase, s]) => `${phase} ${fmt(s, 1)} s`)
    .join(', ');
  return {
    rows,
    notes: [
      `One run of ${KILLS} kills took ${summary.durationS} s: ${phases}. Captures acknowledged ${summary.acknowledged}, delivered ${summary.delivered}; ${summary.ok ? 'nothing lost, duplicated or damaged' : 'PROBLEMS (see the kill test)'}.`,
      'The kill rate is bounded by start-up: each kill but those during start-up waits for READY again.',
    ],
  };
}
