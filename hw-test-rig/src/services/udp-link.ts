import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/**
 * A lossy, slow stretch of network for UDP (SRT) between the terminal and the province's media
 * server: datagrams are dropped with probability `loss` and held for `delayMs` in each direction.
 * One client at a time (one SRT connection). Without root there is no netem; this is the same
 * impairment at the application layer, enough for SRT's own loss and RTT statistics to see it.
 */
export class UdpLink {
  loss = 0;
  delayMs = 0;
  readonly counters = { forwarded: 0, dropped: 0 };
  private client: RemoteInfo | null = null;

  private constructor(
    private readonly front: Socket,
    private readonly back: Socket,
    private readonly targetPort: number,
    private readonly random: () => number,
  ) {
    front.on('message', (msg, from) => {
      this.client = from;
      this.pass(msg, (m) => back.send(m, this.targetPort, '127.0.0.1'));
    });
    back.on('message', (msg) => {
      const client = this.client;
      if (client) this.pass(msg, (m) => front.send(m, client.port, client.address));
    });
  }

  static async start(targetPort: number, random: () => number = Math.random): Promise<UdpLink> {
    const front = createSocket('udp4');
    const back = createSocket('udp4');
    await Promise.all([
      new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r())),
      new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r())),
    ]);
    return new UdpLink(front, back, targetPort, random);
  }

  /** Where the terminal should send (the impaired side). */
  get port(): number {
    return this.front.address().port;
  }

  private pass(msg: Buffer, send: (m: Buffer) => void): void {
    if (this.loss > 0 && this.random() < this.loss) {
      this.counters.dropped++;
      return;
    }
    this.counters.forwarded++;
    if (this.delayMs > 0) setTimeout(() => send(msg), this.delayMs);
    else send(msg);
  }

  stop(): void {
    this.front.close();
    this.back.close();
  }
}
