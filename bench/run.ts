import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEndToEnd } from './end-to-end.ts';
import { benchScpDecode, type Row } from './scp-decode.ts';
import { machine } from './stats.ts';
import { benchStoreCommits } from './store-commits.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function table(unit: string, rows: Row[]): string {
  return [
    `| what | median ${unit} | ratio to baseline |`,
    '| --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.what} | ${r.median} | ${r.ratio} |`),
  ].join('\n');
}

const work = mkdtempSync(join(process.env['TELEMED_BENCH_DIR'] ?? tmpdir(), 'telemed-bench-'));
const started = new Date();
try {
  console.error('SCP decode…');
  const decode = benchScpDecode();
  console.error('store commits…');
  const commits = benchStoreCommits(work);
  console.error('end to end (telemed-rig up, ~2 min)…');
  const e2e = await benchEndToEnd(join(work, 'rig'));
  const md = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts). Every ratio is against a baseline measured in the same',
    'run on the same machine, so the ratios carry over between machines better than the absolute',
    'figures do. Do not edit by hand.',
    '',
    `Measured ${started.toISOString()} (run took ${Math.round((Date.now() - started.getTime()) / 1000)} s).`,
    '',
    '## Machine',
    '',
    ...Object.entries(machine(work)).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## SCP-ECG decode, per 10 s 12-lead record',
    '',
    table('(ms)', decode.rows),
    ...decode.notes.map((n) => `\n${n}`),
    '',
    '## Store commits per second',
    '',
    'Each commit is its own transaction, as the store makes them; higher is better.',
    '',
    table('(commits/s)', commits),
    '',
    '## From the last YMODEM block to "delivered"',
    '',
    table('(ms)', e2e.latency),
    '',
    '## Daemon memory (RSS)',
    '',
    table('(MiB)', e2e.memory),
    '',
    ...e2e.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs/benchmarks.md'), md);
  console.log(md);
} finally {
  rmSync(work, { recursive: true, force: true });
}
