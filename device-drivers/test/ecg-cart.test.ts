import { spawn } from 'node:child_process';
import test from 'ava';
import { type CartLinkState, type CartRecord, EcgCart } from '../src/ecg-cart/ecg-cart.ts';
import { trimXmodemPadding } from '../src/ecg-cart/record-bytes.ts';
import { NodeSerialOpener } from '../src/serial/node-serial-link.ts';
import type { SerialLink, SerialOpener } from '../src/serial/serial-link.ts';
import { Backoff } from '../src/util/backoff.ts';
import { ByteQueue } from '../src/ymodem/byte-queue.ts';
import { type SendMode, sendFiles } from '../src/ymodem/sender.ts';
import { ptyPair } from './helpers/pty-pair.ts';
import { encodeScp, smallRecord } from './helpers/scp-fixtures.ts';
import { until } from './helpers/until.ts';

const FAST = {
  blockTimeoutMs: 400,
  byteTimeoutMs: 200,
  crcRequestIntervalMs: 100,
  maxRetries: 5,
  quietMs: 20,
};
const opener = new NodeSerialOpener();

async function cartSend(path: string, bytes: Uint8Array, mode: SendMode = 'ymodem'): Promise<void> {
  const link: SerialLink = await opener.open(path, { baudRate: 115200 });
  const controller = new AbortController();
  const queue = new ByteQueue(controller.signal);
  link.onData((c) => queue.push(c));
  try {
    await sendFiles({ queue, write: (b) => link.write(b) }, [{ name: 'ECG.SCP', bytes }], {
      mode,
      timing: FAST,
      startTimeoutMs: 5000,
    });
  } finally {
    controller.abort(new Error('done'));
    await link.close();
  }
}

/** A cart driver on the test side of a pty pair, with the test's fast timing. */
function cartOn(
  path: string,
  options: Omit<
    ConstructorParameters<typeof EcgCart>[0],
    'id' | 'identity' | 'baudRate' | 'protocol' | 'opener' | 'timing'
  > & { opener?: SerialOpener },
) {
  return new EcgCart({
    id: 'cart-1',
    identity: { path },
    baudRate: 115200,
    protocol: 'ymodem',
    opener,
    timing: FAST,
    ...options,
  });
}

test('trimXmodemPadding cuts SUB padding after the SCP record length, and nothing else', (t) => {
  const record = encodeScp(smallRecord());
  const padded = Uint8Array.from([...record, ...new Array(128 - (record.length % 128)).fill(0x1a)]);
  t.is(trimXmodemPadding(padded).length, record.length);
  const notPadding = Uint8Array.from(padded);
  notPadding[padded.length - 1] = 0x00;
  t.is(trimXmodemPadding(notPadding).length, padded.length);
});

test('a cart on a real pty: records arrive, the cable is pulled and replugged, records arrive again', async (t) => {
  const pair = await ptyPair();
  const records: CartRecord[] = [];
  const states: CartLinkState[] = [];
  const cart = cartOn(pair.a, {
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
    deliver: async (record) => {
      records.push(record);
    },
    onState: (state) => states.push(state),
  });
  cart.start();
  await until('the cart connected', () => cart.state === 'connected');
  const first = encodeScp(smallRecord());
  await cartSend(pair.b, first);
  t.is(records.length, 1);
  t.deepEqual(Buffer.from(records[0]!.bytes), Buffer.from(first));

  await pair.unplug();
  await until('one disconnect counted', () => cart.counters.disconnects === 1);
  t.is(cart.state, 'searching');
  t.truthy(cart.lastProblem);

  await pair.plug();
  await until('the cart connected', () => cart.state === 'connected');
  const second = encodeScp(smallRecord({ patient: { id: 'P-002' } }));
  await cartSend(pair.b, second, 'xmodem-1k');
  t.is(records.length, 2);
  t.deepEqual(
    Buffer.from(records[1]!.bytes),
    Buffer.from(second),
    'XMODEM padding trimmed by the SCP length',
  );
  t.is(records[1]!.protocol, 'xmodem');
  t.is(cart.counters.connects, 2);
  t.true(states.includes('receiving'));
  await cart.stop();
  t.is(cart.state, 'stopped');
  await pair.unplug();
});

test('a stop while the port is still opening ends the driver (it hung: serve waited for an abort already past)', async (t) => {
  const pair = await ptyPair();
  t.teardown(() => pair.unplug());
  let release!: () => void;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  const closed: string[] = [];
  // A port that takes its time to open (a USB-serial adapter enumerating): the stop arrives first.
  const slowOpener = {
    list: () => opener.list(),
    open: async (path: string, options: { baudRate: number }) => {
      await opened;
      const link = await opener.open(path, options);
      const watched: SerialLink = {
        path: link.path,
        onData: (listener) => link.onData(listener),
        write: (bytes) => link.write(bytes),
        closed: link.closed,
        close: async () => {
          closed.push(path);
          await link.close();
        },
      };
      return watched;
    },
  };
  const cart = cartOn(pair.a, {
    opener: slowOpener,
    deliver: async () => {},
  });
  cart.start();
  await until('the cart opening', () => cart.state === 'opening');
  const stopped = cart.stop();
  release();
  await stopped;
  t.is(cart.state, 'stopped');
  t.deepEqual(closed, [pair.a], 'the port opened after the stop is closed again');
});

test('a replugged cart is found at once when the device manager kicks it, not after its back-off', async (t) => {
  const pair = await ptyPair();
  t.teardown(() => pair.unplug());
  const cart = cartOn(pair.a, {
    // A long back-off: without the kick the cart would look again only after 30 s.
    backoff: new Backoff({ initialMs: 30_000, maxMs: 30_000, floorMs: 30_000 }),
    deliver: async () => {},
  });
  t.teardown(() => cart.stop());
  cart.start();
  await until('the cart connected', () => cart.state === 'connected');
  await pair.unplug();
  await until('the cart searching', () => cart.state === 'searching');
  await new Promise((r) => setTimeout(r, 200)); // it is now waiting out its back-off
  await pair.plug();
  const kickedAt = Date.now();
  cart.kick();
  await until('the cart connected', () => cart.state === 'connected');
  t.true(Date.now() - kickedAt < 5000);
});

test('a port held by another program: the cart says who holds it, and takes the port once it is free', async (t) => {
  const pair = await ptyPair();
  t.teardown(() => pair.unplug());
  // flock(1) holds an exclusive lock on the port, as a serial tool left running would.
  const holder = spawn('flock', ['-x', '-o', pair.a, 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => holder.kill());
  await new Promise((r) => setTimeout(r, 300));
  const states: Array<string | null> = [];
  const cart = cartOn(pair.a, {
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
    deliver: async () => {},
    onState: (_, detail) => states.push(detail),
  });
  t.teardown(() => cart.stop());
  cart.start();
  // (socat, which makes the pty pair, has it open too and is named beside flock.)
  await until('a state naming the lock holder', () =>
    states.some((d) => d !== null && /held by .*flock \(PID \d+\)/.test(d)),
  );
  holder.kill();
  await until('the cart connected', () => cart.state === 'connected');
  t.pass();
});
