import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import type { LinkShape } from './link-shape.ts';
import { NFT } from './shaped-link.ts';

/** The UDP ports the terminal's call media uses (its config's call.udpPorts). */
export interface PortRange {
  min: number;
  max: number;
}

/**
 * The county link as a call's media meets it: the terminal's call media (UDP, on its own port
 * range, to and from the media servers on loopback) is dropped at random (`lossPercent`, each way)
 * and policed to `rateKbit` each way, by nftables rules on this machine's output path that match
 * only the terminal's ports. The specialist's own media, on other ports, is not touched: the
 * province end is on the province's network.
 *
 * A policer drops what exceeds the rate (a 100 ms burst allowed), as a full bottleneck queue does
 * for real-time media. The link's one-way delay is not applied to UDP here: this kernel has no netem,
 * and the data centres' delay relays carry TCP only.
 *
 * Needs root (nft). Without a shape the table does not exist.
 */
export class CallLink {
  shape: LinkShape | null = null;
  private readonly table = `telemed_call_${randomBytes(3).toString('hex')}`;

  constructor(readonly ports: PortRange) {}

  /** A block of 100 ports for a rig's terminal, unlikely to meet another rig's. */
  static randomPorts(): PortRange {
    const min = 40_000 + randomInt(0, 200) * 100;
    return { min, max: min + 99 };
  }

  apply(shape: LinkShape): void {
    const range = `${this.ports.min}-${this.ports.max}`;
    const rules: string[] = [];
    for (const direction of ['sport', 'dport']) {
      const match = `udp ${direction} ${range}`;
      const perTenThousand = Math.round(shape.lossPercent * 100);
      if (perTenThousand > 0) rules.push(`${match} numgen random mod 10000 < ${perTenThousand} drop`);
      if (shape.rateKbit !== null) {
        const bytesPerSecond = Math.round((shape.rateKbit * 1000) / 8);
        // A bucket of 100 ms (as the uploads' tbf queues 100 ms), and never less than 8 kB: a
        // DTLS handshake's flight (certificates) comes as one burst, and a smaller bucket drops
        // it every time it is resent, so the call never connects (seen at 400 kbit/s).
        const burst = Math.max(8000, Math.round(bytesPerSecond / 10));
        rules.push(`${match} limit rate over ${bytesPerSecond} bytes/second burst ${burst} bytes drop`);
      }
    }
    this.nft(
      `table inet ${this.table}\ndelete table inet ${this.table}\ntable inet ${this.table} {\n  chain out {\n    type filter hook output priority 0;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`,
    );
    this.shape = shape;
  }

  clear(): void {
    if (this.shape === null) return;
    this.nft(`table inet ${this.table}\ndelete table inet ${this.table}\n`);
    this.shape = null;
  }

  private nft(input: string): void {
    try {
      execFileSync(NFT, ['-f', '-'], { input, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`shaping the call's media needs root (nft): ${stderr || (error as Error).message}`);
    }
  }
}
