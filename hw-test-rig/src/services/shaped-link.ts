import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, waitFor } from './free-port.ts';
import type { LinkShape } from './link-shape.ts';
import { RigProcess } from './process.ts';
import { TcpProxy } from './tcp-proxy.ts';

const RELAY = join(import.meta.dirname, 'delay-relay.ts');
/**
 * nftables by its path: under npm, node_modules/.bin comes first on PATH, and a package there
 * (@vercel/nft) is called `nft` too.
 */
export const NFT = existsSync('/usr/sbin/nft') ? '/usr/sbin/nft' : 'nft';
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * The county link between the terminal and the province, made real: a network namespace joined to
 * the rig by a veth pair. The data centres' fault proxies send their upstream traffic across it:
 * proxy → veth (tbf rate, nftables random loss) → the namespace's delay relay → a Unix socket of
 * the rig → Orthanc. Every byte of an upload crosses the veth on one TCP connection, handled by the
 * kernel's own TCP (retransmissions, congestion control) against the shaped interface.
 *
 * Needs root (ip netns, tc, nft). netem is not available on every kernel (this one has no
 * sch_netem): the delay is added by the relay, per chunk, in each direction.
 */
export class ShapedLink {
  shape: LinkShape | null = null;
  private readonly relays: RigProcess[] = [];
  /** The rig's ends of the relays: Unix socket → Orthanc's port. */
  private readonly toOrthanc: TcpProxy[] = [];

  private constructor(
    /** The network namespace and the rig's end of the veth (for `ip netns exec`, `tc -s qdisc`). */
    readonly ns: string,
    readonly hostIf: string,
    private readonly nsIf: string,
    /** The namespace's address: the proxies' upstream while the link is on. */
    readonly nsAddress: string,
    private readonly dir: string,
    private readonly targets: Record<'A' | 'B', () => number>,
  ) {}

