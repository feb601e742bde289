import { execFile } from 'node:child_process';
import test, { type ExecutionContext } from 'ava';
import type { CallReport } from '../src/specialist/call-command.ts';
import { RIG_BIN, rigUp } from './helpers/rig-up.ts';

/** `telemed-rig call` as a person runs it; its one JSON object. */
async function rigCall(t: ExecutionContext, stateFile: string, args: string[]): Promise<CallReport> {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (done) =>
      execFile(
        process.execPath,
        [RIG_BIN, 'call', '--state-file', stateFile, ...args],
        { timeout: 180_000 },
        (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr }),
      ),
  );
  t.is(code, 0, stderr);
  t.log(stdout.trim());
  return JSON.parse(stdout) as CallReport;
}

test.serial(
  'telemed-rig call: the terminal calls, the specialist joins, and one JSON object says what each end decoded',
  async (t) => {
    t.timeout(4 * 60_000);
    const { stateFile, state } = await rigUp(t, 'call-cli', []);
    t.truthy(state.call?.janus.A.ws, 'the state file names the media servers');
    t.is(state.call?.room, 1234);
    const report = await rigCall(t, stateFile, ['--seconds', '12']);
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
      'link',
      'lipSyncMs',
      'server',
      'toSpecialist',
      'toTerminal',
    ]);
    t.deepEqual(report.faults, []);
  },
);

test.serial(
  'telemed-rig call --loss 5 --rate 400: the call adapts to a link too slow for its picture and frames keep coming; --dc-down A: it moves to B by itself',
  async (t) => {
    t.timeout(6 * 60_000);
    const { stateFile } = await rigUp(t, 'call-cli-faults', []);
    // 400 kbit/s each way is less than the picture takes (about 550 kbit/s of the rig camera at a
    // 1000 kbit/s target): the link loses what does not fit, on top of 5 % at random.
    const weak = await rigCall(t, stateFile, ['--seconds', '16', '--loss', '5', '--rate', '400']);
    t.regex(weak.faults.join(' '), /0.4 Mbit\/s, .*5 % loss/, 'the shape is reported');
    const link = weak.link;
    t.truthy(link, 'the terminal reports its link');
    // The loss each way is that of the last receiver report (one interval): at times one way's is
    // 0 when it ends; the link as a whole shows it, or the rate already stepped down for it.
    t.true(
      (link?.sendLossPercent ?? 0) > 0 ||
        (link?.receiveLossPercent ?? 0) > 0 ||
        (link?.counters.stepsDown ?? 0) > 0,
      `the terminal sees the loss on its link: ${JSON.stringify(link)}`,
    );
    // Whether the rate steps down here varies from run to run (4 steps, or none when the far
    // end's reports and the resent count stay under 10 %: issue 15's note); the rule itself is
    // proven in firmware/test/call-quality.test.ts. Logged for the record.
    t.log(`rate steps down: ${link?.counters.stepsDown}, target ${link?.targetKbps} kbit/s`);
    // The call survives: sound throughout, and pictures still arrive each way — though on this
    // link they stall much of the time (46–200 frames in 16 s here; issue 15's note).
    for (const [side, d] of [
      ['toSpecialist', weak.toSpecialist],
      ['toTerminal', weak.toTerminal],
    ] as const) {
      t.true(d.framesDecoded > 20, `${side} keeps coming: ${JSON.stringify(d)}`);
      t.true(d.audioSeconds > 10, `${side} sound: ${JSON.stringify(d)}`);
    }

    const moved = await rigCall(t, stateFile, ['--seconds', '16', '--dc-down', 'A']);
    t.is(moved.server, 'B', 'the call ended on the other data centre');
    const back = /on B again, receiving the specialist, after (\d+) ms/.exec(moved.faults.join(' '));
    t.truthy(back, moved.faults.join('; '));
    t.log(`data centre A down → in the call on B, receiving, after ${back?.[1]} ms`);
    t.true(moved.toTerminal.framesDecoded > 60 && moved.toSpecialist.framesDecoded > 60);
  },
);
