import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCalls, callsSection } from './calls.ts';

/** `node --import tsx bench/calls-only.ts`: the calls benchmark alone, printed as its section. */
const result = await benchCalls(join(mkdtempSync(join(tmpdir(), 'telemed-bench-')), 'calls'));
console.log(callsSection(result).join('\n'));
