import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import type { Service } from '../service.ts';
import type { CpuFailureKind, CpuTaskArgs, CpuTaskName, CpuTaskResult } from './tasks.ts';

/** A task failed in its worker: `kind` says whether the input was at fault. */
export class CpuTaskError extends Error {
  constructor(
    readonly kind: CpuFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'CpuTaskError';
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Map<number, Pending>;
}

function defaultEntry(): { module: string; execArgv: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  // In the shipped bundle the worker is cpu-worker.mjs beside telemed.mjs; from source, tsx runs it.
  const bundled = join(here, 'cpu-worker.mjs');
  if (existsSync(bundled)) return { module: bundled, execArgv: [] };
  return { module: join(here, 'cpu-worker.ts'), execArgv: ['--import', 'tsx'] };
}

/**
 * Worker threads (one or two) for the daemon's CPU-heavy work (tasks.ts), so that decoding and DICOM encoding
 * never hold up the event loop that the carts' YMODEM and the kiosk share. Tasks go to the least
 * busy worker. A worker that dies fails the tasks it held (each caller decides what that means:
 * a capture stays saved and is tried again) and is replaced.
 *
 * INVARIANTS: every task is settled exactly once (answer, failure, or its worker's death); after
 * stop() no worker runs and every new task is refused.
 */
export class CpuPool
  implements Service<{ workers: number; tasks: number; failures: number; restarts: number }>
{
  readonly name = 'cpu';
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private stopped = false;
  private readonly counters = { tasks: 0, failures: 0, restarts: 0 };
  private readonly size: number;

  constructor(
    private readonly options: {
      log: Logger;
      /**
       * Worker threads (default: one fewer than the cores, one to two: each is a V8 isolate of
       * about 50 MiB, and the board's memory is shared with GStreamer).
       */
      size?: number;
      entry?: { module: string; execArgv: string[] };
    },
  ) {
    this.size = options.size ?? Math.min(2, Math.max(1, availableParallelism() - 1));
  }

  start(): void {
    this.stopped = false;
    while (this.slots.length < this.size) this.slots.push(this.spawn());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const slot of slots) this.failAll(slot, 'the CPU pool stopped');
  }

  snapshot() {
    return { workers: this.slots.length, ...this.counters };
  }

  /** Runs `task` in a worker. Byte arrays in `args` are copied, results transferred back. */
  run<T extends CpuTaskName>(task: T, args: CpuTaskArgs<T>): Promise<CpuTaskResult<T>> {
    if (this.stopped) return Promise.reject(new CpuTaskError('failed', 'the CPU pool is stopped'));
    if (this.slots.length === 0) this.start();
    const slot = this.slots.reduce((a, b) => (b.busy.size < a.busy.size ? b : a));
    const id = this.nextId++;
    this.counters.tasks++;
    return new Promise<CpuTaskResult<T>>((resolve, reject) => {
      slot.busy.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // A worker with work keeps the process alive until it answers; an idle one does not.
      slot.worker.ref();
      slot.worker.postMessage({ id, task, args });
    });
  }

  private spawn(): Slot {
    const entry = this.options.entry ?? defaultEntry();
    const worker = new Worker(entry.module, { execArgv: entry.execArgv });
    const slot: Slot = { worker, busy: new Map() };
    worker.on(
      'message',
      (m: { id: number; ok: boolean; value?: unknown; kind?: CpuFailureKind; message?: string }) => {
        const pending = slot.busy.get(m.id);
        if (!pending) return;
        slot.busy.delete(m.id);
        if (slot.busy.size === 0) worker.unref();
        if (m.ok) pending.resolve(m.value);
        else {
          this.counters.failures++;
          const kind = m.kind ?? 'failed';
          // A DICOM encoder's refusal keeps its type: the capture pipeline sets such captures aside.
          pending.reject(
            kind === 'unencodable'
              ? new DicomEncodeError(m.message ?? '')
              : new CpuTaskError(kind, m.message ?? ''),
          );
        }
      },
    );
    worker.on('error', (error) => this.options.log.error({ err: error }, 'a CPU worker failed'));
    worker.on('exit', (code) => {
      this.failAll(slot, `a CPU worker exited (code ${code})`);
      const at = this.slots.indexOf(slot);
      if (at < 0 || this.stopped) return;
      this.counters.restarts++;
      this.slots[at] = this.spawn();
    });
    worker.unref();
    return slot;
  }

  private failAll(slot: Slot, reason: string): void {
    for (const pending of slot.busy.values()) pending.reject(new CpuTaskError('failed', reason));
    slot.busy.clear();
  }
}
