import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { type RigState, readState } from '../../src/state-file.ts';
import { until } from './harness.ts';

export const RIG_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/telemed-rig.js');

/**
 * `telemed-rig up` as a person runs it (its own process), stopped when the test ends; resolves
 * once the firmware said READY=1 through the notify socket (the supervisor then calls it running).
 */
export async function rigUp(
  t: ExecutionContext,
  name: string,
  args: string[],
): Promise<{ stateFile: string; state: RigState }> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const stateFile = join(dir, 'state.json');
  const child = spawn(process.execPath, [RIG_BIN, 'up', '--state-file', stateFile, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  t.teardown(async () => {
    if (child.exitCode === null) {
      await new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      });
    }
  });
  const state = await until(
    'firmware ready',
    () => existsSync(stateFile) && readState(stateFile).firmware.state === 'running' && readState(stateFile),
    90_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${output}`);
  });
  return { stateFile, state };
}
