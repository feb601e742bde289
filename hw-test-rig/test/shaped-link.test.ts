import { execFile, execFileSync } from 'node:child_process';
import test from 'ava';
import fc from 'fast-check';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { LinkShapeError, parseLinkShape } from '../src/services/link-shape.ts';
import { NFT } from '../src/services/shaped-link.ts';
import { readState } from '../src/state-file.ts';
import { until } from './helpers/harness.ts';
import { RIG_BIN, rigUp } from './helpers/rig-up.ts';

const isRoot = process.getuid?.() === 0;

test('link flags: tc-style rate, delay and loss parse; anything else is refused naming every bad flag', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.constantFrom('kbit', 'mbit'),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 500 }),
      (n, unit, delay, lossTenths) => {
        if (unit === 'kbit' && n < 8) return;
        const shape = parseLinkShape({
          rate: `${n}${unit}`,
          delay: `${delay}ms`,
          loss: `${lossTenths / 10}%`,
        });
        t.is(shape.rateKbit, unit === 'mbit' ? n * 1000 : n);
        t.is(shape.delayMs, delay);
        t.is(shape.lossPercent, lossTenths / 10);
      },
    ),
  );
  t.deepEqual(parseLinkShape({}), { rateKbit: null, delayMs: 0, lossPercent: 0 });
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), (rate, delay, loss) => {
      try {
        parseLinkShape({ rate, delay, loss });
      } catch (error) {
        t.true(error instanceof LinkShapeError);
        t.regex((error as Error).message, /^--(rate|delay|loss) /);
      }
    }),
  );
  const error = t.throws(() => parseLinkShape({ rate: '10 megabits', delay: '20', loss: '70%' }));
  t.regex(error.message, /--rate 10 megabits: .*; --delay 20: .*; --loss 70%: /);
});

const linkTest = testWhen(isRoot, 'a network namespace, tc and nftables need root', true);

linkTest(
  'telemed-rig link: the data centres behind a shaped county link (netns, tbf, nftables loss, delay); records and video arrive across it; off again',
  async (t) => {
    t.timeout(4 * 60_000);
    const { stateFile, state: s0 } = await rigUp(t, 'shaped-link', []);
    const cmd = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((done) =>
        execFile(
          process.execPath,
          [RIG_BIN, args[0]!, '--state-file', stateFile, ...args.slice(1)],
          (e, o, er) => done({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: o + er }),
        ),
      );
    const count = async () =>
      ((await (await fetch(`${s0.orthanc.A}/instances`)).json()) as string[]).length +
      ((await (await fetch(`${s0.orthanc.B}/instances`)).json()) as string[]).length;
    const shaped = await cmd('link', '--rate', '10mbit', '--delay', '20ms', '--loss', '0.5%');
    t.is(shaped.code, 0, shaped.out);
    t.regex(shaped.out, /10 Mbit\/s, 20 ms each way \(40 ms round trip\), 0.5 % loss each way/);
    const link = readState(stateFile).link!;
    t.like(link, { rateKbit: 10_000, delayMs: 20, lossPercent: 0.5 });
    const sentOnVeth = () => {
      const stats = execFileSync('tc', ['-s', 'qdisc', 'show', 'dev', link.hostInterface], {
        encoding: 'utf8',
      });
      t.regex(stats, /tbf .*rate 10Mbit/);
      return Number(/Sent (\d+) bytes/.exec(stats)?.[1] ?? 0);
    };
    const rules = execFileSync('ip', ['netns', 'exec', link.namespace, NFT, 'list', 'ruleset'], {
      encoding: 'utf8',
    });
    t.regex(rules, /numgen random mod 10000 < 50 drop/);
    const before = sentOnVeth();

    t.is((await cmd('ecg-send')).code, 0);
    await until('the ECG across the link', async () => (await count()) === 1, 60_000);
    t.is((await cmd('record', '--seconds', '6')).code, 0);
    await until('the recording across the link', async () => (await count()) >= 3, 90_000);
    t.true(sentOnVeth() - before > 100_000, 'the uploads crossed the shaped interface');

    // A narrower, lossier link: still everything arrives, just later.
    t.is((await cmd('link', '--rate', '2mbit', '--delay', '50ms', '--loss', '3%')).code, 0);
    const n = await count();
    t.is((await cmd('ecg-send')).code, 0);
    await until('an ECG across the lossy link', async () => (await count()) === n + 1, 60_000);

    const off = await cmd('link', 'off');
    t.regex(off.out, /direct \(not shaped\)/);
    t.is(readState(stateFile).link, null);
    t.is((await cmd('ecg-send')).code, 0);
    await until('an ECG direct again', async () => (await count()) === n + 2, 60_000);
    t.is((await cmd('link', '--rate', 'fast')).code, 64);
  },
);
