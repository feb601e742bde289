import test from 'ava';
import pino from 'pino';
import { type Service, ServiceGroup } from '../src/service.ts';

const log = pino({ level: 'silent' });

function part(
  name: string,
  calls: string[],
  fail: { start?: boolean; stop?: boolean } = {},
): Service<string> {
  return {
    name,
    start: async () => {
      if (fail.start) throw new Error(`${name} cannot start`);
      calls.push(`start ${name}`);
    },
    stop: async () => {
      calls.push(`stop ${name}`);
      if (fail.stop) throw new Error(`${name} cannot stop`);
    },
    snapshot: () => name,
  };
}

test('started first to last, stopped last to first, each once; a failing stop does not keep the rest running', async (t) => {
  const calls: string[] = [];
  const group = new ServiceGroup(log);
  for (const [name, fail] of [
    ['store', {}],
    ['uplink', { stop: true }],
    ['api', {}],
  ] as const)
    group.add(part(name, calls, fail));
  await group.startAll();
  await group.startAll();
  await group.stopAll();
  await group.stopAll();
  t.deepEqual(calls, ['start store', 'start uplink', 'start api', 'stop api', 'stop uplink', 'stop store']);
});

test('after a failed start only what started is stopped; two services of one name are refused', async (t) => {
  const calls: string[] = [];
  const group = new ServiceGroup(log);
  group.add(part('store', calls));
  group.add(part('api', calls, { start: true }));
  group.add(part('media', calls));
  await t.throwsAsync(() => group.startAll(), { message: 'api cannot start' });
  await group.stopAll();
  t.deepEqual(calls, ['start store', 'stop store']);
  t.throws(() => group.add(part('store', calls)), { message: 'two services named store' });
});
