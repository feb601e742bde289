import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Backoff } from '#device-drivers';
import type { MicrophoneInfo } from './audio.ts';
import type { PropValue } from './encoders.ts';
import {
  type CameraInfo,
  type ElementRef,
  isWorkerMessage,
  type PortRange,
  type ProbeResult,
  type WorkerMessage,
  type WorkerRequest,
} from './ipc.ts';
import type { PipelineSpec } from './pipeline-spec.ts';

export type MediaWorkerState = 'starting' | 'ready' | 'restarting' | 'stopped';

export type BusEvent = Extract<WorkerMessage, { type: 'bus' }>;

/** A request without its id (the id is the worker link's business). */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** A request the worker refused or could not answer; `element` names the element at fault. */
export class MediaWorkerError extends Error {
  constructor(
    message: string,
    readonly element: string | null,
    /** True when the worker went away (crash, kill, restart) rather than refusing. */
    readonly workerLost: boolean,
  ) {
    super(message);
  }
}

export interface MediaWorkerOptions {
  log: Logger;
  /** The worker's entry module and Node flags; defaults to the sibling worker (tsx in development). */
  entry?: { module: string; execArgv: string[] };
  /** No heartbeat for this long: the worker's main loop is wedged and it is killed. */
  heartbeatTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  requestTimeoutMs?: number;
  onState?: (state: MediaWorkerState, detail: string | null) => void;
  /** Added to the worker's environment (e.g. GST_PLUGIN_PATH for a board's own plugins). */
  env?: Record<string, string>;
}

function defaultEntry(): { module: string; execArgv: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  // In the shipped bundle the worker is media-worker.mjs beside telemed.mjs; from source it is worker.ts.
  const bundled = join(here, 'media-worker.mjs');
  if (existsSync(bundled)) return { module: bundled, execArgv: [] };
  return { module: join(here, 'worker.ts'), execArgv: ['--import', 'tsx'] };
}

/**
 * Starts the media worker, talks to it, watches its heartbeat and restarts it.
 *
 * INVARIANTS: at most one child at a time; every pending request is settled exactly once (reply,
 * timeout, or worker loss); a restart is scheduled only from the child's exit handler.
 */
export class MediaWorker {
  state: MediaWorkerState = 'stopped';
  gstVersion: string | null = null;
  readonly counters = { starts: 0, crashes: 0, heartbeatKills: 0, requestTimeouts: 0 };
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private lastBeatAt = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
  private readyWaiters: Array<() => void> = [];
  private readonly busListeners = new Set<(event: BusEvent) => void>();
  private stopping = false;

  constructor(private readonly options: MediaWorkerOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    this.stopping = false;
    this.spawn();
    const timeout = this.options.heartbeatTimeoutMs ?? 5000;
    this.watchdog = setInterval(
      () => {
        if (this.child && this.state === 'ready' && Date.now() - this.lastBeatAt > timeout) {
          this.counters.heartbeatKills++;
          this.options.log.error(
            { pid: this.child.pid, timeoutMs: timeout },
            'media worker stopped answering: killing it',
          );
          this.child.kill('SIGKILL');
        }
      },
      Math.min(1000, timeout / 2),
    );
  }

  /** Subscribes to the workers' bus events (across restarts); returns the unsubscribe. */
  onBusEvent(listener: (event: BusEvent) => void): () => void {
    this.busListeners.add(listener);
    return () => this.busListeners.delete(listener);
  }

