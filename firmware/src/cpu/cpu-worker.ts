import { parentPort } from 'node:worker_threads';
import { CPU_TASKS, type CpuTaskName, failureKind } from './tasks.ts';

/**
 * A worker thread of the CPU pool: runs one task at a time and answers with its result or its
 * failure. Results that are byte arrays are transferred, not copied.
 */
if (!parentPort) throw new Error('cpu-worker.ts runs as a worker thread (cpu-pool.ts starts it)');
const port = parentPort;

port.on('message', (message: { id: number; task: CpuTaskName; args: unknown }) => {
  try {
    const run = CPU_TASKS[message.task] as (args: unknown) => unknown;
    const value = run(message.args);
    // Only a buffer the result owns whole is transferred (never a slice of Node's Buffer pool).
    const whole =
      value instanceof Uint8Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
    const transfer = whole ? [value.buffer as ArrayBuffer] : [];
    port.postMessage({ id: message.id, ok: true, value }, transfer);
  } catch (error) {
    port.postMessage({
      id: message.id,
      ok: false,
      kind: failureKind(error),
      message: error instanceof Error ? error.message : String(error),
    });
  }
});
