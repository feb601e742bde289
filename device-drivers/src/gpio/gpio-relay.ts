import { createConnection, type Socket } from 'node:net';
import { GpioError, type GpioLine, type GpioLineRequest, type GpioOpener } from './gpio-line.ts';

/**
 * GPIO lines relayed over a Unix stream socket, for a board whose lines this process cannot reach
 * directly: the hardware test rig (it runs the firmware as its own process and simulates the
 * lines), or a GPIO expander served by another daemon. One connection per line; messages are
 * JSON, one per line of text. Levels on the wire are physical; polarity is applied here.
 *
 * us → relay: `{"open":{"line":N,"direction":"in"|"out"}}` first, then `{"write":0|1}` (outputs).
 * relay → us: `{"level":0|1}` at open and at every change of an input, or `{"error":"why"}` (the
 * line cannot be had; the relay then closes the connection).
 */
export type RelayMessage =
  | { open: { line: number; direction: 'in' | 'out' } }
  | { write: 0 | 1 }
  | { level: 0 | 1 }
  | { error: string };

export class GpioRelayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpioRelayError';
  }
}

const isBit = (v: unknown): v is 0 | 1 => v === 0 || v === 1;

/** One message from one line of text; throws {@link GpioRelayError} naming what is wrong. */
export function parseRelayMessage(text: string): RelayMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GpioRelayError('a GPIO relay message is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GpioRelayError('a GPIO relay message must be a JSON object');
  const m = value as Record<string, unknown>;
  const keys = Object.keys(m);
  if (keys.length !== 1)
    throw new GpioRelayError(`a GPIO relay message has exactly one key (got ${keys.length})`);
  if ('level' in m) {
    if (!isBit(m['level'])) throw new GpioRelayError('level must be 0 or 1');
    return { level: m['level'] };
  }
  if ('write' in m) {
    if (!isBit(m['write'])) throw new GpioRelayError('write must be 0 or 1');
    return { write: m['write'] };
  }
  if ('error' in m) {
    if (typeof m['error'] !== 'string') throw new GpioRelayError('error must be a string');
    return { error: m['error'] };
  }
  if ('open' in m) {
    const o = m['open'] as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || !Number.isInteger(o['line']) || (o['line'] as number) < 0)
      throw new GpioRelayError('open.line must be a whole number ≥ 0');
    if (o['direction'] !== 'in' && o['direction'] !== 'out')
      throw new GpioRelayError("open.direction must be 'in' or 'out'");
    return { open: { line: o['line'] as number, direction: o['direction'] } };
  }
  throw new GpioRelayError(`unknown GPIO relay message ${JSON.stringify(keys[0])}`);
}

/** Splits a text stream into messages, keeping an unfinished line. */
export class RelayLineReader {
  private rest = '';

  push(chunk: string): RelayMessage[] {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    if (this.rest.length > 4096) throw new GpioRelayError('a GPIO relay line is longer than 4096 characters');
    return lines.filter((l) => l.trim()).map(parseRelayMessage);
  }
}

export class GpioRelayOpener implements GpioOpener {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 2_000,
  ) {}

  open(request: GpioLineRequest): Promise<GpioLine> {
    const invert = (v: 0 | 1): 0 | 1 => (request.activeLow ? ((1 - v) as 0 | 1) : v);
    return new Promise((resolve, reject) => {
      const socket: Socket = createConnection(this.socketPath);
      const reader = new RelayLineReader();
      const listeners = new Set<(value: 0 | 1, atMs: number) => void>();
      let level: 0 | 1 | null = null;
      let settled = false;
      let closed = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(
          new GpioError(
            'OPEN_FAILED',
            request.line,
            `GPIO line ${request.line} cannot be opened: ${message}`,
          ),
        );
      };
      const timer = setTimeout(() => fail('the GPIO relay did not answer'), this.timeoutMs);
      socket.on('error', (error) => fail(error.message));
      socket.setEncoding('utf8');
      const line: GpioLine = {
        line: request.line,
        read: async () => {
          if (level === null || closed)
            throw new GpioError('IO_FAILED', request.line, `GPIO line ${request.line} is closed`);
          return invert(level);
        },
        write: async (value) => {
          if (closed) throw new GpioError('IO_FAILED', request.line, `GPIO line ${request.line} is closed`);
          socket.write(`${JSON.stringify({ write: invert(value) })}\n`);
        },
        watch: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        close: async () => {
          if (closed) return;
          closed = true;
          if (request.direction === 'out') socket.write(`${JSON.stringify({ write: invert(0) })}\n`);
          socket.end();
        },
      };
      socket.on('data', (chunk: string) => {
        let messages: RelayMessage[];
        try {
          messages = reader.push(chunk);
        } catch (error) {
          return fail((error as Error).message);
        }
        for (const m of messages) {
          if ('error' in m) return fail(m.error);
          if (!('level' in m)) continue;
          const changed = level !== null && m.level !== level;
          level = m.level;
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve(line);
          } else if (changed && !closed) for (const l of listeners) l(invert(m.level), performance.now());
        }
      });
      socket.write(`${JSON.stringify({ open: { line: request.line, direction: request.direction } })}\n`);
    });
  }
}
