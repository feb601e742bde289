import { readFileSync } from 'node:fs';
import test from 'ava';
import { isValidUid, makeUid } from '../src/dicom/uid.ts';
import { EventPayload, HealthPayload, StatePayload } from '../src/telemetry/payloads.ts';

test('UIDs made on the terminal are valid DICOM UIDs; an over-long root is refused', (t) => {
  const uid = makeUid('1.2.826.0.1.3680043.10.1391.7', 'instance', 42, 1795855958087);
  t.is(uid, '1.2.826.0.1.3680043.10.1391.7.3.42.1795855958087');
  t.true(isValidUid(uid));
  t.false(isValidUid('1.2.03'));
  t.throws(() => makeUid(`1.${'2.'.repeat(30)}3`, 'study', 1, 1), { message: /longer than 64 characters/ });
});

test('the published MQTT schemas in docs/schemas are the ones the firmware uses', (t) => {
  for (const [name, schema] of [
    ['state-1', StatePayload],
    ['health-1', HealthPayload],
    ['event-1', EventPayload],
  ] as const) {
    const published = JSON.parse(
      readFileSync(new URL(`../../docs/schemas/${name}.json`, import.meta.url), 'utf8'),
    );
    t.deepEqual(published, JSON.parse(JSON.stringify(schema)), `${name}: run npm run schemas`);
  }
});
