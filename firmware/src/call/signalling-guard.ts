import type { AddressInfo } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

/** Janus's WebSocket subprotocol. */
const PROTOCOL = 'janus-protocol';
/** A Janus message larger than this is refused (an SDP is a few kB; a room list, tens). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Fields in a VideoRoom event that janode reads as arrays (it calls .map on them). */
const ARRAY_FIELDS = ['publishers', 'participants', 'attendees', 'streams', 'list', 'rooms'] as const;

/**
 * Why a message from the media server is refused, or null when it may go on to janode. janode
 * trusts the server: a frame that is not JSON, or JSON that is not an object, throws inside its
 * WebSocket listener, where nothing catches it (the daemon would stop); a `publishers` that is not
 * an array throws inside its VideoRoom handler. Every such message stops here.
 */
export function refusal(data: RawData, isBinary: boolean): string | null {
  if (isBinary) return 'a binary frame';
  const text = data.toString();
  if (text.length > MAX_MESSAGE_BYTES) return `${text.length} bytes (at most ${MAX_MESSAGE_BYTES})`;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'not a JSON object';
  const m = message as Record<string, unknown>;
  if (typeof m['janus'] !== 'string') return 'no "janus" field';
  for (const id of ['session_id', 'sender'] as const)
    if (m[id] !== undefined && typeof m[id] !== 'number') return `"${id}" is not a number`;
  if (m['transaction'] !== undefined && typeof m['transaction'] !== 'string')
    return '"transaction" is not a string';
  if (m['jsep'] !== undefined) {
    const jsep = m['jsep'] as { type?: unknown; sdp?: unknown } | null;
    if (
      typeof jsep !== 'object' ||
      jsep === null ||
      typeof jsep.type !== 'string' ||
      typeof jsep.sdp !== 'string'
    )
      return '"jsep" is not a session description';
  }
  const plugindata = m['plugindata'];
  if (plugindata !== undefined) {
    if (typeof plugindata !== 'object' || plugindata === null) return '"plugindata" is not an object';
    const data = (plugindata as { data?: unknown }).data;
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      return '"plugindata.data" is not an object';
    for (const field of ARRAY_FIELDS) {
      const value = (data as Record<string, unknown>)[field];
      if (value === undefined) continue;
      if (!Array.isArray(value)) return `"${field}" is not a list`;
      if (value.some((e) => typeof e !== 'object' || e === null))
        return `"${field}" holds something not an object`;
    }
  }
  return null;
}

/**
 * Between janode and a media server: a WebSocket relay on loopback that passes on what janode
 * sends, and what the server sends only when `refusal` finds nothing wrong with it (the message is
 * dropped, counted and told; the call carries on, or fails on a timeout with a clear reason).
 *
 * INVARIANTS: one upstream socket per janode connection, closed with it, either way; nothing is
 * buffered beyond what arrives before the upstream opens.
 */
export class SignallingGuard {
  /** Why the last connection to the media server failed (refused, unreachable), for the caller's error. */
  upstreamError: string | null = null;

  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
  ) {}

  /** A guard in front of `upstream` (ws:// or wss://); `onRefused` hears of each refused message. */
  static async start(upstream: string, onRefused: (reason: string) => void): Promise<SignallingGuard> {
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      maxPayload: MAX_MESSAGE_BYTES,
      handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const guard = new SignallingGuard(server, `ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('connection', (client) => guard.relay(client, upstream, onRefused));
    return guard;
  }

  private relay(client: WebSocket, upstream: string, onRefused: (reason: string) => void): void {
    const server = new WebSocket(upstream, PROTOCOL, { maxPayload: MAX_MESSAGE_BYTES });
    const pending: RawData[] = [];
    const close = () => {
      client.terminate();
      server.terminate();
    };
    client.on('message', (data) => {
      if (server.readyState === WebSocket.OPEN) server.send(data.toString());
      else pending.push(data);
    });
    server.on('error', (error) => {
      this.upstreamError = error.message;
    });
    server.on('open', () => {
      this.upstreamError = null;
      for (const data of pending.splice(0)) server.send(data.toString());
    });
    server.on('message', (data, isBinary) => {
      const why = refusal(data, isBinary);
      if (why) {
        onRefused(why);
        return;
      }
      if (client.readyState === WebSocket.OPEN) client.send(data.toString());
    });
    for (const socket of [client, server]) {
      socket.on('close', close);
      // A frame over maxPayload, a protocol error: the connection ends; janode sees it closed.
      socket.on('error', close);
    }
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
