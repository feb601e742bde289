import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type FaultHook, noFaults } from './fault-points.ts';

/*
 * A file written so that after a crash or power cut it is either absent or complete: a temp file
 * in the same directory, written, fsynced, renamed over the target, then the directory fsynced
 * (the rename itself lives in the directory's data; ext4 data=ordered needs both).
 */

const tempPath = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);

const partList = (parts: Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] =>
  parts instanceof Uint8Array ? [parts] : parts;

/**
 * Captures and their DICOM files (up to tens of MB): every write, the fsyncs and the rename run on
 * libuv's thread pool, off the event loop. `parts` are written in order, as one file.
 */
export async function writeFileDurable(
  path: string,
  parts: Uint8Array | readonly Uint8Array[],
  fault: FaultHook = noFaults,
): Promise<void> {
  const temp = tempPath(path);
  const file = await open(temp, 'wx', 0o600);
  try {
    for (const part of partList(parts)) {
      let written = 0;
      while (written < part.length)
        written += (await file.write(part, written, part.length - written)).bytesWritten;
    }
    await file.sync();
  } catch (error) {
    await file.close();
    // the temp file is swept at the next start if it cannot be removed now
    await unlink(temp).catch(() => {});
    throw error;
  }
  await file.close();
  fault('file.synced');
  await rename(temp, path);
  fault('file.renamed');
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * The same, synchronously, for files of a few hundred bytes (the data key while the store opens,
 * a scan draft's page list): callers stay simple, and the fsync of so little is brief.
 */
export function writeFileDurableSync(path: string, bytes: Uint8Array): void {
  const temp = tempPath(path);
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
  renameSync(temp, path);
  fsyncDirectory(dirname(path));
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
