import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { sourceChain } from '../firmware/src/media/camera-source.ts';
import { consultationSpec, ELEMENTS, livePipeline } from '../firmware/src/media/consultation-pipeline.ts';
import { ENCODERS, type EncodeTarget, type PropValue } from '../firmware/src/media/encoders.ts';
import { MediaWorker } from '../firmware/src/media/media-worker.ts';
import type { ElementSpec, PipelineSpec } from '../firmware/src/media/pipeline-spec.ts';
import { recordingPipeline } from '../firmware/src/media/recording.ts';
import { runToEos } from '../firmware/src/media/run-to-eos.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median, percentile } from './stats.ts';

const GLASS = join(dirname(fileURLToPath(import.meta.url)), 'glass');
const PYTHON = '/usr/bin/python3';
const x264 = ENCODERS.find((e) => e.element === 'x264enc')!;
const TARGET: EncodeTarget = { bitrateKbps: 4000, fps: 30, keyFrameIntervalS: 2, cpu: 'weak' };
const SIZES = [
  { name: '720p30', width: 1280, height: 720 },
  { name: '1080p30', width: 1920, height: 1080 },
];

/** The same elements, as gst-launch-1.0 arguments: the bare baseline of each measurement. */
function launchArgs(elements: ElementSpec[], caps: Map<string, string> = new Map()): string[] {
  const args: string[] = [];
  elements.forEach((e, i) => {
    if (i > 0) args.push('!');
    const filter = caps.get(e.id);
    if (filter) args.push(filter, '!');
    args.push(
      e.factory,
      `name=${e.id}`,
      ...Object.entries(e.props ?? {}).map(([k, v]) => `${k}=${String(v)}`),
    );
  });
  return args;
}

function encodeChain(size: { width: number; height: number }, frames: number, live: boolean) {
  const raw = `video/x-raw,format=I420,width=${size.width},height=${size.height},framerate=30/1`;
  const elements: ElementSpec[] = [
    {
      id: 'src',
      factory: 'videotestsrc',
      props: { 'is-live': live, pattern: 'ball', 'num-buffers': frames },
    },
    { id: 'encoder', factory: 'x264enc', props: x264.properties(TARGET) as Record<string, PropValue> },
    { id: 'parse', factory: 'h264parse' },
    { id: 'sink', factory: 'fakesink', props: { sync: false } },
  ];
  const spec = (name: string): PipelineSpec => ({
    name,
    elements,
    links: [
      { from: 'src', to: 'encoder', caps: raw },
      { from: 'encoder', to: 'parse' },
      { from: 'parse', to: 'sink' },
    ],
  });
  return { spec, args: launchArgs(elements, new Map([['encoder', raw]])) };
}

/** CPU seconds a process has used so far (utime + stime from /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** gst-launch-1.0 under /usr/bin/time: wall seconds and CPU seconds. */
function bareRun(args: string[], env: NodeJS.ProcessEnv = process.env): { wallS: number; cpuS: number } {
  const run = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S', 'gst-launch-1.0', '-q', ...args], {
    encoding: 'utf8',
    env,
  });
  const line = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(run.stderr);
  if (run.status !== 0 || !line) throw new Error(`gst-launch-1.0 failed: ${run.stderr.slice(-400)}`);
  return { wallS: Number(line[1]), cpuS: Number(line[2]) + Number(line[3]) };
}

async function oursRun(worker: MediaWorker, spec: PipelineSpec): Promise<{ wallS: number; cpuS: number }> {
  const pid = worker.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const problem = await runToEos(worker, spec, 120_000);
  if (problem) throw new Error(problem);
  return { wallS: (performance.now() - t0) / 1000, cpuS: cpuSeconds(pid) - cpu0 };
}

async function startWorker(env?: Record<string, string>): Promise<MediaWorker> {
  // Encoding flat out saturates both cores; the heartbeat is then measured, not enforced.
  const worker = new MediaWorker({
    log: pino({ level: 'silent' }),
    heartbeatTimeoutMs: 60_000,
    ...(env ? { env } : {}),
  });
  worker.start();
  await worker.ready();
  return worker;
}