  /** Resolves once a worker is up and has said ready. */
  ready(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  async probe(): Promise<ProbeResult> {
    const reply = await this.request({ op: 'probe' });
    if (reply.type !== 'reply' || !reply.ok || !reply.result)
      throw new MediaWorkerError('probe failed', null, false);
    return reply.result;
  }

  /** Video sources the device monitor sees now (hot-plug re-runs this). */
  async cameras(): Promise<CameraInfo[]> {
    const reply = await this.request({ op: 'cameras' });
    if (reply.type !== 'reply' || !reply.ok || !reply.cameras)
      throw new MediaWorkerError('camera discovery failed', null, false);
    return reply.cameras;
  }

  /** Audio capture devices the device monitor sees now. */
  async microphones(): Promise<MicrophoneInfo[]> {
    const reply = await this.request({ op: 'microphones' });
    if (reply.type !== 'reply' || !reply.ok || !reply.microphones)
      throw new MediaWorkerError('microphone discovery failed', null, false);
    return reply.microphones;
  }

  async startPipeline(spec: PipelineSpec): Promise<void> {
    await this.request({ op: 'start', spec });
  }

  /** The newest frame `element` (a fakesink keeping its last sample) holds, as JPEG. */
  async snapshot(pipeline: string, element: string): Promise<Uint8Array> {
    return (await this.frame(pipeline, element)).jpeg;
  }

  /** The newest frame as JPEG, and when its sink showed it (wall-clock ms; null if it keeps no time). */
  async frame(pipeline: string, element: string): Promise<{ jpeg: Uint8Array; shownAt: number | null }> {
    const reply = await this.request({ op: 'snapshot', pipeline, element });
    if (reply.type !== 'reply' || !reply.ok || !reply.jpegBase64)
      throw new MediaWorkerError('snapshot failed', element, false);
    return { jpeg: new Uint8Array(Buffer.from(reply.jpegBase64, 'base64')), shownAt: reply.shownAt ?? null };
  }

  /** EOS through the pipeline and wait for it: recordings end with their last segment closed. */
  /** Encoded buffers from an appsink into another pipeline's appsrc (see the 'pump' request). */
  async pump(
    from: ElementRef,
    to: ElementRef,
    start: 'last-key-frame' | 'next-key-frame' = 'last-key-frame',
    onSourceGone: 'end' | 'wait' = 'end',
    timeline: 'source' | 'target' = 'source',
    replace = false,
  ): Promise<void> {
    await this.request({ op: 'pump', from, to, start, onSourceGone, timeline, replace });
  }

  /** An element's statistics structure as text (see gst-structure.ts to read it). */
  async stats(pipeline: string, element: string): Promise<string> {
    const reply = await this.request({ op: 'stats', pipeline, element });
    return reply.type === 'reply' && reply.ok ? (reply.structure ?? '') : '';
  }

  /** A call's publishing webrtcbin (`streams`: picture, and voice if any): its offer with candidates. */
  async webrtcOffer(pipeline: string, element: string, streams: number, ports?: PortRange): Promise<string> {
    const reply = await this.request({
      op: 'webrtc-offer',
      pipeline,
      element,
      streams,
      ...(ports ? { ports } : {}),
    });
    return reply.type === 'reply' && reply.ok && reply.sdp ? reply.sdp : '';
  }

  /** The media server's answer to that offer. */
  async webrtcRemoteAnswer(pipeline: string, element: string, sdp: string): Promise<void> {
    await this.request({ op: 'webrtc-remote-answer', pipeline, element, sdp });
  }

  /** A call's receiving webrtcbin: the server's offer in, our answer (with candidates) out. */
  async webrtcAnswer(pipeline: string, element: string, sdp: string, ports?: PortRange): Promise<string> {
    const reply = await this.request({
      op: 'webrtc-answer',
      pipeline,
      element,
      sdp,
      ...(ports ? { ports } : {}),
    });
    return reply.type === 'reply' && reply.ok && reply.sdp ? reply.sdp : '';
  }

  /** webrtcbin's statistics for the stream through `pad` (each as structure text). */
  async webrtcStats(pipeline: string, element: string, pad: string): Promise<string[]> {
    const reply = await this.request({ op: 'webrtc-stats', pipeline, element, pad });
    return reply.type === 'reply' && reply.ok ? (reply.stats ?? []) : [];
  }

  /** The caps an element's sink pad carries now ('' before any). */
  async caps(pipeline: string, element: string): Promise<string> {
    const reply = await this.request({ op: 'caps', pipeline, element });
    return reply.type === 'reply' && reply.ok ? (reply.structure ?? '') : '';
  }

  async finishPipeline(pipeline: string): Promise<void> {
    await this.request({ op: 'finish', pipeline });
  }

  async stopPipeline(pipeline: string): Promise<void> {
    await this.request({ op: 'stop', pipeline });
  }

  async setProperties(pipeline: string, element: string, props: Record<string, PropValue>): Promise<void> {
    await this.request({ op: 'set', pipeline, element, props });
  }

  /** One input of an input-selector shown, its gate opened and the others' closed (see the request). */
  async selectInput(
    pipeline: string,
    selector: string,
    input: { pad: string; open: string; close: string[] },
  ): Promise<void> {
    await this.request({ op: 'select-input', pipeline, selector, ...input });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    this.setState('stopped', null);
  }

  private request(body: RequestBody): Promise<WorkerMessage> {
    const child = this.child;
    if (!child || this.state !== 'ready') {
      return Promise.reject(new MediaWorkerError(`media worker is ${this.state}`, null, true));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.counters.requestTimeouts++;
        reject(new MediaWorkerError(`media worker did not answer ${body.op} in time`, null, false));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.pending.set(id, {
        resolve: (m) => {
          if (m.type === 'reply' && !m.ok) reject(new MediaWorkerError(m.error, m.element, false));
          else resolve(m);
        },
        reject,
        timer,
      });
      // With a callback, a worker that died a moment ago (EPIPE) fails this request instead of
      // raising an 'error' event that would take the daemon down (found by the kill test).
      child.send({ ...body, id } as WorkerRequest, (error) => {
        if (!error || !this.pending.has(id)) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new MediaWorkerError(`media worker went away (${error.message})`, null, true));
      });
    });
  }

  private spawn(): void {
    const entry = this.options.entry ?? defaultEntry();
    this.setState('starting', null);
    this.counters.starts++;
    const child = fork(entry.module, [], {
      execArgv: entry.execArgv,
      env: {
        ...process.env,
        ...this.options.env,
        TELEMED_MEDIA_HEARTBEAT_MS: String(this.options.heartbeatIntervalMs ?? 1000),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    child.on('message', (message: unknown) => this.receive(message));
    child.on('error', (error) => this.options.log.warn({ err: error.message }, 'media worker channel error'));
    child.once('exit', (code, signal) => this.exited(child, code, signal));
  }

  private receive(message: unknown): void {
    if (!isWorkerMessage(message)) {
      this.options.log.warn({ message }, 'media worker sent something that is not a worker message');
      return;
    }
    switch (message.type) {
      case 'ready':
        this.gstVersion = message.gstVersion;
        this.lastBeatAt = Date.now();
        this.setState('ready', null);
        for (const waiter of this.readyWaiters.splice(0)) waiter();
        return;
      case 'heartbeat':
        this.lastBeatAt = Date.now();
        this.backoff.reset();
        return;
      case 'reply': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        pending.resolve(message);
        return;
      }
      case 'bus':
        for (const listener of this.busListeners) listener(message);
        return;
    }
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new MediaWorkerError(`media worker went away (${how})`, null, true));
      this.pending.delete(id);
    }
    if (this.stopping) return;
    this.counters.crashes++;
    const delay = this.backoff.next();
    this.options.log.error({ how, restartInMs: delay }, 'media worker exited; restarting it');
    this.setState('restarting', how);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }

  private setState(state: MediaWorkerState, detail: string | null): void {
    if (state === this.state) return;
    this.state = state;
    this.options.onState?.(state, detail);
  }
}