  /** The namespace, the veth pair and the relays for both data centres (unshaped until {@link apply}). */
  static async create(dir: string, targets: Record<'A' | 'B', () => number>): Promise<ShapedLink> {
    const id = randomBytes(2).toString('hex');
    const subnet = 1 + (Number.parseInt(id, 16) % 250);
    const link = new ShapedLink(
      `telemed-link-${id}`,
      `tl${id}h`,
      `tl${id}n`,
      `10.199.${subnet}.2`,
      dir,
      targets,
    );
    try {
      ip('netns', 'add', link.ns);
      ip('link', 'add', link.hostIf, 'type', 'veth', 'peer', 'name', link.nsIf);
      ip('link', 'set', link.nsIf, 'netns', link.ns);
      ip('addr', 'add', `10.199.${subnet}.1/30`, 'dev', link.hostIf);
      ip('link', 'set', link.hostIf, 'up');
      ip('netns', 'exec', link.ns, 'ip', 'addr', 'add', `${link.nsAddress}/30`, 'dev', link.nsIf);
      ip('netns', 'exec', link.ns, 'ip', 'link', 'set', link.nsIf, 'up');
      ip('netns', 'exec', link.ns, 'ip', 'link', 'set', 'lo', 'up');
      for (const dc of ['A', 'B'] as const) await link.listenUnix(dc);
    } catch (error) {
      link.destroy();
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`the shaped link needs root (ip netns, veth): ${stderr || (error as Error).message}`);
    }
    return link;
  }

  /** The port of data centre `dc`'s relay on the namespace's address. */
  static port(dc: 'A' | 'B'): number {
    return dc === 'A' ? 18_081 : 18_082;
  }

  /** Where data centre `dc`'s proxy sends its upstream traffic while the link is on. */
  upstream(dc: 'A' | 'B'): string {
    return `http://${this.nsAddress}:${ShapedLink.port(dc)}`;
  }

  /** Unix socket of the rig that the namespace's relay reaches Orthanc through. */
  private unixPath(dc: 'A' | 'B'): string {
    return join(this.dir, `link-${dc}.sock`);
  }

  private async listenUnix(dc: 'A' | 'B'): Promise<void> {
    rmSync(this.unixPath(dc), { force: true });
    this.toOrthanc.push(await TcpProxy.start(this.targets[dc], this.unixPath(dc)));
  }

  /** Shapes the link (replacing any shape before): rate both ways, loss both ways, delay each way. */
  async apply(shape: LinkShape): Promise<void> {
    const tbf = (rateKbit: number) => [
      'root',
      'tbf',
      'rate',
      `${rateKbit}kbit`,
      // 10 ms of the rate (at least two full frames), and at most 100 ms of queue.
      'burst',
      String(Math.max(3028, Math.round((rateKbit * 1000) / 8 / 100))),
      'latency',
      '100ms',
    ];
    for (const [ns, dev] of [
      [null, this.hostIf],
      [this.ns, this.nsIf],
    ] as const) {
      const tc = (...args: string[]) =>
        ns ? ip('netns', 'exec', ns, 'tc', ...args) : execFileSync('tc', args);
      try {
        tc('qdisc', 'del', 'dev', dev, 'root');
      } catch {
        // no qdisc of ours yet
      }
      if (shape.rateKbit !== null) tc('qdisc', 'add', 'dev', dev, ...tbf(shape.rateKbit));
    }
    // Loss on TCP both ways, inside the namespace: what enters and what leaves its relay.
    const perTenThousand = Math.round(shape.lossPercent * 100);
    const rules =
      perTenThousand > 0 ? `meta l4proto tcp numgen random mod 10000 < ${perTenThousand} drop;` : '';
    execFileSync('ip', ['netns', 'exec', this.ns, NFT, '-f', '-'], {
      input: `table inet telemed_link\ndelete table inet telemed_link\ntable inet telemed_link {
  chain in { type filter hook input priority 0; ${rules} }
  chain out { type filter hook output priority 0; ${rules} }
}\n`,
    });
    if (this.shape?.delayMs !== shape.delayMs || this.relays.length === 0)
      await this.startRelays(shape.delayMs);
    this.shape = shape;
  }

  private async startRelays(delayMs: number): Promise<void> {
    await Promise.all(this.relays.splice(0).map((r) => r.stop()));
    for (const dc of ['A', 'B'] as const) {
      const relay = new RigProcess(
        `link-relay-${dc}`,
        'ip',
        [
          'netns',
          'exec',
          this.ns,
          process.execPath,
          '--import',
          'tsx',
          RELAY,
          '--host',
          this.nsAddress,
          '--port',
          String(ShapedLink.port(dc)),
          '--unix',
          this.unixPath(dc),
          '--delay-ms',
          String(delayMs),
        ],
        join(this.dir, `link-relay-${dc}.log`),
      );
      relay.start();
      this.relays.push(relay);
    }
    // Up once the namespace's relays accept connections (across the veth).
    await waitFor(
      async () =>
        (
          await Promise.all(
            (['A', 'B'] as const).map((dc) => canConnect(ShapedLink.port(dc), this.nsAddress)),
          )
        ).every(Boolean),
      'the shaped link relays',
    );
  }

  /** Removes the shape: the link is a bare veth again (the proxies go direct once told so). */
  async clear(): Promise<void> {
    await this.apply({ rateKbit: null, delayMs: 0, lossPercent: 0 });
    this.shape = null;
  }

  async stop(): Promise<void> {
    await Promise.all(this.relays.splice(0).map((r) => r.stop()));
    await Promise.all(this.toOrthanc.splice(0).map((p) => p.stop()));
    this.destroy();
  }

  private destroy(): void {
    try {
      ip('netns', 'del', this.ns);
    } catch {
      // not made
    }
    try {
      ip('link', 'del', this.hostIf);
    } catch {
      // gone with the namespace
    }
  }
}