const ratio = (ours: number, bare: number) => fmt(ours / bare);

/** A UDP port nobody uses right now (SRT listens on UDP). */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const { port } = socket.address();
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

/** Encode throughput and CPU share, ours (the supervised worker) against bare gst-launch. */
async function encodeRows(worker: MediaWorker, runs: number): Promise<{ fps: Row[]; cpu: Row[] }> {
  const fps: Row[] = [];
  const cpu: Row[] = [];
  let n = 0;
  for (const size of SIZES) {
    const frames = 300;
    const flat = encodeChain(size, frames, false);
    const bare = Array.from({ length: runs }, () => frames / bareRun(flat.args).wallS);
    const ours: number[] = [];
    for (let i = 0; i < runs; i++) ours.push(frames / (await oursRun(worker, flat.spec(`fps-${n++}`))).wallS);
    fps.push({
      what: `bare gst-launch-1.0, ${size.name} as fast as it goes`,
      median: fmt(median(bare), 1),
      ratio: '1.00',
    });
    fps.push({
      what: `ours (media worker), ${size.name}`,
      median: fmt(median(ours), 1),
      ratio: ratio(median(ours), median(bare)),
    });

    const live = encodeChain(size, 150, true);
    const share = (r: { wallS: number; cpuS: number }) => (100 * r.cpuS) / r.wallS;
    const bareCpu = Array.from({ length: runs }, () => share(bareRun(live.args)));
    const oursCpu: number[] = [];
    for (let i = 0; i < runs; i++) oursCpu.push(share(await oursRun(worker, live.spec(`cpu-${n++}`))));
    cpu.push({
      what: `bare gst-launch-1.0, ${size.name} live (5 s)`,
      median: fmt(median(bareCpu), 0),
      ratio: '1.00',
    });
    cpu.push({
      what: `ours (media worker), ${size.name} live`,
      median: fmt(median(oursCpu), 0),
      ratio: ratio(median(oursCpu), median(bareCpu)),
    });
  }
  return { fps, cpu };
}

/** The encoder's own latency, buffer in → encoded buffer out, from GStreamer's latency tracer (pad probes). */
async function encoderLatency(dir: string): Promise<Row[]> {
  const traced = (file: string) => ({
    GST_TRACERS: 'latency(flags=element)',
    GST_DEBUG: 'GST_TRACER:7',
    GST_DEBUG_NO_COLOR: '1',
    GST_DEBUG_FILE: file,
  });
  const read = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('element-latency') && l.includes('element=(string)encoder,'))
      .map((l) => Number(/time=\(guint64\)(\d+)/.exec(l)?.[1]) / 1e6)
      .filter(Number.isFinite);
  const rows: Row[] = [];
  for (const size of SIZES) {
    const chain = encodeChain(size, 150, true);
    const bareFile = join(dir, `latency-bare-${size.name}.log`);
    bareRun(chain.args, { ...process.env, ...traced(bareFile) });
    const oursFile = join(dir, `latency-ours-${size.name}.log`);
    const worker = await startWorker(traced(oursFile));
    try {
      await oursRun(worker, chain.spec('latency'));
    } finally {
      await worker.stop();
    }
    const bare = median(read(bareFile));
    const ours = median(read(oursFile));
    rows.push({ what: `bare gst-launch-1.0, x264enc ${size.name}`, median: fmt(bare, 1), ratio: '1.00' });
    rows.push({
      what: `ours (media worker), x264enc ${size.name}`,
      median: fmt(ours, 1),
      ratio: ratio(ours, bare),
    });
  }
  return rows;
}

