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

/**
 * The video of a recorder's MP4 segment as an H.264 Annex B byte stream, which the DICOM encoder
 * checks (parameter sets, frame count) before the MP4 itself is sent. A sound track, when there
 * is one, goes to a fakesink: a demuxer stops with "not-linked" when only unlinked pads are left.
 */
export function annexBSpec(name: string, mp4: string, annexB: string, audio: boolean): PipelineSpec {
  return {
    name,
    elements: [
      { id: 'source', factory: 'filesrc', props: { location: mp4 } },
      { id: 'demux', factory: 'qtdemux' },
      { id: 'parse', factory: 'h264parse' },
      { id: 'sink', factory: 'filesink', props: { location: annexB } },
      ...(audio ? [{ id: 'audio-sink', factory: 'fakesink', props: { sync: false, async: false } }] : []),
    ],
    links: [
      { from: 'source', to: 'demux' },
      { from: 'demux', to: 'parse', dynamic: true, fromPad: 'video_' },
      { from: 'parse', to: 'sink', caps: 'video/x-h264,stream-format=byte-stream,alignment=au' },
      ...(audio ? [{ from: 'demux', to: 'audio-sink', dynamic: true, fromPad: 'audio_' }] : []),
    ],
  };
}
