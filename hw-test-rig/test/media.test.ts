import { Value } from '@sinclair/typebox/value';
import test from 'ava';
import { HealthPayload } from '../../firmware/src/telemetry/payloads.ts';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { synthEcgRecord } from '../src/cart/synth-ecg.ts';
import { until, world } from './helpers/harness.ts';

test.serial(
  'the daemon runs the media worker, picks a verified encoder, reports it; a crashed worker never stops ECG delivery',
  async (t) => {
    const w = await world({ media: true });
    t.teardown(() => w.stop());
    const media = w.daemon.media!;
    await until('encoder chosen', () => media.encoders.status().state === 'ready', 30_000);
    const health = w.daemon.health();
    t.true(
      Value.Check(HealthPayload, health),
      JSON.stringify([...Value.Errors(HealthPayload, health)].slice(0, 3)),
    );
    t.is(health.encoder, 'x264enc', 'no hardware encoder here: x264enc, the first software one');
    t.like(health.media, { worker: 'ready', encoder: { kind: 'software', fallbackReason: null } });
    t.regex(health.media!.gstVersion!, /^1\.22\./);
    t.like(w.daemon.status().video, { worker: 'ready', encoder: 'x264enc', encoderKind: 'software' });

    // The worker dies (as a segfaulting encoder would) while a cart sends an ECG.
    const first = media.worker.pid!;
    const sending = new CartSimulator(w.rig.cables[0]!.cartEnd).send([
      { name: 'K.SCP', bytes: synthEcgRecord({ seed: 77 }) },
    ]);
    process.kill(first, 'SIGSEGV');
    await sending;
    await until('ECG delivered meanwhile', () => w.daemon.store.inState('delivered').length === 1, 30_000);
    await until('worker back', () => media.worker.state === 'ready' && media.worker.pid !== first, 30_000);
    t.is(media.worker.counters.crashes, 1);
    t.is(w.daemon.health().media!.counters.crashes, 1);
  },
);
