import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchEventLoop } from './event-loop.ts';

/** `node --import tsx bench/event-loop-only.ts`: this one benchmark alone, printed as JSON. */
const result = await benchEventLoop(join(mkdtempSync(join(tmpdir(), 'telemed-bench-')), 'event-loop'));
console.log(JSON.stringify(result, null, 2));
