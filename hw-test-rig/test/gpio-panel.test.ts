import test from 'ava';
import pino from 'pino';
import { Daemon } from '../../firmware/src/daemon.ts';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { synthEcgRecord } from '../src/cart/synth-ecg.ts';
import { RIG_GPIO } from '../src/gpio/sim-gpio.ts';
import { localApi, until, world } from './helpers/harness.ts';

test.serial(
  'call button (bouncing, long press), tamper switch and status LED through the configured lines and polarity',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);
    const panel = async () => (await api.status()).panel;
    await until('panel ready', async () => (await panel()).lines.every((l) => l.state === 'ready'));
    t.is((await panel()).doorOpen, false);
    await until('LED steady on: ready', async () => (await panel()).led === 'ready' && w.rig.gpio.ledOn);

    // A tactile button bounces at both edges: one press, one call.
    await w.rig.gpio.press(150);
    await until('call noticed', async () =>
      (await api.status()).notices.some((n) => n.code === 'call-for-help'),
    );
    await new Promise((r) => setTimeout(r, 200));
    t.is((await panel()).counters.presses, 1, 'bounce is not counted as more presses');
    t.is((await api.status()).notices.filter((n) => n.code === 'call-for-help').length, 1);
    // Held past longPressMs: the call is cancelled, with no press counted on release.
    await w.rig.gpio.press(2300);
    await until('cancel noticed', async () =>
      (await api.status()).notices.some((n) => n.code === 'call-cancelled'),
    );
    t.like((await panel()).counters, { presses: 1, longPresses: 1 });

    w.rig.gpio.setDoorOpen(true);
    await until('tamper alarm', async () => (await api.status()).notices.some((n) => n.code === 'tamper'));
    t.is((await panel()).doorOpen, true);
    const health = w.daemon.health();
    t.is(health.devices.gpio.doorOpen, true);
    t.is(health.devices.gpio.counters['tamperOpened'], 1);
    w.rig.gpio.setDoorOpen(false);
    await until('door shut', async () => (await panel()).doorOpen === false);
  },
);

test.serial(
  'power fails: a scan in flight is finished or stopped, new captures refused, store flushed within the budget, kiosk and NOC told; power back, captures accepted',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);
    await until('panel ready', async () => (await api.status()).panel.power === 'normal');
    w.rig.scanner.setFault('slow');
    t.is((await api.post('/api/v1/scans', { pages: 1 })).status, 200);
    await until('scanning', async () => (await api.status()).scanner.job === 'scanning');

    w.rig.gpio.setPowerFailing(true);
    const flushed = await until('flushed', async () => {
      const p = (await api.status()).panel;
      return p.power === 'flushed' ? p : false;
    });
    // The slow scan is stopped (its backend killed after the 1 s cancel grace), well inside the 3 s budget.
    t.true(
      flushed.lastPowerFailFlushedMs !== null && flushed.lastPowerFailFlushedMs < 2000,
      `flushed after ${flushed.lastPowerFailFlushedMs} ms`,
    );
    const status = await api.status();
    t.is(status.scanner.job, 'idle', 'the scan was stopped');
    t.true(status.notices.some((n) => n.code === 'power-fail'));
    t.true(status.notices.some((n) => n.code === 'power-fail-flushed'));
    await until('LED shows power failure', async () => (await api.status()).panel.led === 'power-fail');

    // A capture now is refused with the reason; the cart keeps its record (it was told "failed").
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    await t.throwsAsync(cart.send([{ name: 'PF.SCP', bytes: synthEcgRecord({ seed: 3 }) }]));
    await until('refusal on the kiosk', async () =>
      (await api.status()).notices.some(
        (n) => n.code === 'capture-refused' && /mains power failed/.test(n.message),
      ),
    );
    t.is(w.daemon.store.inState('captured').length + w.daemon.store.inState('queued').length, 0);

    w.rig.gpio.setPowerFailing(false);
    await until('power back', async () => (await api.status()).panel.power === 'normal');
    await cart.send([{ name: 'PF.SCP', bytes: synthEcgRecord({ seed: 3 }) }]);
    await until('delivered after power returned', () => w.daemon.store.inState('delivered').length === 1);
  },
);

test.serial(
  'a GPIO line that cannot be had is reported; the other lines work and the daemon runs',
  async (t) => {
    const w = await world();
    t.teardown(() => w.rig.stop());
    await w.daemon.stop();
    w.rig.gpio.unavailable.add(RIG_GPIO.tamper.line);
    const daemon = new Daemon(w.config, { log: pino({ level: 'silent' }) });
    await daemon.start();
    try {
      const tamper = daemon.panel.lines.get('tamper');
      t.is(tamper?.state, 'failed');
      t.regex(
        tamper?.problem ?? '',
        /GPIO line 22 cannot be opened: line 22 is busy: claimed by another driver/,
      );
      t.is(daemon.panel.lines.get('callButton')?.state, 'ready');
      t.true(daemon.status().notices.some((n) => n.code === 'gpio-problem'));
      await until('LED shows the fault', () => daemon.status().panel.led === 'fault');
      await w.rig.gpio.press(100);
      await until('the button still works', () => daemon.panel.counters.presses === 1);
    } finally {
      await daemon.stop();
    }
  },
);
