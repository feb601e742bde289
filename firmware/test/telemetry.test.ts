import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import pino from 'pino';
import { Backoff } from '#device-drivers';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { until } from '../../device-drivers/test/helpers/until.ts';
import { MqttTelemetry } from '../src/telemetry/mqtt-telemetry.ts';
import { EventPayload, type HealthPayload, StatePayload } from '../src/telemetry/payloads.ts';

const log = pino({ level: process.env['TELEMED_TEST_LOG'] ?? 'silent' });
const brokerTest = testWhen(
  existsSync('/usr/sbin/mosquitto'),
  'mosquitto is not installed (bash .ci/setup)',
  true,
);
const DEVICE = { province: 'henan', county: 'lankao', id: 'T-0001' };
const TOPIC = 'telemed/v1/henan/lankao/T-0001';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A real mosquitto on a loopback port, stopped with the test. */
async function broker(t: ExecutionContext, port: number): Promise<ChildProcess> {
  const conf = join(mkdtempSync(join(tmpdir(), 'mosquitto-')), 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill();
  });
  return child;
}

/** Everything published under the terminal's topics, as the NOC's subscriber sees it. */
async function noc(t: ExecutionContext, port: number) {
  const client = await until(
    'the NOC subscriber connected',
    () =>
      new Promise<mqtt.MqttClient | null>((resolve) => {
        const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
          protocolVersion: 5,
          reconnectPeriod: 0,
          connectTimeout: 2000,
        });
        let settled = false;
        const failed = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          c.end(true);
          resolve(null);
        };
        // Each attempt is bounded: an attempt that heard nothing at all once held the test until
        // ava's timeout in CI (two tests "remaining"), past `until`'s own deadline.
        const timer = setTimeout(failed, 3000);
        c.once('connect', () => {
          settled = true;
          clearTimeout(timer);
          resolve(c);
        });
        c.once('error', failed);
        // A broker not listening yet may only close the socket, with no error: try again then too
        // (a loaded CI machine starts mosquitto slowly; this hung the test once).
        c.once('close', failed);
      }),
    10_000,
  );
  t.teardown(() => {
    client.end(true);
  });
  const seen: Array<{ topic: string; payload: Record<string, unknown>; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) =>
    seen.push({ topic, payload: JSON.parse(payload.toString()), retain: packet.retain }),
  );
  await client.subscribeAsync(`${TOPIC}/#`);
  return seen;
}

/** Telemetry started against the broker on `port`, once it is online. */
async function onlineTelemetry(port: number): Promise<MqttTelemetry> {
  const telemetry = new MqttTelemetry({
    device: DEVICE,
    brokers: [`mqtt://127.0.0.1:${port}`],
    firmwareVersion: 'test',
    log,
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
  });
  telemetry.start();
  await until('telemetry online', () => telemetry.state === 'online', 10_000);
  return telemetry;
}

const health = (at: string) =>
  ({ v: 1, at, historical: false, deviceId: 'T-0001' }) as unknown as HealthPayload;

brokerTest(
  'offline: buffered, bounded, the oldest dropped; online: state retained, the buffer replayed as historical',
  async (t) => {
    const port = await freePort();
    const telemetry = new MqttTelemetry({
      device: DEVICE,
      brokers: [`mqtt://127.0.0.1:${port}`],
      firmwareVersion: 'test',
      log,
      bufferLimit: 3,
      backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
    });
    t.teardown(() => telemetry.stop());
    telemetry.start();
    for (const at of ['t1', 't2', 't3', 't4', 't5']) telemetry.publishHealth(health(at));
    t.like(telemetry.snapshot().counters, { buffered: 5, dropped: 2, published: 0 });
    t.not(telemetry.state, 'online');

    await broker(t, port);
    const seen = await noc(t, port);
    await until('telemetry online', () => telemetry.state === 'online', 10_000);
    await until(
      'three reports replayed',
      () => seen.filter((m) => m.topic === `${TOPIC}/health`).length === 3,
      5000,
    );
    const replayed = seen.filter((m) => m.topic === `${TOPIC}/health`).map((m) => m.payload);
    t.deepEqual(
      replayed.map((p) => [p['at'], p['historical']]),
      [
        ['t3', true],
        ['t4', true],
        ['t5', true],
      ],
      'the newest three, oldest first, marked historical',
    );
    const state = seen.find((m) => m.topic === `${TOPIC}/state`);
    t.true(Value.Check(StatePayload, state?.payload), JSON.stringify(state?.payload));
    t.is(state?.payload['state'], 'online');

    telemetry.publishEvent({ severity: 'alarm', code: 'disk-full', message: 'storage is full' });
    const event = await until('the live event', () => seen.find((m) => m.topic === `${TOPIC}/event`));
    t.true(Value.Check(EventPayload, event.payload));
    t.like(event.payload, { historical: false, code: 'disk-full' });
  },
);

brokerTest('a clean stop says offline, retained: a subscriber arriving later still learns it', async (t) => {
  const port = await freePort();
  await broker(t, port);
  const telemetry = await onlineTelemetry(port);
  await telemetry.stop();
  const later = await noc(t, port);
  const state = await until(
    'the retained state',
    () => later.find((m) => m.topic === `${TOPIC}/state`),
    5000,
  );
  t.true(state.retain);
  t.is(state.payload['state'], 'offline');
});

brokerTest(
  'a stop while the broker hangs still returns: the unacknowledged "offline" is not waited for',
  async (t) => {
    const port = await freePort();
    const mosquitto = await broker(t, port);
    const telemetry = await onlineTelemetry(port);
    // Frozen, the broker keeps the connection open and acknowledges nothing.
    mosquitto.kill('SIGSTOP');
    t.teardown(() => {
      mosquitto.kill('SIGCONT');
    });
    const stopped = await Promise.race([
      telemetry.stop().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000)),
    ]);
    t.true(stopped, 'stop() returned');
    t.is(telemetry.state, 'stopped');
  },
);
