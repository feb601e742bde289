import { createRequire } from 'node:module';
import test from 'ava';

/**
 * The runtime the firmware ships on (docs/runtime.md): Node 24 LTS, and every native package
 * loaded and doing one real thing on it. A native addon built for another Node fails here with
 * NODE_MODULE_VERSION, before any device test could fail in a stranger way.
 */
const require = createRequire(import.meta.url);

test('the tests run on Node 24 LTS', (t) => {
  const major = Number(process.versions.node.split('.')[0]);
  t.is(major, 24, `node ${process.version} at ${process.execPath}: run through npm or .ci/run`);
});

test('better-sqlite3 opens a database and answers', (t) => {
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const db = new Database(':memory:');
  const row = db.prepare('SELECT sqlite_version() AS version, 6 * 7 AS answer').get() as {
    version: string;
    answer: number;
  };
  db.close();
  t.is(row.answer, 42);
  t.regex(row.version, /^3\.\d+\.\d+$/);
});

test('node-gtk runs a GStreamer 1.22 pipeline to its end', (t) => {
  const gi = require('node-gtk') as { require(ns: string, version: string): GstModule };
  const Gst = gi.require('Gst', '1.0');
  Gst.init(null);
  t.regex(Gst.versionString(), /^GStreamer 1\.22\./);
  const pipeline = Gst.parseLaunch('videotestsrc num-buffers=5 ! fakesink');
  pipeline.setState(Gst.State.PLAYING);
  const message = pipeline.getBus().timedPopFiltered(5e9, Gst.MessageType.EOS | Gst.MessageType.ERROR);
  pipeline.setState(Gst.State.NULL);
  t.is(message?.type, Gst.MessageType.EOS);
});

test('serialport lists ports; node-hid lists devices; onoff (epoll) loads', async (t) => {
  const { SerialPort } = require('serialport') as typeof import('serialport');
  t.true(Array.isArray(await SerialPort.list()));
  const hid = require('node-hid') as { devices(): unknown[] };
  t.true(Array.isArray(hid.devices()));
  const { Gpio } = require('onoff') as { Gpio: { accessible: boolean } };
  // This machine has no GPIO chip: the addon loaded, and it says so rather than throwing.
  t.is(typeof Gpio.accessible, 'boolean');
});

interface GstElement {
  setState(state: number): number;
  getBus(): { timedPopFiltered(timeoutNs: number, types: number): { type: number } | null };
}
interface GstModule {
  init(argv: null): void;
  versionString(): string;
  parseLaunch(description: string): GstElement;
  State: { PLAYING: number; NULL: number };
  MessageType: { EOS: number; ERROR: number };
}
