import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort, waitFor } from './free-port.ts';
import { RigProcess } from './process.ts';

/** The consultation room every rig Janus holds (the terminal's config and the specialist use it). */
export const RIG_ROOM = 1234;

/** Where Debian installs Janus's modules (one multiarch directory per architecture). */
function janusLibDir(): string {
  const root = '/usr/lib';
  for (const triplet of readdirSync(root)) {
    const dir = join(root, triplet, 'janus');
    if (existsSync(join(dir, 'plugins'))) return dir;
  }
  throw new Error('Janus is not installed (Debian package janus): no /usr/lib/<arch>/janus/plugins');
}

/**
 * A data centre's WebRTC media server: a real Janus (Debian's `janus`) on loopback with only the
 * VideoRoom plugin and the WebSocket and HTTP transports, one consultation room of H.264 and Opus.
 * Its ICE offers loopback candidates only, so media stays on this machine. Stopping it is a media
 * server going down; starting it again brings the room back, empty.
 */
export class JanusMediaServer {
  private readonly process: RigProcess;

  private constructor(
    readonly dc: 'A' | 'B',
    readonly wsPort: number,
    readonly httpPort: number,
    rtpPorts: { min: number; max: number },
    dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
    const lib = janusLibDir();
    const transports = readdirSync(join(lib, 'transports'));
    const plugins = readdirSync(join(lib, 'plugins'));
    // Janus loads every module in its folders unless told not to: all but the ones the rig uses.
    const allBut = (all: string[], keep: string[]) =>
      all.filter((f) => f.endsWith('.so') && !keep.some((k) => f.includes(k))).join(',');
    writeFileSync(
      join(dir, 'janus.jcfg'),
      `general: {
  configs_folder = "${dir}"
  plugins_folder = "${join(lib, 'plugins')}"
  transports_folder = "${join(lib, 'transports')}"
  events_folder = "${join(lib, 'events')}"
  loggers_folder = "${join(lib, 'loggers')}"
  debug_level = 4
  debug_timestamps = true
  server_name = "rig-dc-${dc}"
  session_timeout = 60
}
media: {
  rtp_port_range = "${rtpPorts.min}-${rtpPorts.max}"
}
nat: {
  nice_debug = false
  ice_enforce_list = "127.0.0.1"
  ignore_mdns = true
}
plugins: {
  disable = "${allBut(plugins, ['videoroom'])}"
}
transports: {
  disable = "${allBut(transports, ['websockets', 'http'])}"
}
events: {
  broadcast = false
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
`,
    );
    writeFileSync(
      join(dir, 'janus.transport.websockets.jcfg'),
      `general: {
  json = "plain"
  ws = true
  ws_port = ${wsPort}
  ws_ip = "127.0.0.1"
  wss = false
}
admin: {
  admin_ws = false
  admin_wss = false
}
`,
    );
    writeFileSync(
      join(dir, 'janus.transport.http.jcfg'),
      `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
cors: {
}
`,
    );
    writeFileSync(
      join(dir, 'janus.plugin.videoroom.jcfg'),
      `general: {
}
room-${RIG_ROOM}: {
  description = "Duty specialist (rig, data centre ${dc})"
  publishers = 6
  bitrate = 4000000
  fir_freq = 10
  audiocodec = "opus"
  videocodec = "h264"
  h264_profile = "42e01f"
  audiolevel_event = false
  notify_joining = true
}
`,
    );
    this.process = new RigProcess(
      `janus-${dc}`,
      'janus',
      ['--config', join(dir, 'janus.jcfg'), '--configs-folder', dir, '--disable-colors'],
      join(dir, 'janus.log'),
    );
  }

  static async start(dc: 'A' | 'B', dir: string): Promise<JanusMediaServer> {
    const [wsPort, httpPort, rtp] = [await freePort(), await freePort(), await freePort()];
    // Ports for RTP near a free one; Janus picks from the range and retries a taken port.
    const server = new JanusMediaServer(dc, wsPort, httpPort, { min: rtp, max: rtp + 200 }, dir);
    await server.start();
    return server;
  }

  get ws(): string {
    return `ws://127.0.0.1:${this.wsPort}`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.httpPort}/janus`;
  }

  get running(): boolean {
    return this.process.running;
  }

  /**
   * Starts Janus and waits for both its APIs. Janus 1.1.2 now and then stops while loading its
   * transports (seen once in CI: the log ends after the WebSocket transport, HTTP never comes):
   * such a start is killed and tried once more.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.process.start();
      try {
        await waitFor(
          async () => (await canConnect(this.wsPort)) && (await canConnect(this.httpPort)),
          `Janus of data centre ${this.dc}`,
        );
        return;
      } catch (error) {
        await this.process.stop('SIGKILL');
        if (attempt >= 2) throw error;
      }
    }
  }

  /** Stops it (SIGKILL: a crash or power loss of the media server, no goodbye to anyone). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process.stop(signal);
  }
}

/** One participant of a VideoRoom as Janus lists it. */
export interface RoomParticipant {
  id: number;
  display: string | null;
  publisher: boolean;
}

/**
 * Who is in a room, asked through Janus's HTTP API (`listparticipants`), as anyone outside the
 * rig can ask it: a session, a VideoRoom handle, the request, and the session destroyed again.
 */
export async function roomParticipants(http: string, room: number): Promise<RoomParticipant[]> {
  const call = async (path: string, body: object) => {
    const response = await fetch(`${http}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }),
    });
    const reply = (await response.json()) as {
      janus: string;
      data?: { id: number };
      error?: { reason: string };
      plugindata?: { data: { participants?: RoomParticipant[]; error?: string } };
    };
    if (reply.janus === 'error') throw new Error(`Janus at ${http}: ${reply.error?.reason}`);
    return reply;
  };
  const session = (await call('', { janus: 'create' })).data?.id;
  try {
    const handle = (await call(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data
      ?.id;
    const data = (
      await call(`/${session}/${handle}`, { janus: 'message', body: { request: 'listparticipants', room } })
    ).plugindata?.data;
    if (!data?.participants) throw new Error(`Janus at ${http}: room ${room}: ${data?.error ?? 'no answer'}`);
    return data.participants;
  } finally {
    await call(`/${session}`, { janus: 'destroy' }).catch(() => {});
  }
}
