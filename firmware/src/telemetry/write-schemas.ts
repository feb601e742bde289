import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventPayload, HealthPayload, StatePayload } from './payloads.ts';

/** Writes the published JSON Schemas of the MQTT payloads to docs/schemas (npm run schemas). */
const out = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/schemas');
mkdirSync(out, { recursive: true });
for (const [name, schema] of [
  ['state-1', StatePayload],
  ['health-1', HealthPayload],
  ['event-1', EventPayload],
] as const) {
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(out);
