import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteQueue, NodeSerialOpener, sendFiles } from '#device-drivers';
import { until as poll } from '../device-drivers/test/helpers/until.ts';
import { buildFirmware } from '../firmware/build.ts';
import type { StatusResponse } from '../firmware/src/api/types.ts';
import { stowInstance } from '../firmware/src/uplink/stow-client.ts';
import { twelveLeadRecord } from './records.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median, percentile } from './stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LATENCY_RUNS = 10;
const BURST = 100;

/** The fields of `telemed-rig up`'s state file this benchmark reads. */
interface RigState {
  orthanc: { A: string; B: string };
  dicomWeb: { A: string; B: string };
  kioskUrl: string;
  apiToken: string;
  firmwarePid: number | null;
  cartPty: string;
  controlUrl: string;
  configFile: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The benchmarks' waits: the firmware restarts under them, and their latencies are measured. */
export const until = <T>(what: string, probe: () => Promise<T | undefined | false>, ms: number) =>
  poll(what, probe, ms, { errorsMeanNotYet: true, everyMs: 5 });

/** Resident set size of a process in MiB, from /proc (what the board's watchdog and the NOC see). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

export class RigUnderTest {
  private constructor(
    private readonly child: ChildProcess,
    readonly state: RigState,
  ) {}

  /** `telemed-rig up` as its own process: the bench is the cart and the clock, nothing more. */
  static async start(dir: string, firmware: string, extraArgs: string[] = []): Promise<RigUnderTest> {
    const stateFile = join(dir, 'state.json');
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'hw-test-rig/bin/telemed-rig.js'),
        'up',
        '--state-file',
        stateFile,
        '--firmware',
        firmware,
        ...extraArgs,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    const state = await until(
      'the rig state file with a firmware pid',
      async () => {
        if (child.exitCode !== null) throw new Error(`telemed-rig up exited: ${output}`);
        if (!existsSync(stateFile)) return undefined;
        const s = JSON.parse(readFileSync(stateFile, 'utf8')) as RigState;
        return s.firmwarePid ? s : undefined;
      },
      120_000,
    ).catch((error: Error) => {
      child.kill('SIGTERM');
      throw new Error(`${error.message}\n${output}`);
    });
    const rig = new RigUnderTest(child, state);
    await until(
      'the cart link connected',
      async () => (await rig.status()).carts[0]?.state === 'connected',
      60_000,
    );
    return rig;
  }

  /**
   * A rig fault command, as `telemed-rig` sends it (the control endpoint's JSON; see
   * hw-test-rig/src/control.ts — the bench does not import the rig).
   */
  async control(command: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${this.state.controlUrl}/control`, {
      method: 'POST',
      body: JSON.stringify(command),
    });
    const payload = (await response.json()) as { message?: string; error?: string };
    if (!response.ok)
      throw new Error(`rig control ${String(command['command'])}: ${payload.error ?? response.status}`);
    return payload.message ?? '';
  }

  get pid(): number {
    return this.state.firmwarePid!;
  }

  async status(): Promise<StatusResponse> {
    const response = await fetch(`${new URL(this.state.kioskUrl).origin}/api/v1/status`, {
      headers: { authorization: `Bearer ${this.state.apiToken}` },
    });
    if (!response.ok) throw new Error(`status: HTTP ${response.status}`);
    return (await response.json()) as StatusResponse;
  }

  async delivered(): Promise<number> {
    return (await this.status()).dataCentres.reduce((n, d) => n + d.delivered, 0);
  }

  /** Be the cart: one YMODEM batch through the real serialport and sender. */
  async send(files: Array<{ name: string; bytes: Uint8Array }>, onLastBlock: () => void): Promise<void> {
    const link = await new NodeSerialOpener().open(this.state.cartPty, { baudRate: 115200 });
    const controller = new AbortController();
    const queue = new ByteQueue(controller.signal);
    link.onData((chunk) => queue.push(chunk));
    let filesDone = 0;
    try {
      await sendFiles({ queue, write: (bytes) => link.write(bytes) }, files, {
        mode: 'ymodem',
        startTimeoutMs: 30_000,
        onBlock: (sent, total) => {
          if (sent === total && ++filesDone === files.length) onLastBlock();
        },
      });
    } finally {
      controller.abort(new Error('transfer over'));
      await link.close();
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise((r) => {
      this.child.once('exit', r);
      this.child.kill('SIGTERM');
    });
  }
}

/** Instances the data centre holds, as Orthanc REST lists them. */
async function orthancInstances(base: string): Promise<string[]> {
  return (await (await fetch(`${base}/instances`)).json()) as string[];
}

export interface EndToEndResult {
  latency: Row[];
  memory: Row[];
  notes: string[];
}

export async function benchEndToEnd(dir: string): Promise<EndToEndResult> {
  // The firmware as the image ships it: compiled to one module, not run through tsx.
  const rig = await RigUnderTest.start(dir, await buildFirmware());
  try {
    // A bare Node process is the memory baseline: what the runtime costs before any of our code.
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await sleep(3000);
    const bareRss = rssMiB(bare.pid!);
    bare.kill();
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) {
      idle.push(rssMiB(rig.pid));
      await sleep(100);
    }

    const latencies: number[] = [];
    for (let k = 0; k < LATENCY_RUNS; k++) {
      const before = await rig.delivered();
      let lastBlockAt = 0;
      const sending = rig.send([{ name: `LAT${k}.SCP`, bytes: twelveLeadRecord(1000 + k) }], () => {
        lastBlockAt = performance.now();
      });
      await until('delivered', async () => lastBlockAt > 0 && (await rig.delivered()) > before, 60_000);
      latencies.push(performance.now() - lastBlockAt);
      await sending;
    }

    // Baseline: the data centre's own time to take the same DICOM instances straight from a client.
    const stowMs: number[] = [];
    for (const id of (await orthancInstances(rig.state.orthanc.A)).slice(0, LATENCY_RUNS)) {
      const bytes = new Uint8Array(
        await (await fetch(`${rig.state.orthanc.A}/instances/${id}/file`)).arrayBuffer(),
      );
      const tags = (await (await fetch(`${rig.state.orthanc.A}/instances/${id}`)).json()) as {
        MainDicomTags: { SOPInstanceUID: string };
      };
      const t0 = performance.now();
      const outcome = await stowInstance(
        { dicomWebUrl: rig.state.dicomWeb.B, timeoutMs: 10_000 },
        bytes,
        tags.MainDicomTags.SOPInstanceUID,
      );
      stowMs.push(performance.now() - t0);
      if (outcome.kind !== 'stored') throw new Error(`baseline STOW failed: ${JSON.stringify(outcome)}`);
    }

    const burstBefore = await rig.delivered();
    const files = Array.from({ length: BURST }, (_, i) => ({
      name: `BURST${i}.SCP`,
      bytes: twelveLeadRecord(5000 + i),
    }));
    const burstRss: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        burstRss.push(rssMiB(rig.pid));
        await sleep(100);
      }
    })();
    const t0 = performance.now();
    let lastBlockAt = 0;
    await rig.send(files, () => {
      lastBlockAt = performance.now();
    });
    await until('the burst delivered', async () => (await rig.delivered()) >= burstBefore + BURST, 300_000);
    const burstMs = performance.now() - t0;
    sampling = false;
    await sampler;
    await sleep(5000);
    const after: number[] = [];
    for (let i = 0; i < 10; i++) {
      after.push(rssMiB(rig.pid));
      await sleep(100);
    }
    const status = await rig.status();
    const quarantined = status.studiesToday.filter((s) => s.display === 'attention').length;
    if (quarantined > 0) throw new Error(`${quarantined} benchmark records were quarantined`);

    const stowMedian = median(stowMs);
    const latencyMedian = median(latencies);
    const idleMedian = median(idle);
    return {
      latency: [
        {
          what: `baseline: STOW-RS of the same instance straight to Orthanc (${stowMs.length} runs)`,
          median: fmt(stowMedian, 1),
          ratio: '1.00',
        },
        {
          what: `last YMODEM block acknowledged → terminal records "delivered" (${LATENCY_RUNS} ECGs, one at a time; p90 ${fmt(percentile(latencies, 90), 1)} ms)`,
          median: fmt(latencyMedian, 1),
          ratio: fmt(latencyMedian / stowMedian),
        },
        {
          what: `burst of ${BURST} ECGs in one YMODEM batch: first byte → all delivered (ms; ${fmt((BURST / burstMs) * 1000, 1)} ECG/s; receive part ${fmt(lastBlockAt - t0, 0)} ms)`,
          median: fmt(burstMs, 0),
          ratio: '—',
        },
      ],
      memory: [
        { what: 'baseline: bare Node process (an empty timer loop)', median: fmt(bareRss, 1), ratio: '1.00' },
        {
          what: 'daemon idle, cart connected, both DCs up',
          median: fmt(idleMedian, 1),
          ratio: fmt(idleMedian / bareRss),
        },
        {
          what: `daemon during a burst of ${BURST} ECGs (median of ${burstRss.length} samples; peak ${fmt(Math.max(...burstRss), 1)} MiB)`,
          median: fmt(median(burstRss), 1),
          ratio: fmt(median(burstRss) / bareRss),
        },
        {
          what: 'daemon 5 s after the burst',
          median: fmt(median(after), 1),
          ratio: fmt(median(after) / bareRss),
        },
      ],
      notes: [
        'The end-to-end figures run `telemed-rig up` as a separate process (rig, both Orthanc data centres behind the rig’s fault proxies with no fault set, mosquitto, the firmware daemon as its own process, run from the bundle `firmware/build.ts` makes, as the image ships it; the media worker and the rig’s SRT listener run too, each in its own process, so neither is in the daemon’s RSS); the benchmark is the cart, on the socat pty, through the real serialport and YMODEM sender.',
        '"Delivered" is read from the daemon’s local API (polled every 5 ms), i.e. after the data centre’s STOW-RS response was recorded in the store.',
      ],
    };
  } finally {
    await rig.stop();
  }
}
