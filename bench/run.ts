import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCalls, callsSection } from './calls.ts';
import { benchDocuments } from './documents.ts';
import { benchEndToEnd } from './end-to-end.ts';
import { benchEventLoop } from './event-loop.ts';
import { benchFarEndPicture } from './far-end-picture.ts';
import { benchKillTest } from './kill-test.ts';
import { benchPeripherals } from './peripherals.ts';
import { benchScpDecode } from './scp-decode.ts';
import { machine, table } from './stats.ts';
import { benchStoreCommits } from './store-commits.ts';
import { benchUplinkLink } from './uplink-link.ts';
import { benchVideo } from './video.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const work = mkdtempSync(join(process.env['TELEMED_BENCH_DIR'] ?? tmpdir(), 'telemed-bench-'));
const started = new Date();
try {
  console.error('SCP decode…');
  const decode = benchScpDecode();
  console.error('store commits…');
  const commits = await benchStoreCommits(work);
  console.error('documents…');
  const documents = await benchDocuments(join(work, 'documents'));
  console.error('peripherals (telemed-rig up, ~2 min)…');
  const peripherals = await benchPeripherals(join(work, 'peripherals'));
  console.error('end to end (telemed-rig up, ~2 min)…');
  const e2e = await benchEndToEnd(join(work, 'rig'));
  console.error('event-loop delay under load (telemed-rig up, ~4 min)…');
  const loop = await benchEventLoop(join(work, 'event-loop'));
  console.error('kill test (60 kills, ~2 min)…');
  const kills = await benchKillTest(join(work, 'kill-test'));
  console.error('uplink on the shaped link (telemed-rig up + link, ~2 min)…');
  const link = await benchUplinkLink(join(work, 'link'));
  console.error('video (software encoder, ~3.5 min)…');
  const video = await benchVideo(join(work, 'video'));
  console.error('two-way calls (telemed-rig up + call, ~9 min)…');
  const calls = await benchCalls(join(work, 'calls'));
  console.error("the specialist's picture on the screen (~1 min)…");
  const farEnd = benchFarEndPicture(join(work, 'far-end'));
  const md = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts). Every ratio is against a baseline measured in the same',
    'run on the same machine, so the ratios carry over between machines better than the absolute',
    'figures do. Do not edit by hand.',
    '',
    `Measured ${started.toISOString()} (run took ${Math.round((Date.now() - started.getTime()) / 1000)} s).`,
    '',
    '## Machine',
    '',
    ...Object.entries(machine(work)).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## SCP-ECG decode, per 10 s 12-lead record',
    '',
    table('(ms)', decode.rows),
    ...decode.notes.map((n) => `\n${n}`),
    '',
    '## Store commits per second',
    '',
    'Each commit is its own transaction, as the store makes them; higher is better.',
    '',
    table('(commits/s)', commits),
    '',
    '## From the last YMODEM block to "delivered"',
    '',
    table('(ms)', e2e.latency),
    '',
    '## Daemon memory (RSS)',
    '',
    table('(MiB)', e2e.memory),
    '',
    ...e2e.notes.map((n) => `- ${n}`),
    '',
    "## The daemon's event-loop delay under load",
    '',
    "From the daemon's own health reports (`health.eventLoop`, one window per report), p99 in ms.",
    '',
    table('(ms)', loop.rows),
    '',
    ...loop.notes.map((n) => `- ${n}`),
    '',
    '## Scan to PDF, per A4 page at 200 dpi greyscale',
    '',
    table('(ms)', documents.rows),
    '',
    ...documents.notes.map((n) => `- ${n}`),
    '',
    '## ID card on the reader to the patient on the kiosk',
    '',
    '| what | median (ms) | share of the total |',
    '| --- | ---: | ---: |',
    ...peripherals.card.map((r) => `| ${r.what} | ${r.median} | ${r.ratio} |`),
    '',
    '## Power failure to "store flushed"',
    '',
    table('(ms)', peripherals.power),
    '',
    ...peripherals.notes.map((n) => `- ${n}`),
    '',
    '## Kill test throughput',
    '',
    'How fast the rig can kill the firmware (SIGKILL, a third of them power cuts on the disk image)',
    'while carts, camera and scanner capture, each kill followed by the disk check.',
    '',
    table('(per row)', kills.rows),
    '',
    ...kills.notes.map((n) => `- ${n}`),
    '',
    '## The uplink on a thin link (issue 5 §3)',
    '',
    "The rig's data centres behind `telemed-rig link --rate 10mbit --delay 20ms --loss 0.5%`; the",
    "firmware's Uplink, StudyStore and STOW-RS client run in the bench process against them.",
    '',
    '### Goodput',
    '',
    table('(Mbit/s)', link.goodput),
    '',
    '### A STAT ECG while a video backlog drains, queued to delivered',
    '',
    table('(ms)', link.stat),
    '',
    '### Draining a 1 GB backlog',
    '',
    table('(s)', link.drain),
    '',
    ...link.notes.map((n) => `- ${n}`),
    '',
    '## Video with the software encoder (x264enc, ultrafast, zerolatency, 4 Mbit/s CBR)',
    '',
    'Each "ours" row runs the firmware\'s own pipeline specs in the supervised media worker (a',
    'child process driven over IPC, GStreamer through node-gtk); its baseline is a bare',
    '`gst-launch-1.0` of the same elements and properties in the same run.',
    '',
    '### Encode throughput, 300 frames of a moving test pattern as fast as they go',
    '',
    table('(frames/s)', video.fps),
    '',
    '### CPU share while encoding live at 30 frames/s (100 = one core)',
    '',
    table('(% of a core)', video.cpu),
    '',
    '### Encoder latency, buffer in → encoded buffer out (GStreamer latency tracer, pad probes)',
    '',
    table('(ms)', video.latency),
    '',
    '### Glass to glass on loopback, 720p30 over SRT',
    '',
    'A camera process stamps the wall clock into each frame as it is captured (`simplevideomark`,',
    '`bench/glass/stamp_camera.py`); the receiver (`bench/glass/receiver.py`: SRT listener, decode,',
    '`simplevideomarkdetect`) reads it back from the decoded picture. `timeoverlayparse` is not in',
    "Debian 12's GStreamer 1.22; the machine-readable mark is the equivalent.",
    '',
    table('(ms)', video.glass.rows),
    '',
    ...video.glass.notes.map((n) => `- ${n}`),
    '',
    '### Segment finalisation (stop → last segment closed), 720p30, 4 s into a 30 s segment',
    '',
    table('(ms)', video.finalisation),
    '',
    '### What changes on the board',
    '',
    '- With a hardware encoder (`v4l2h264enc`, `mpph264enc`, `vpuenc_h264`, …) the encode moves',
    '  off the CPU: the CPU-share rows fall to the cost of moving buffers (typically a few % of a',
    '  core), throughput is bounded by the VPU (usually 1080p60 or more), and encoder latency is',
    "  the VPU's (often 1–2 frames, 15–60 ms, not x264's few ms with zerolatency).",
    '  Glass to glass then gains that difference. Supervision ratios should stay near 1.',
    "- On the board, run `npm run bench` from the image's development build, or measure the same",
    '  pipelines by hand: `GST_TRACERS="latency(flags=element)" GST_DEBUG=GST_TRACER:7` with the',
    '  board\'s encoder for latency, `/usr/bin/time -f "%e %U %S" gst-launch-1.0 …` for CPU, and',
    '  `bench/glass/*.py` (python3-gst-1.0) with a real camera pointed at a screen running the',
    '  stamp pattern for true camera-to-screen glass to glass.',
    "- Encoding flat out saturates both cores of this machine, and the worker's 5 s heartbeat can",
    '  then be missed; the bench raises the limit. Live encoding is paced at 30 frames/s and does',
    '  not come near it, but a board falling back to software at 1080p should use 720p.',
    '',
    ...callsSection(calls),
    '',
    "### The specialist's picture on the screen: CPU share of each way to draw it (100 = one core)",
    '',
    table('(% of a core)', farEnd.rows),
    '',
    ...farEnd.notes.map((n) => `- ${n}`),
  ].join('\n');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs/benchmarks.md'), md);
  console.log(md);
} finally {
  rmSync(work, { recursive: true, force: true });
}
