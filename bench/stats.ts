import { execFileSync } from 'node:child_process';
import { cpus, freemem, release, totalmem } from 'node:os';
import type { Row } from './scp-decode.ts';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Runs `fn` until both `minRuns` runs and `minMs` of wall time are done (after `warmup` runs that
 * are not counted) and returns each run's duration in milliseconds.
 */
export function timeRuns(
  fn: () => void,
  options: { warmup?: number; minRuns?: number; minMs?: number } = {},
) {
  for (let i = 0; i < (options.warmup ?? 5); i++) fn();
  const runs: number[] = [];
  const started = performance.now();
  while (runs.length < (options.minRuns ?? 20) || performance.now() - started < (options.minMs ?? 1000)) {
    const t0 = performance.now();
    fn();
    runs.push(performance.now() - t0);
  }
  return runs;
}

export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** What the figures were measured on: they mean little without it. */
export function machine(dir: string): Record<string, string> {
  const cpu = cpus();
  let fs = 'unknown';
  try {
    fs = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {}
  return {
    CPU: `${cpu[0]?.model ?? 'unknown'} × ${cpu.length}`,
    Memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    Kernel: release(),
    Node: process.version,
    'Store file system': `${fs} (${dir})`,
  };
}

/** A markdown table of rows: what, median, ratio to the baseline. */
export function table(unit: string, rows: Row[]): string {
  return [
    `| what | median ${unit} | ratio to baseline |`,
    '| --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.what} | ${r.median} | ${r.ratio} |`),
  ].join('\n');
}
