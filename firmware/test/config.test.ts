import test from 'ava';
import { ConfigError, parseConfig } from '../src/config/schema.ts';

const valid = {
  device: { id: 'T-0001', province: 'henan', county: 'lankao', uidRoot: '1.2.826.0.1.3680043.10.1391.7' },
  dataDir: '/data/telemed',
  carts: [{ id: 'cart-1', identity: { serialNumber: 'A1', vendorId: '0483' } }],
  dataCentres: {
    home: 'A',
    A: { name: 'DC-A', dicomWebUrl: 'https://a.example/dicom-web' },
    B: { name: 'DC-B', dicomWebUrl: 'https://b.example/dicom-web' },
  },
  mqtt: { brokers: ['mqtts://a.example:8883', 'mqtts://b.example:8883'] },
  api: { token: 'x'.repeat(32) },
};

test('a valid configuration gets its defaults', (t) => {
  const config = parseConfig(valid);
  t.is(config.carts[0]!.baudRate, 115200);
  t.is(config.carts[0]!.protocol, 'ymodem');
  t.is(config.api.host, '127.0.0.1');
  t.is(config.dataCentres.requestTimeoutMs, 30_000);
  t.is(config.storage.minFreeBytes, 500 * 1024 * 1024);
  t.is(config.storage.warnFreeBytes, 1024 * 1024 * 1024);
  t.is(config.storage.retentionDays, 30);
});

test('a storage-low level below the reserve is refused, naming both fields', (t) => {
  const error = t.throws(
    () => parseConfig({ ...valid, storage: { minFreeBytes: 5000, warnFreeBytes: 1000 } }),
    {
      instanceOf: ConfigError,
    },
  );
  t.regex(error!.message, /\/storage\/warnFreeBytes: must be at least \/storage\/minFreeBytes \(5000\)/);
});

test('every problem is reported at once, each with its field', (t) => {
  const bad = structuredClone(valid) as Record<string, unknown> & typeof valid;
  bad.device.uidRoot = '1.2.03';
  (bad.dataCentres as Record<string, unknown>)['home'] = 'C';
  bad.api.token = 'short';
  (bad as Record<string, unknown>)['surprise'] = true;
  const error = t.throws(() => parseConfig(bad), { instanceOf: ConfigError });
  const text = error!.problems.join('\n');
  t.regex(text, /\/device\/uidRoot/);
  t.regex(text, /\/dataCentres\/home/);
  t.regex(text, /\/api\/token/);
  t.regex(text, /surprise/);
  t.true(error!.problems.length >= 4);
});

test("a value matching none of a union's shapes is reported against the closest one, naming the field", (t) => {
  const error = t.throws(
    () =>
      parseConfig({
        ...valid,
        media: { microphone: { kind: 'elements', elements: [{ id: 'Mic', factory: 'udpsrc' }] } },
      }),
    { instanceOf: ConfigError },
  );
  const text = error!.problems.join('\n');
  t.regex(text, /\/media\/microphone\/elements\/0\/id/, text);
  t.notRegex(text, /Expected union value/);
  // GStreamer's own spelling of factory names is accepted.
  t.notThrows(() =>
    parseConfig({
      ...valid,
      media: { microphone: { kind: 'elements', elements: [{ id: 'depay', factory: 'rtpL16depay' }] } },
    }),
  );
});
