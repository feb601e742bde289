import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeRelayFrame, RelayFrameReader } from '#device-drivers';
import type { SimHidScanner } from './sim-hid-scanner.ts';

/**
 * Serves the rig's simulated scanner over the HID relay socket, so a firmware running as its own
 * process (as `telemed-rig up` runs it) reaches the scanner through `HidRelayOpener`; the
 * scanner's reports are the same bytes it hands an in-process driver.
 */
export class HidRelayServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly path: string,
    private readonly scanner: SimHidScanner,
  ) {
    this.server = createServer((socket) => void this.serve(socket));
  }

  static async start(path: string, scanner: SimHidScanner): Promise<HidRelayServer> {
    rmSync(path, { force: true });
    const relay = new HidRelayServer(path, scanner);
    await new Promise<void>((resolve, reject) => {
      relay.server.once('error', reject);
      relay.server.listen(path, () => resolve());
    });
    return relay;
  }

  private async serve(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const [device] = await this.scanner.list();
    const info = device ? (({ path: _path, ...rest }) => rest)(device) : null;
    socket.write(encodeRelayFrame({ type: 'info', device: info }));
    if (!device) return void socket.end();
    const reader = new RelayFrameReader();
    socket.on('data', (chunk) => {
      let opened = false;
      try {
        opened = reader.push(chunk).some((f) => f.type === 'open');
      } catch {
        return void socket.destroy();
      }
      if (!opened) return;
      void this.scanner.open(device.path).then(
        (source) => {
          source.onReport((report) => socket.write(encodeRelayFrame({ type: 'report', report })));
          void source.closed.then(() => socket.destroy());
          socket.on('close', () => void source.close());
        },
        () => socket.destroy(),
      );
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
