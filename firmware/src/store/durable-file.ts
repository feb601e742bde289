import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type FaultHook, noFaults } from './fault-points.ts';

/**
 * Writes a file so that after a crash or power cut it is either absent or complete:
 * temp file in the same directory, write, fsync, rename over the target, fsync the directory
 * (the rename itself lives in the directory's data; ext4 data=ordered needs both).
 */
export function writeFileDurable(path: string, bytes: Uint8Array, fault: FaultHook = noFaults): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // the temp file is swept at the next start if it cannot be removed now
    }
    throw error;
  }
  closeSync(fd);
  fault('file.synced');
  renameSync(temp, path);
  fault('file.renamed');
  fsyncDirectory(dir);
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temp files left by a crash between write and rename; swept at start. */
export function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}
