import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * UUCP lock files (`/run/lock/LCK..ttyACM0`, FHS 3.0): programs such as minicom, gpsd or a
 * vendor's tool claim a serial port by creating one with their PID. A crash leaves it behind and
 * well-behaved programs then refuse the port. A lock whose process is gone is stale: it is removed
 * (and said so); a live holder is named so a technician can stop it.
 */
export const LOCK_DIRS = ['/run/lock', '/var/lock'];

/** The holder's PID: ASCII (`%10d\n`, HDB style) or a 4-byte little-endian int (old Kermit style). */
export function parseLockPid(bytes: Uint8Array): number | null {
  const text = new TextDecoder('latin1').decode(bytes).trim();
  if (/^\d{1,10}$/.test(text)) {
    const pid = Number(text);
    return pid > 0 && pid <= 4_194_304 ? pid : null;
  }
  if (bytes.length === 4) {
    const pid = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    return pid > 0 && pid <= 4_194_304 ? pid : null;
  }
  return null;
}

export type LockCheck =
  | { state: 'none' }
  | { state: 'removed'; file: string; pid: number | null }
  | { state: 'held'; file: string; pid: number; holder: string | null };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * Checks the lock files of a port (by its /dev name and, for a symlink such as
 * /dev/serial/by-id/…, by the node it points to) and removes stale ones.
 */
export function recoverStaleLock(
  devicePath: string,
  options: { dirs?: readonly string[]; isAlive?: (pid: number) => boolean } = {},
): LockCheck {
  const names = new Set([basename(devicePath)]);
  try {
    names.add(basename(realpathSync(devicePath)));
  } catch {
    // the port is not there (unplugged): its lock name is still worth checking
  }
  const isAlive = options.isAlive ?? alive;
  let removed: LockCheck = { state: 'none' };
  for (const dir of options.dirs ?? LOCK_DIRS) {
    for (const name of names) {
      const file = join(dir, `LCK..${name}`);
      if (!existsSync(file)) continue;
      let pid: number | null = null;
      try {
        pid = parseLockPid(readFileSync(file));
      } catch {
        continue; // unreadable: not ours to judge
      }
      if (pid !== null && pid !== process.pid && isAlive(pid))
        return { state: 'held', file, pid, holder: processName(pid) };
      try {
        unlinkSync(file);
        removed = { state: 'removed', file, pid };
      } catch {
        // already gone
      }
    }
  }
  return removed;
}

/**
 * Processes that have the port open now (from /proc/PID/fd), by PID and name: when an open fails
 * because the port is busy, the technician is told who holds it — on Linux boards most often
 * ModemManager probing a new CDC-ACM device (the shipped udev rules tell it to keep away).
 */
export function portHolders(devicePath: string, proc = '/proc'): Array<{ pid: number; name: string | null }> {
  let target: string;
  try {
    target = realpathSync(devicePath);
  } catch {
    return [];
  }
  const holders: Array<{ pid: number; name: string | null }> = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(join(proc, entry, 'fd'));
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(join(proc, entry, 'fd', fd));
      } catch {
        continue;
      }
      if (link === target) {
        holders.push({ pid: Number(entry), name: processName(Number(entry)) });
        break;
      }
    }
  }
  return holders;
}

/** Why a port could not be opened, with who holds it when someone does; removes a stale lock. */
export function explainBusyPort(devicePath: string): string | null {
  const lock = recoverStaleLock(devicePath);
  const holders = portHolders(devicePath);
  const parts: string[] = [];
  if (holders.length > 0)
    parts.push(
      `held by ${holders.map((h) => `${h.name ?? 'a process'} (PID ${h.pid})`).join(', ')}: stop it or keep it off this port`,
    );
  else if (lock.state === 'held')
    parts.push(`locked by ${lock.holder ?? 'a process'} (PID ${lock.pid}, ${lock.file})`);
  if (lock.state === 'removed') parts.push(`a stale lock of a crashed program was removed (${lock.file})`);
  return parts.length > 0 ? parts.join('; ') : null;
}