function spawnPython(script: string, args: string[]): ChildProcess {
  return spawn(PYTHON, [join(GLASS, script), ...args], { cwd: GLASS, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function receive(port: number, passphrase: string, seconds: number, send: () => Promise<void>) {
  const receiver = spawnPython('receiver.py', [String(port), passphrase, String(seconds)]);
  let out = '';
  receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((r) => receiver.once('exit', () => r()));
  await new Promise((r) => setTimeout(r, 500));
  await send();
  await done;
  const result = JSON.parse(out) as { ages: number[]; unreadable: number };
  if (result.ages.length < 30)
    throw new Error(`the receiver read ${result.ages.length} marks (${result.unreadable} unreadable)`);
  return result;
}

/**
 * Glass to glass on loopback: a camera stamps the wall clock into each frame as it is captured
 * (simplevideomark), the frame is encoded and sent over SRT (120 ms latency), and the receiver
 * decodes it and reads the mark back (simplevideomarkdetect). Ours: the firmware's consultation
 * and live-out pipelines in the media worker, fed through its encoded tap. Bare: one gst-launch.
 */
async function glassToGlass(dir: string): Promise<{ rows: Row[]; notes: string[] }> {
  const socket = join(dir, 'stamp.sock');
  const size = { width: 1280, height: 720 };
  const camera = spawnPython('stamp_camera.py', [socket, String(size.width), String(size.height), '30']);
  const caps = `video/x-raw,format=I420,width=${size.width},height=${size.height},framerate=30/1`;
  try {
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    const passphrase = 'bench-passphrase';
    const target = { ...size, fps: 30, bitrateKbps: TARGET.bitrateKbps, keyFrameIntervalS: 2 };
    const chain = sourceChain({
      kind: 'elements',
      elements: [
        {
          id: 'shm',
          factory: 'shmsrc',
          props: { 'socket-path': socket, 'is-live': true, 'do-timestamp': true },
        },
        { id: 'caps', factory: 'capsfilter', props: { caps } },
      ],
    });
    const seconds = 8;
    const barePort = await freePort();
    const bareElements: ElementSpec[] = [
      ...chain.elements,
      { id: 'encoder', factory: 'x264enc', props: x264.properties(TARGET) as Record<string, PropValue> },
      ...livePipeline('x', {
        transport: 'srt',
        uri: `srt://127.0.0.1:${barePort}`,
        passphrase,
        latencyMs: 120,
      }).elements.slice(1),
    ];
    const bare = await receive(barePort, passphrase, seconds, async () => {
      const launch = spawn('gst-launch-1.0', ['-q', ...launchArgs(bareElements)], { stdio: 'ignore' });
      setTimeout(() => launch.kill('SIGINT'), (seconds + 1) * 1000);
    });

    const oursPort = await freePort();
    const worker = await startWorker();
    const ours = await receive(oursPort, passphrase, seconds, async () => {
      await worker.startPipeline(consultationSpec({ name: 'consultation', chain, encoder: x264, target }));
      await worker.startPipeline(
        livePipeline('live', {
          transport: 'srt',
          uri: `srt://127.0.0.1:${oursPort}`,
          passphrase,
          latencyMs: 120,
        }),
      );
      await worker.pump(
        { pipeline: 'consultation', element: ELEMENTS.encodedTap },
        { pipeline: 'live', element: 'live-src' },
        'next-key-frame',
      );
    });
    await worker.stop();
    const b = median(bare.ages);
    const o = median(ours.ages);
    return {
      rows: [
        {
          what: 'bare gst-launch-1.0: shmsrc → x264enc → mpegtsmux → srtsink, 720p30',
          median: fmt(b, 0),
          ratio: '1.00',
        },
        {
          what: 'ours: consultation pipeline → encoded tap → live-out pipeline (media worker)',
          median: fmt(o, 0),
          ratio: ratio(o, b),
        },
      ],
      notes: [
        `Glass to glass p90: bare ${fmt(percentile(bare.ages, 90), 0)} ms, ours ${fmt(percentile(ours.ages, 90), 0)} ms; frames read: bare ${bare.ages.length}, ours ${ours.ages.length} (unreadable marks: ${bare.unreadable}, ${ours.unreadable}). SRT's own latency is 120 ms of it.`,
      ],
    };
  } finally {
    camera.kill('SIGTERM');
  }
}

/** From "stop recording" to the last segment closed (EOS through the muxer). */
async function segmentFinalisation(dir: string, runs: number): Promise<Row[]> {
  const size = { width: 1280, height: 720 };
  const caps = `video/x-raw,format=I420,width=${size.width},height=${size.height},framerate=30/1`;
  const elements: ElementSpec[] = [
    { id: 'src', factory: 'videotestsrc', props: { 'is-live': true, pattern: 'ball' } },
    { id: 'encoder', factory: 'x264enc', props: x264.properties(TARGET) as Record<string, PropValue> },
    { id: 'parse', factory: 'h264parse' },
  ];
  const split = recordingPipeline({ name: 'x', dir: 'D', segmentS: 30 }).elements.filter(
    (e) => e.id !== 'rec-src',
  );
  const bareTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = join(dir, `bare-${i}`);
    mkdirSync(out, { recursive: true });
    const props = split.map((e) =>
      e.id === 'rec-split' ? { ...e, props: { ...e.props, location: `${out}/segment-%05d.mp4` } } : e,
    );
    const args = launchArgs([...elements, ...props], new Map([['encoder', caps]]));
    const child = spawn('gst-launch-1.0', ['-e', '-q', ...args], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 4000));
    const t0 = performance.now();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT');
    await exited;
    bareTimes.push(performance.now() - t0);
  }
  const worker = await startWorker();
  const oursTimes: number[] = [];
  try {
    const chain = sourceChain({ kind: 'elements', elements: [elements[0]!] });
    await worker.startPipeline(
      consultationSpec({
        name: 'consultation',
        chain,
        encoder: x264,
        target: { ...size, fps: 30, bitrateKbps: TARGET.bitrateKbps, keyFrameIntervalS: 2 },
      }),
    );
    for (let i = 0; i < runs; i++) {
      const out = join(dir, `ours-${i}`);
      mkdirSync(out, { recursive: true });
      await worker.startPipeline(recordingPipeline({ name: 'recording', dir: out, segmentS: 30 }));
      await worker.pump(
        { pipeline: 'consultation', element: ELEMENTS.encodedTap },
        { pipeline: 'recording', element: 'rec-src' },
      );
      await new Promise((r) => setTimeout(r, 4000));
      let closedAt = 0;
      const unsubscribe = worker.onBusEvent((e) => {
        if (e.pipeline === 'recording' && e.kind === 'segment-closed') closedAt = performance.now();
      });
      const t0 = performance.now();
      await worker.finishPipeline('recording');
      const replyAt = performance.now();
      for (let w = 0; w < 100 && closedAt === 0; w++) await new Promise((r) => setTimeout(r, 10));
      unsubscribe();
      if (closedAt === 0) throw new Error('the last segment never closed');
      oursTimes.push(Math.max(closedAt, replyAt) - t0);
    }
  } finally {
    await worker.stop();
  }
  const b = median(bareTimes);
  const o = median(oursTimes);
  return [
    {
      what: 'bare gst-launch-1.0 -e: SIGINT → process exit (EOS through splitmuxsink, then teardown)',
      median: fmt(b, 0),
      ratio: '1.00',
    },
    {
      what: 'ours: finish request → EOS reply and the last segment-closed event (recording pipeline fed from the tap)',
      median: fmt(o, 0),
      ratio: ratio(o, b),
    },
  ];
}

export async function benchVideo(dir: string) {
  mkdirSync(dir, { recursive: true });
  const worker = await startWorker();
  let encode: { fps: Row[]; cpu: Row[] };
  try {
    encode = await encodeRows(worker, 3);
  } finally {
    await worker.stop();
  }
  const latency = await encoderLatency(dir);
  const glass = await glassToGlass(dir);
  const finalisation = await segmentFinalisation(dir, 3);
  rmSync(dir, { recursive: true, force: true });
  return { ...encode, latency, glass, finalisation };
}

// `node --import tsx bench/video.ts` runs this part alone.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchVideo(join('/tmp', `video-bench-${process.pid}`)), null, 2));
}
