import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A socat pty pair: the driver opens `a`, the far end (test or rig) opens `b`. */
export interface PtyPair {
  a: string;
  b: string;
  /** Kills socat: both ends vanish, as when a USB-serial cable is pulled. */
  unplug(): Promise<void>;
  /** Starts socat again with the same link names. */
  plug(): Promise<void>;
}

export async function ptyPair(dir = mkdtempSync(join(tmpdir(), 'pty-'))): Promise<PtyPair> {
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  let child: ChildProcess | null = null;
  const plug = async () => {
    child = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(existsSync(a) && existsSync(b)); i++)
      await new Promise((r) => setTimeout(r, 10));
    if (!existsSync(a) || !existsSync(b)) throw new Error('socat did not create the pty pair');
  };
  const unplug = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise((resolve) => {
      c.once('exit', resolve);
      c.kill('SIGKILL');
    });
  };
  await plug();
  return { a, b, plug, unplug };
}
