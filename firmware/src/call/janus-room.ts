import type { JanodeConnection, JanodeSession } from 'janode';
import type { VideoRoomHandle } from 'janode/plugins/videoroom';
import type { Logger } from 'pino';
import { SignallingGuard } from './signalling-guard.ts';

/** janode, loaded on the first call (it brings a native module; most days a terminal makes none). */
type JanodeModules = {
  Janode: typeof import('janode')['default'];
  VideoRoomPlugin: typeof import('janode/plugins/videoroom')['default'];
};
let loaded: Promise<JanodeModules> | null = null;
const janode = (): Promise<JanodeModules> => {
  loaded ??= Promise.all([import('janode'), import('janode/plugins/videoroom')]).then(([j, v]) => ({
    Janode: j.default,
    VideoRoomPlugin: v.default,
  }));
  return loaded;
};

/** A publisher in the room as the media server announces it. */
export interface RoomPublisher {
  feed: number;
  display: string;
  /** Its picture comes in several sizes (simulcast): a subscriber can choose the one its link carries. */
  simulcast: boolean;
}

/** What the room tells the call while it is in it. */
export interface RoomEvents {
  /** Publishers now in the room (on joining, and whenever one starts publishing). */
  publishers(list: RoomPublisher[]): void;
  /** A publisher stopped publishing or left. */
  gone(feed: number): void;
  /** The media server's link or session is gone (server down, network lost): the room is left. */
  closed(reason: string): void;
  /** A message from the server was refused by the signalling guard (malformed or hostile). */
  refused?(reason: string): void;
  /** The server reports a slow link on our publication or subscription (NACKs/loss). */
  slowLink(detail: { feed: number | null; uplink: boolean; lost: number }): void;
}

export class SignallingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignallingError';
  }
}

/** How long any one request to the media server may take: janode itself waits for ever. */
const REQUEST_TIMEOUT_MS = 10_000;

/** `promise`, or a SignallingError naming `what` when the media server has not answered in time. */
async function within<T>(promise: Promise<T>, what: string, ms = REQUEST_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SignallingError(`${what}: nothing from the media server in ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SDP larger than this from a media server is refused (a real one is a few kB). */
const MAX_SDP_BYTES = 64 * 1024;

/** The jsep in a janode reply, checked: a session description of the expected type, bounded. */
export function jsepOf(reply: unknown, type: 'offer' | 'answer', what: string): string {
  const jsep = (reply as { jsep?: unknown } | null)?.jsep as { type?: unknown; sdp?: unknown } | undefined;
  if (!jsep || jsep.type !== type || typeof jsep.sdp !== 'string')
    throw new SignallingError(`${what}: the media server sent no SDP ${type}`);
  if (jsep.sdp.length > MAX_SDP_BYTES)
    throw new SignallingError(
      `${what}: the media server's SDP is ${jsep.sdp.length} bytes (at most ${MAX_SDP_BYTES})`,
    );
  if (!jsep.sdp.startsWith('v=0')) throw new SignallingError(`${what}: the media server's SDP is not SDP`);
  return jsep.sdp;
}

/** Publishers from a janode event, keeping only well-formed entries (feed a number, display a string). */
export function publishersOf(data: unknown): RoomPublisher[] {
  const list = (data as { publishers?: unknown } | null)?.publishers;
  if (!Array.isArray(list)) return [];
  return list.flatMap((p: unknown) => {
    const { feed, display, simulcast, streams } = (p ?? {}) as {
      feed?: unknown;
      display?: unknown;
      simulcast?: unknown;
      streams?: unknown;
    };
    // Janus 1.x says it per stream; 0.x (and janode's legacy field) for the publisher.
    const simulcastStream =
      Array.isArray(streams) &&
      streams.some((s: unknown) => {
        const stream = (s ?? {}) as { type?: unknown; simulcast?: unknown };
        return stream.type === 'video' && stream.simulcast === true;
      });
    return typeof feed === 'number' && Number.isSafeInteger(feed)
      ? [
          {
            feed,
            display: typeof display === 'string' ? display.slice(0, 128) : '',
            simulcast: simulcast === true || simulcastStream,
          },
        ]
      : [];
  });
}

const feedOf = (data: unknown): number | null => {
  const feed = (data as { feed?: unknown } | null)?.feed;
  return typeof feed === 'number' ? feed : null;
};

