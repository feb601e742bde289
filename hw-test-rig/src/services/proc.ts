import { readdirSync, readFileSync } from 'node:fs';

/** Child processes of `pid` (from /proc), whose command line mentions `name` when one is given. */
export function childPids(pid: number, name?: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      if (name === undefined || readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(name))
        found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
