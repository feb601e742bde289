import test from 'ava';
import { EventLoopMonitor } from '../src/event-loop.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // holds the event loop, as a synchronous decode of a large file would
  }
}

test('a loop held for 120 ms shows in the window it happened in, and counts against the budget', async (t) => {
  const monitor = new EventLoopMonitor({ windowMs: 3_600_000, budgetP99Ms: 50, resolutionMs: 10 });
  monitor.start();
  t.teardown(() => monitor.stop());
  t.deepEqual(monitor.snapshot().windowsOverBudget, 0);
  await sleep(100);
  block(120);
  await sleep(100);
  monitor.roll();
  const held = monitor.snapshot();
  t.true(held.maxMs >= 110, `max ${held.maxMs} ms`);
  t.true(held.p99Ms >= 110, `p99 ${held.p99Ms} ms`);
  t.is(held.windowsOverBudget, 1);
  t.true(held.windowS >= 0.3, `window ${held.windowS} s`);
  await sleep(200);
  monitor.roll();
  const quiet = monitor.snapshot();
  t.true(quiet.maxMs < 110, 'the next window starts afresh');
  t.is(quiet.budgetP99Ms, 50);
});

test('before any window closes the figures are those of the window so far; stopped, it reports zeros', async (t) => {
  const monitor = new EventLoopMonitor({ windowMs: 3_600_000 });
  t.deepEqual(monitor.snapshot(), {
    windowS: 0,
    p50Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    budgetP99Ms: 50,
    windowsOverBudget: 0,
  });
  monitor.start();
  await sleep(60);
  block(80);
  await sleep(30);
  t.true(monitor.snapshot().maxMs >= 70);
  monitor.stop();
});
