import type { BusEvent } from './media-worker.ts';
import type { PipelineSpec } from './pipeline-spec.ts';

/** The parts of the media worker a finite pipeline needs. */
export interface PipelineRunner {
  startPipeline(spec: PipelineSpec): Promise<void>;
  stopPipeline(name: string): Promise<void>;
  onBusEvent(listener: (event: BusEvent) => void): () => void;
  /** Worker starts so far: a change while a pipeline ran means the worker died under it. */
  readonly counters?: { starts: number };
}

/**
 * The media worker was not there (restarting) or died while the pipeline ran: nothing is known
 * about the input, so the caller keeps it and tries again once the worker is back.
 */
export class WorkerGone extends Error {
  readonly code = 'WORKER_GONE';
}

/**
 * Runs a pipeline that ends by itself (a test encode, a remux) and resolves with null at EOS, or
 * with what went wrong (the element and its message, or the time running out).
 */
export async function runToEos(
  worker: PipelineRunner,
  spec: PipelineSpec,
  timeoutMs: number,
): Promise<string | null> {
  let unsubscribe = () => {};
  const ended = new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(`no end of stream within ${timeoutMs} ms`), timeoutMs);
    unsubscribe = worker.onBusEvent((event) => {
      if (event.pipeline !== spec.name || (event.kind !== 'eos' && event.kind !== 'error')) return;
      clearTimeout(timer);
      resolve(event.kind === 'eos' ? null : `${event.element}: ${event.message}`);
    });
  });
  const starts = worker.counters?.starts;
  try {
    await worker.startPipeline(spec);
  } catch (error) {
    unsubscribe();
    if ((error as { workerLost?: unknown }).workerLost === true)
      throw new WorkerGone((error as Error).message);
    return (error as Error).message;
  }
  const problem = await ended;
  unsubscribe();
  if (starts !== undefined && worker.counters?.starts !== starts)
    throw new WorkerGone(`the media worker restarted while ${spec.name} ran`);
  await worker.stopPipeline(spec.name).catch(() => {});
  return problem;
}

/** MP4 segment → H.264 Annex B byte stream (what the DICOM transfer syntax carries). */
export function remuxSpec(name: string, mp4: string, out: string): PipelineSpec {
  return {
    name,
    elements: [
      { id: 'source', factory: 'filesrc', props: { location: mp4 } },
      { id: 'demux', factory: 'qtdemux' },
      { id: 'parse', factory: 'h264parse' },
      { id: 'sink', factory: 'filesink', props: { location: out } },
    ],
    links: [
      { from: 'source', to: 'demux' },
      { from: 'demux', to: 'parse', dynamic: true },
      { from: 'parse', to: 'sink', caps: 'video/x-h264,stream-format=byte-stream,alignment=au' },
    ],
  };
}
