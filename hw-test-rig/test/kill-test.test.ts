import { execFile } from 'node:child_process';
import test from 'ava';
import { buildFirmware } from '../../firmware/build.ts';
import type { KillTestSummary } from '../src/kill-test/kill-test.ts';
import { RIG_BIN, rigUp } from './helpers/rig-up.ts';

/** CI runs the 200; a soak is the same command with more (hw-test-rig/README.md: the kill test). */
const KILLS = Number(process.env['TELEMED_KILL_TEST_KILLS'] ?? 200);
const SEED = Number(process.env['TELEMED_KILL_TEST_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

test.serial(
  `kill test: ${KILLS} SIGKILLs of the firmware (a third of them power cuts) while carts, camera and scanner capture; nothing acknowledged is lost or duplicated`,
  async (t) => {
    t.timeout(20 * 60_000);
    // The shipped bundle starts in about a second; through tsx it takes twice that. The data
    // partition is an ext4 image on a loop device, so that kills can be power cuts.
    const firmware = await buildFirmware();
    const { stateFile } = await rigUp(t, 'kill-test', [
      '--firmware',
      firmware,
      '--carts',
      '2',
      '--segment-s',
      '1',
      '--disk-mb',
      '128',
    ]);
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [
          RIG_BIN,
          'kill-test',
          '--state-file',
          stateFile,
          '--kills',
          String(KILLS),
          '--seed',
          String(SEED),
          '--power-cuts',
          '0.3',
        ],
        { timeout: 18 * 60_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) =>
          done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    t.log(run.stderr.trim().split('\n').slice(-3).join('\n'));
    let summary: KillTestSummary;
    try {
      summary = JSON.parse(run.stdout) as KillTestSummary;
    } catch {
      throw new Error(`kill-test printed no summary (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
    const { violations, ...figures } = summary;
    t.log(JSON.stringify(figures));
    t.deepEqual(violations, [], `seed ${SEED}: replay with --seed ${SEED}`);
    t.is(run.code, 0);
    t.true(summary.ok);
    t.is(summary.kills, KILLS);
    t.is(summary.missing, 0);
    t.is(summary.duplicates, 0);
    t.is(summary.integrityFailures, 0);
    t.is(summary.lostAfterCrash, 0);
    t.is(summary.halfPresent, 0);
    t.is(summary.delivered, summary.acknowledged);
    // The run really exercised what it claims: every way of dying, every kind of capture.
    t.true(summary.killsBy['fault-point'] > 0, 'kills at store fault points');
    t.true(summary.killsBy['during-start'] > 0, 'kills during start-up recovery');
    t.true(summary.mediaWorkerKills > 0, 'media worker kills');
    t.true(summary.powerCuts > 0, 'power cuts (the power-cut model: unsynced writes lost)');
    for (const kind of ['ecg', 'still', 'video', 'document'] as const)
      t.true(summary.acknowledgedByKind[kind] > 0, `${kind} captures acknowledged`);
  },
);
