import { execFile } from 'node:child_process';
import type { DiskTrimmer } from './disk-guard.ts';

const UNITS: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "Vacuuming done, freed 24.0M of archived journals from /var/log/journal/…" → bytes (0 if absent). */
export function parseVacuumFreed(output: string): number {
  let total = 0;
  for (const m of output.matchAll(/freed ([\d.]+)([BKMGT])/g))
    total += Number(m[1]) * (UNITS[m[2] as string] ?? 1);
  return Math.round(total);
}

/**
 * The system journal, kept on the data partition on the board (persistent journald), vacuumed
 * down to `keep` before any study is touched: logs go first (design.md). `journalctl` missing (a
 * development machine) frees nothing and is not an error.
 */
export function journalTrimmer(keep: string, command = 'journalctl'): DiskTrimmer {
  return {
    name: 'system journal',
    trim: () =>
      new Promise((resolve) => {
        execFile(command, [`--vacuum-size=${keep}`], { timeout: 30_000 }, (error, stdout, stderr) => {
          if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(0);
          resolve(parseVacuumFreed(`${stdout}\n${stderr}`));
        });
      }),
  };
}
