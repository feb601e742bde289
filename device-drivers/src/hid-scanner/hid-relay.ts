import { createConnection, type Socket } from 'node:net';
import type { HidDeviceInfo, HidOpener, HidReportSource } from './hid-device.ts';

/**
 * HID input reports relayed over a Unix stream socket: for a scanner that is not on this
 * machine's USB (the hardware test rig runs the firmware as a separate process, and its simulated
 * scanner lives in the rig; a USB-over-IP hub would be the same). The driver above is unchanged:
 * this is one more `HidOpener`, like node-hid's.
 *
 * Frames, both ways: type (1 byte), length (2 bytes, big-endian), payload.
 * - 'I' relay → us, first on every connection: the device as JSON (`HidDeviceInfo` without
 *   `path`), or `null` when nothing is plugged in.
 * - 'R' relay → us: one input report.
 * - 'O' us → relay: open (stream reports on this connection); without it the relay only answers 'I'.
 * The relay closes the connection when the device goes away (an unplug).
 */

export class HidRelayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HidRelayError';
  }
}

export type RelayFrame =
  | { type: 'info'; device: Omit<HidDeviceInfo, 'path'> | null }
  | { type: 'report'; report: Uint8Array }
  | { type: 'open' };

const TYPE = { info: 0x49, report: 0x52, open: 0x4f } as const;
const MAX_PAYLOAD = 0xffff;

export function encodeRelayFrame(frame: RelayFrame): Uint8Array {
  const payload =
    frame.type === 'info'
      ? new TextEncoder().encode(JSON.stringify(frame.device))
      : frame.type === 'report'
        ? frame.report
        : new Uint8Array(0);
  if (payload.length > MAX_PAYLOAD)
    throw new HidRelayError(`frame payload of ${payload.length} bytes is too long`);
  const out = new Uint8Array(3 + payload.length);
  out[0] = TYPE[frame.type];
  out[1] = payload.length >> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

function isDeviceInfo(value: unknown): value is Omit<HidDeviceInfo, 'path'> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isInteger(v['vendorId']) &&
    Number.isInteger(v['productId']) &&
    (v['serialNumber'] === undefined || typeof v['serialNumber'] === 'string') &&
    (v['product'] === undefined || typeof v['product'] === 'string') &&
    (v['usagePage'] === undefined || Number.isInteger(v['usagePage'])) &&
    (v['usage'] === undefined || Number.isInteger(v['usage']))
  );
}

/**
 * Splits a byte stream into frames: whole frames out, the unfinished tail kept. A frame that
 * cannot be right (unknown type, bad device JSON) throws: the stream cannot be trusted after it.
 */
export class RelayFrameReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): RelayFrame[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const frames: RelayFrame[] = [];
    let at = 0;
    while (joined.length - at >= 3) {
      const type = joined[at] as number;
      const length = ((joined[at + 1] as number) << 8) | (joined[at + 2] as number);
      if (type !== TYPE.info && type !== TYPE.report && type !== TYPE.open)
        throw new HidRelayError(`unknown relay frame type 0x${type.toString(16).padStart(2, '0')}`);
      if (joined.length - at - 3 < length) break;
      const payload = joined.slice(at + 3, at + 3 + length);
      at += 3 + length;
      if (type === TYPE.report) frames.push({ type: 'report', report: payload });
      else if (type === TYPE.open) frames.push({ type: 'open' });
      else {
        let device: unknown;
        try {
          device = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
        } catch {
          throw new HidRelayError('the relay sent device information that is not JSON');
        }
        if (device !== null && !isDeviceInfo(device))
          throw new HidRelayError('the relay sent device information without numeric vendorId/productId');
        frames.push({ type: 'info', device });
      }
    }
    this.buffer = joined.slice(at);
    return frames;
  }
}

class RelaySource implements HidReportSource {
  readonly closed: Promise<Error | null>;
  private settle!: (value: Error | null) => void;
  private closing = false;
  private readonly listeners = new Set<(report: Uint8Array) => void>();

  constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
    socket.on('close', () => this.settle(this.closing ? null : new Error('could not read from HID device')));
    socket.on('error', () => undefined); // 'close' follows and settles
  }

  onReport(listener: (report: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  deliver(report: Uint8Array): void {
    for (const l of this.listeners) l(report);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.socket.destroy();
    await this.closed;
  }
}

/** Connects, reads the relay's 'I' frame; resolves with it and the connection. */
function connect(
  path: string,
  timeoutMs: number,
): Promise<{
  socket: Socket;
  reader: RelayFrameReader;
  info: RelayFrame & { type: 'info' };
  rest: RelayFrame[];
}> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const reader = new RelayFrameReader();
    const timer = setTimeout(
      () => fail(new HidRelayError(`the HID relay at ${path} did not answer`)),
      timeoutMs,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    const onData = (chunk: Buffer) => {
      let frames: RelayFrame[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        return fail(error as Error);
      }
      const [first, ...rest] = frames;
      if (!first) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      if (first.type !== 'info')
        return fail(new HidRelayError('the HID relay did not start with device information'));
      resolve({ socket, reader, info: first, rest });
    };
    socket.on('data', onData);
  });
}

export class HidRelayOpener implements HidOpener {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 2_000,
  ) {}

  async list(): Promise<HidDeviceInfo[]> {
    try {
      const { socket, info } = await connect(this.socketPath, this.timeoutMs);
      socket.destroy();
      return info.device ? [{ ...info.device, path: this.socketPath }] : [];
    } catch {
      return []; // no relay listening: nothing plugged in
    }
  }

  async open(path: string): Promise<HidReportSource> {
    const { socket, reader, info, rest } = await connect(path, this.timeoutMs);
    if (!info.device) {
      socket.destroy();
      throw new HidRelayError('no device behind the HID relay');
    }
    const source = new RelaySource(socket);
    const take = (frames: RelayFrame[]) => {
      for (const frame of frames) if (frame.type === 'report') source.deliver(frame.report);
    };
    take(rest);
    socket.on('data', (chunk: Buffer) => {
      try {
        take(reader.push(chunk));
      } catch {
        socket.destroy(); // a stream out of step cannot be resynchronised: reconnect
      }
    });
    socket.write(encodeRelayFrame({ type: 'open' }));
    return source;
  }
}
