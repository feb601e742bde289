import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { until } from '../../device-drivers/test/helpers/until.ts';
import { PRIORITY } from '../src/store/types.ts';
import { PriorityRateLimiter } from '../src/uplink/rate-limiter.ts';
import { type StowOutcome, stowInstance } from '../src/uplink/stow-client.ts';
import { Uplink } from '../src/uplink/uplink.ts';
import { encodeAndQueue, tempStore } from './helpers/store.ts';
import { TWO_DATA_CENTRES } from './helpers/uplink.ts';

test('rate limiter: waiting chunks go by priority, not by arrival; lifting the cap lets every waiter go', async (t) => {
  // 160 kbit/s = 20 kB/s: one 16 KiB burst, then a chunk every ~0.8 s.
  const limiter = new PriorityRateLimiter(160);
  const order: string[] = [];
  const take = (name: string, priority: number) =>
    limiter.take(16_384, priority).then(() => order.push(name));
  const all = [
    take('video-1', PRIORITY.video),
    take('video-2', PRIORITY.video),
    take('video-3', PRIORITY.video),
  ];
  await until('the burst', () => order.length === 1);
  all.push(take('stat-ecg', PRIORITY.statEcg));
  await until('one more', () => order.length === 2);
  t.deepEqual(
    order,
    ['video-1', 'stat-ecg'],
    'the STAT ECG overtakes the video chunks that waited before it',
  );
  limiter.setKbps(null);
  await Promise.all(all);
  t.deepEqual(order, ['video-1', 'stat-ecg', 'video-2', 'video-3']);
  t.is(limiter.passed, 4 * 16_384);
  t.is(limiter.kbps, null);
});

test('a paced upload is sent in full with its Content-Length, every byte drawn from the pace', async (t) => {
  let received: { length: number; contentLength: string | undefined; chunked: boolean } | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received = {
        length: Buffer.concat(chunks).length,
        contentLength: req.headers['content-length'],
        chunked: req.headers['transfer-encoding'] === 'chunked',
      };
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end(
        JSON.stringify({ '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2.3'] } }] } }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const dicom = Buffer.alloc(100_000, 7);
  let paced = 0;
  const outcome = await stowInstance(
    { dicomWebUrl: `http://127.0.0.1:${port}/dicom-web`, timeoutMs: 5000 },
    dicom,
    '1.2.3',
    undefined,
    async (bytes) => {
      paced += bytes;
    },
  );
  t.is(outcome.kind, 'stored');
  t.truthy(received);
  const r = received as unknown as { length: number; contentLength: string; chunked: boolean };
  t.is(r.length, Number(r.contentLength));
  t.false(r.chunked);
  t.is(paced, r.length, 'every byte of the body went through the pace');
  t.true(r.length > dicom.length);
});

test('uploads in flight: one at first, more while they succeed, one again after a failure; an ECG always finds a lane', async (t) => {
  const { store } = tempStore();
  const pending: Array<{ sop: string; done: (o: StowOutcome) => void }> = [];
  let peak = 0;
  const uplink = new Uplink({
    store,
    ...TWO_DATA_CENTRES,
    failoverAfter: 5,
    retryInitialMs: 10,
    retryMaxMs: 20,
    probeIntervalMs: 60_000,
    maxInFlight: 3,
    bandwidth: { uploadKbps: 8000, duringLiveKbps: 1500 },
    probe: async () => null,
    stow: (_target, _dicom, sop) =>
      new Promise((done) => {
        pending.push({ sop, done });
        peak = Math.max(peak, pending.length);
      }),
  });
  const queue = async (kind: 'video' | 'ecg', n: number, priority: number) => {
    for (let i = 0; i < n; i++) {
      const { id } = await store.receive({
        kind,
        source: 'test',
        bytes: Buffer.from(`${kind}-${i}-${Math.random()}`),
        originalName: null,
        priority,
        incomplete: null,
      });
      await encodeAndQueue(store, id);
    }
    uplink.kick();
  };
  const finish = (outcome: StowOutcome) => pending.shift()!.done(outcome);
  const stored: StowOutcome = { kind: 'stored', httpStatus: 200, alreadyStored: false };
  queue('video', 8, PRIORITY.video);
  uplink.start();
  t.teardown(() => uplink.stop());
  await until('the first upload', () => pending.length === 1);
  await new Promise((r) => setTimeout(r, 50));
  t.is(pending.length, 1, 'one upload in flight at first');
  finish(stored);
  finish(await nextPending());
  await until('two in flight after two successes', () => pending.length === 2);
  t.is(uplink.flow().allowedInFlight, 2);
  finish(stored);
  finish(await nextPending());
  await until('three in flight', () => pending.length === 3);
  t.is(uplink.flow().allowedInFlight, 3);
  // Every slot holds video: a STAT ECG still starts at once, in the lane kept for ECGs.
  queue('ecg', 1, PRIORITY.statEcg);
  await until('the ECG in flight', () => pending.length === 4);
  t.is(peak, 4);
  // The link says no (a cut upload): back to one in flight.
  pending.splice(0, 1)[0]!.done({ kind: 'retry', reason: 'the connection was cut mid-request' });
  await new Promise((r) => setTimeout(r, 30));
  t.is(uplink.flow().allowedInFlight, 1);
  t.true(uplink.flow().resentBytes > 0);
  // A live consultation lowers the cap; its end restores it.
  t.is(uplink.flow().capKbps, 8000);
  uplink.setLive(true);
  t.deepEqual([uplink.flow().capKbps, uplink.flow().live], [1500, true]);
  uplink.setLive(false);
  t.is(uplink.flow().capKbps, 8000);
  while (pending.length > 0) finish(stored);
  await until('all delivered', () => {
    while (pending.length > 0) finish(stored);
    return store.countByState().delivered === 9;
  });

  /** The outcome for the next upload the uplink starts (it starts them one tick after a finish). */
  async function nextPending(): Promise<StowOutcome> {
    await until('the next upload', () => pending.length > 0);
    return stored;
  }
});
