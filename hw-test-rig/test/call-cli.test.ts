import { execFile } from 'node:child_process';
import test from 'ava';
import type { CallReport } from '../src/specialist/call-command.ts';
import { RIG_BIN, rigUp } from './helpers/rig-up.ts';

test.serial(
  'telemed-rig call: the terminal calls, the specialist joins, and one JSON object says what each end decoded',
  async (t) => {
    t.timeout(4 * 60_000);
    const { stateFile, state } = await rigUp(t, 'call-cli', []);
    t.truthy(state.call?.janus.A.ws, 'the state file names the media servers');
    t.is(state.call?.room, 1234);
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (done) =>
        execFile(
          process.execPath,
          [RIG_BIN, 'call', '--state-file', stateFile, '--seconds', '12'],
          { timeout: 120_000 },
          (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr }),
        ),
    );
    t.is(code, 0, stderr);
    t.log(stdout.trim());
    const report = JSON.parse(stdout) as CallReport;
    t.is(report.server, 'A');
    for (const [side, d] of [
      ['toSpecialist', report.toSpecialist],
      ['toTerminal', report.toTerminal],
    ] as const) {
      t.true(d.framesDecoded > 60, `${side}: ${JSON.stringify(d)}`);
      t.true((d.fps ?? 0) >= 10, `${side}: ${JSON.stringify(d)}`);
      t.true((d.width ?? 0) > 0 && (d.height ?? 0) > 0, `${side}: ${JSON.stringify(d)}`);
      t.true(d.audioSeconds > 3, `${side}: ${JSON.stringify(d)}`);
      t.true((d.audioLevelDb ?? -200) > -90, `${side}: sound, not silence: ${JSON.stringify(d)}`);
      // Read from the time marks: positive (shown after it was taken) and well under a second here.
      t.true((d.latencyMs ?? 0) > 0 && (d.latencyMs ?? 0) < 1000, `${side}: delay ${d.latencyMs} ms`);
      // Read from the pips on the talk schedule.
      t.true(
        (d.audioLatencyMs ?? 0) > 0 && (d.audioLatencyMs ?? 0) < 1000,
        `${side}: sound ${d.audioLatencyMs} ms`,
      );
    }
    t.is(typeof report.lipSyncMs.atTerminal, 'number');
    t.is(typeof report.lipSyncMs.atSpecialist, 'number');
    // The echo was measured both ways (the goal of 25 dB is the benchmark's to record).
    t.is(typeof report.echo.erleDb, 'number');
    t.is(typeof report.echo.erleDbWithoutAec, 'number');
    t.true(Math.abs(report.echo.doubleTalkDb ?? 99) <= 6, `double talk: ${report.echo.doubleTalkDb} dB`);
    t.deepEqual(Object.keys(report).sort(), [
      'echo',
      'faults',
      'lipSyncMs',
      'server',
      'toSpecialist',
      'toTerminal',
    ]);
    t.deepEqual(report.faults, []);
  },
);
