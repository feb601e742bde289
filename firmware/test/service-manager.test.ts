import test from 'ava';
import { serviceManagerFromEnv } from '../src/service-manager.ts';

function recorder() {
  const sent: string[][] = [];
  return { sent, notify: () => (messages: string[]) => sent.push(messages) };
}

test('without NOTIFY_SOCKET nothing is sent and no watchdog is armed', (t) => {
  const r = recorder();
  const m = serviceManagerFromEnv({}, 42, r.notify);
  m.ready('x');
  m.watchdog();
  t.is(m.watchdogIntervalMs, null);
  t.deepEqual(r.sent, []);
});

test('WATCHDOG_USEC arms the watchdog at half the timeout; messages are sd_notify keys', (t) => {
  const r = recorder();
  const m = serviceManagerFromEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '10000000' }, 42, r.notify);
  t.is(m.watchdogIntervalMs, 5000);
  m.ready('ready: 1 cart(s)');
  m.watchdog();
  m.stopping();
  t.deepEqual(r.sent, [['READY=1', 'STATUS=ready: 1 cart(s)'], ['WATCHDOG=1'], ['STOPPING=1']]);
});

test('a watchdog meant for another pid is not ours to feed', (t) => {
  const r = recorder();
  const m = serviceManagerFromEnv(
    { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' },
    42,
    r.notify,
  );
  t.is(m.watchdogIntervalMs, null);
});
