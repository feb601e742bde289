import test from 'ava';
import { NodeSerialOpener } from '../src/serial/node-serial-link.ts';
import { type PortInfo, SerialError, selectPort } from '../src/serial/serial-link.ts';
import { ptyPair } from './helpers/pty-pair.ts';

const opener = new NodeSerialOpener();

// A listing as `serialport` reports it on a terminal board with two USB-serial adapters.
const listing: PortInfo[] = [
  { path: '/dev/ttyACM1', serialNumber: 'CART-A1', vendorId: '0483', productId: '5740' },
  { path: '/dev/ttyUSB0', serialNumber: 'FT12345', vendorId: '0403', productId: '6001' },
  { path: '/dev/ttyUSB1', serialNumber: 'FT99999', vendorId: '0403', productId: '6001' },
  { path: '/dev/ttyS0' },
];

test('selectPort: the serial number finds the cart wherever it was renumbered to', (t) => {
  t.is((selectPort(listing, { serialNumber: 'CART-A1' }) as PortInfo).path, '/dev/ttyACM1');
  const renumbered = listing.map((p) => (p.serialNumber === 'CART-A1' ? { ...p, path: '/dev/ttyACM0' } : p));
  t.is(
    (selectPort(renumbered, { serialNumber: 'CART-A1', vendorId: '0x0483' }) as PortInfo).path,
    '/dev/ttyACM0',
  );
});

test('selectPort: VID:PID alone must be unambiguous; absence is a clear error', (t) => {
  t.is((selectPort(listing, { vendorId: '0483', productId: '5740' }) as PortInfo).path, '/dev/ttyACM1');
  const ambiguous = selectPort(listing, { vendorId: '0403', productId: '6001' });
  t.true(ambiguous instanceof SerialError);
  t.regex((ambiguous as SerialError).message, /2 devices match .*configure the serial number/);
  const missing = selectPort(listing, { serialNumber: 'NOPE' });
  t.regex((missing as SerialError).message, /no USB serial device with serial NOPE is plugged in/);
  t.is((selectPort(listing, { path: '/dev/ttyS0' }) as PortInfo).path, '/dev/ttyS0');
});

test('serial link contract over a real pty: bytes both ways, exclusive lock, close, unplug', async (t) => {
  const pair = await ptyPair();
  const near = await opener.open(pair.a, { baudRate: 115200 });
  const far = await opener.open(pair.b, { baudRate: 115200 });
  const got: number[] = [];
  near.onData((chunk) => got.push(...chunk));
  await far.write(Uint8Array.from([1, 2, 3, 250]));
  for (let i = 0; i < 100 && got.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(got, [1, 2, 3, 250]);

  const second = await t.throwsAsync(opener.open(pair.a, { baudRate: 115200 }), { instanceOf: SerialError });
  t.is(second!.code, 'LOCKED');

  await far.close();
  await far.close();
  t.is(await far.closed, null);

  await pair.unplug();
  const gone = await near.closed;
  t.true(gone instanceof SerialError && gone.disconnected, String(gone));
  await t.throwsAsync(near.write(Uint8Array.of(1)), { instanceOf: SerialError });
  await near.close();
});

test('serial link contract: a write still pending when the link closes rejects instead of hanging', async (t) => {
  const pair = await ptyPair();
  const near = await opener.open(pair.a, { baudRate: 115200 });
  // Closed in the same tick: the moment a cart driver's ACK was in flight when the driver stopped.
  const pending = near.write(Uint8Array.of(0x06)).then(
    () => 'written',
    (error: unknown) => error,
  );
  await near.close();
  const outcome = await Promise.race([
    pending,
    new Promise((r) => setTimeout(() => r('still pending'), 2000)),
  ]);
  t.true(outcome instanceof SerialError && outcome.disconnected, String(outcome));
  await pair.unplug();
});