/** A subscription to one publisher: the server's offer, to be answered by our receiving webrtcbin. */
export interface Subscription {
  feed: number;
  offerSdp: string;
  start(answerSdp: string): Promise<void>;
  /** Asks the server for simulcast layer `layer` of the picture (0 smallest); it switches at a key frame. */
  selectLayer(layer: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The terminal in a Janus VideoRoom, through janode: one connection and session per room visit, a
 * publisher handle (joined with the device ID as display name: outside tests look for it) and a
 * subscriber handle per far-end publisher. Media is not here: SDP goes to the media worker's
 * webrtcbin and back.
 *
 * INVARIANTS: `closed` is told at most once; after `leave` nothing is told.
 */
export class JanusRoom {
  private over = false;
  private readonly subscriptions = new Set<Subscription>();
  /** Resolves when the media server says our publication's WebRTC is up (ICE and DTLS done). */
  private readonly publisherUp: Promise<void>;

  private constructor(
    private readonly modules: JanodeModules,
    private readonly guard: SignallingGuard,
    private readonly connection: JanodeConnection,
    private readonly session: JanodeSession,
    private readonly publisher: VideoRoomHandle,
    readonly feed: number,
    readonly initial: RoomPublisher[],
    private readonly events: RoomEvents,
    private readonly log: Logger,
  ) {
    const { Janode, VideoRoomPlugin } = modules;
    this.publisherUp = new Promise((resolve) =>
      publisher.once(Janode.EVENT.HANDLE_WEBRTCUP, () => resolve()),
    );
    const close = (reason: string) => () => this.close(reason);
    connection.once(Janode.EVENT.CONNECTION_CLOSED, close('the media server closed the connection'));
    connection.once(Janode.EVENT.CONNECTION_ERROR, close('the connection to the media server failed'));
    session.once(Janode.EVENT.SESSION_DESTROYED, close('the media server ended the session'));
    publisher.once(Janode.EVENT.HANDLE_DETACHED, close('the media server detached the call'));
    publisher.on(Janode.EVENT.HANDLE_HANGUP, (data: unknown) =>
      this.close(
        `the media server hung up (${String((data as { reason?: unknown })?.reason ?? 'no reason')})`,
      ),
    );
    const E = VideoRoomPlugin.EVENT;
    // Only a publisher's announcement counts: one that has just joined (janode's PUB_PEER_JOINED)
    // publishes nothing yet, and subscribing to it failed ("No such feed") and waited a second to
    // try again; the announcement also says which sizes its picture comes in (simulcast).
    publisher.on(E.VIDEOROOM_PUB_LIST, (data: unknown) =>
      this.tell(() => events.publishers(publishersOf(data))),
    );
    for (const event of [E.VIDEOROOM_UNPUBLISHED, E.VIDEOROOM_LEAVING, E.VIDEOROOM_KICKED])
      publisher.on(event, (data: unknown) => {
        const feed = feedOf(data);
        if (feed === this.feed && event === E.VIDEOROOM_KICKED)
          this.close('the media server removed the terminal from the room');
        else if (feed !== null && feed !== this.feed) this.tell(() => events.gone(feed));
      });
    publisher.on(Janode.EVENT.HANDLE_SLOWLINK, (data: unknown) => {
      const d = (data ?? {}) as { uplink?: unknown; lost?: unknown };
      this.tell(() =>
        events.slowLink({
          feed: null,
          uplink: d.uplink === true,
          lost: typeof d.lost === 'number' ? d.lost : 0,
        }),
      );
    });
  }

  /** Connects, creates a session, joins `room` as a publisher named `display`. */
  static async join(o: {
    url: string;
    room: number;
    display: string;
    events: RoomEvents;
    log: Logger;
  }): Promise<JanusRoom> {
    const modules = await janode();
    const { Janode, VideoRoomPlugin } = modules;
    // janode prints to the console; the terminal logs through pino only.
    Janode.Logger.setLevel('none');
    // janode trusts what the server sends; the guard passes on only what cannot crash it.
    const guard = await SignallingGuard.start(o.url, (reason) => {
      o.log.warn({ reason }, 'a message from the media server was refused');
      o.events.refused?.(reason);
    });
    let connection: JanodeConnection;
    try {
      connection = await Janode.connect({ address: { url: guard.url }, retry_time_secs: 1, max_retries: 1 });
    } catch (error) {
      await guard.stop();
      throw new SignallingError(
        `cannot reach the media server: ${guard.upstreamError ?? (error as Error).message}`,
      );
    }
    try {
      const session = await within(connection.create(15), 'creating a session');
      const publisher = await within(session.attach(VideoRoomPlugin), 'attaching to the VideoRoom');
      const joined = await within(publisher.joinPublisher({ room: o.room, display: o.display }), 'joining');
      const feed = feedOf(joined);
      if (feed === null) throw new SignallingError('the media server did not say who we are in the room');
      return new JanusRoom(
        modules,
        guard,
        connection,
        session,
        publisher,
        feed,
        publishersOf(joined),
        o.events,
        o.log,
      );
    } catch (error) {
      await connection.close().catch(() => {});
      await guard.stop();
      if (guard.upstreamError)
        throw new SignallingError(`cannot reach the media server: ${guard.upstreamError}`);
      throw error instanceof SignallingError
        ? error
        : new SignallingError(`joining room ${o.room}: ${(error as Error).message}`);
    }
  }

  /** Our offer (picture and sound) in, the server's answer out. */
  async publish(offerSdp: string, o: { audio: boolean; bitrateKbps: number }): Promise<string> {
    const reply = await within(
      this.publisher.configure({
        audio: o.audio,
        video: true,
        bitrate: o.bitrateKbps * 1000,
        jsep: { type: 'offer', sdp: offerSdp },
      }),
      'publishing',
    );
    return jsepOf(reply, 'answer', 'publishing');
  }

  /** Resolves once media flows to the server (its webrtcup); rejects after `timeoutMs`. */
  async mediaUp(timeoutMs: number): Promise<void> {
    await within(this.publisherUp, 'no media reached the media server (ICE or DTLS failed)', timeoutMs);
  }

  /** A subscription to `feed`: the server's offer; `start` with our answer to receive. */
  async subscribe(room: number, feed: number): Promise<Subscription> {
    const { Janode, VideoRoomPlugin } = this.modules;
    const handle = await within(this.session.attach(VideoRoomPlugin), 'attaching a subscription');
    try {
      const offerSdp = jsepOf(
        await within(handle.joinSubscriber({ room, feed }), `subscribing to ${feed}`),
        'offer',
        `subscribing to ${feed}`,
      );
      const subscription: Subscription = {
        feed,
        offerSdp,
        start: async (answerSdp) => {
          await within(
            handle.start({ jsep: { type: 'answer', sdp: answerSdp } }),
            'starting the subscription',
          );
        },
        selectLayer: async (layer) => {
          await within(handle.configure({ sc_substream_layer: layer }), `asking for picture layer ${layer}`);
        },
        close: async () => {
          this.subscriptions.delete(subscription);
          await handle.detach().catch(() => {});
        },
      };
      this.subscriptions.add(subscription);
      handle.on(Janode.EVENT.HANDLE_SLOWLINK, (data: unknown) => {
        const d = (data ?? {}) as { uplink?: unknown; lost?: unknown };
        this.tell(() =>
          this.events.slowLink({
            feed,
            uplink: d.uplink === true,
            lost: typeof d.lost === 'number' ? d.lost : 0,
          }),
        );
      });
      return subscription;
    } catch (error) {
      await handle.detach().catch(() => {});
      throw error instanceof SignallingError
        ? error
        : new SignallingError(`subscribing to ${feed}: ${(error as Error).message}`);
    }
  }

  /** Leaves the room and closes the connection; nothing more is told. */
  async leave(): Promise<void> {
    if (this.over) return;
    this.over = true;
    for (const s of [...this.subscriptions]) await s.close();
    await this.publisher.leave().catch(() => {});
    await this.session.destroy().catch(() => {});
    await this.connection.close().catch(() => {});
    await this.guard.stop();
  }

  private close(reason: string): void {
    if (this.over) return;
    this.over = true;
    this.log.warn({ reason }, 'the call lost its media server');
    void this.connection.close().catch(() => {});
    void this.guard.stop();
    this.events.closed(reason);
  }

  /** Tells the call an event, unless the room was left; a listener's error is logged, not thrown into janode. */
  private tell(fn: () => void): void {
    if (this.over) return;
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, 'a room event could not be handled');
    }
  }
}
