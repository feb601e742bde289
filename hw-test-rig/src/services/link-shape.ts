/** The clinic's link as the rig shapes it: rate (kbit/s, null: the veth's own), one-way delay, loss. */
export interface LinkShape {
  rateKbit: number | null;
  delayMs: number;
  lossPercent: number;
}

export class LinkShapeError extends Error {}

const RATE_UNITS: Record<string, number> = { bit: 0.001, kbit: 1, mbit: 1000, gbit: 1_000_000 };

/**
 * The link command's arguments, in tc's words: `--rate 10mbit` (bit, kbit, mbit, gbit),
 * `--delay 20ms` (ms or s, each way: 20 ms each way is a 40 ms round trip), `--loss 0.5%` (of
 * packets, each way). Every error is reported at once, naming the flag.
 */
export function parseLinkShape(flags: { rate?: string; delay?: string; loss?: string }): LinkShape {
  const errors: string[] = [];
  let rateKbit: number | null = null;
  if (flags.rate !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/i.exec(flags.rate.trim());
    const kbit = m ? Number(m[1]) * (RATE_UNITS[m[2]!.toLowerCase()] ?? Number.NaN) : Number.NaN;
    if (!(kbit >= 8 && kbit <= 10_000_000))
      errors.push(`--rate ${flags.rate}: a rate from 8kbit to 10gbit, as tc writes it (10mbit, 512kbit)`);
    else rateKbit = Math.round(kbit);
  }
  let delayMs = 0;
  if (flags.delay !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(flags.delay.trim());
    const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : Number.NaN;
    if (!(ms >= 0 && ms <= 10_000)) errors.push(`--delay ${flags.delay}: 0ms to 10s each way (20ms)`);
    else delayMs = ms;
  }
  let lossPercent = 0;
  if (flags.loss !== undefined) {
    const m = /^(\d+(?:\.\d+)?)%?$/.exec(flags.loss.trim());
    const pct = m ? Number(m[1]) : Number.NaN;
    if (!(pct >= 0 && pct <= 50)) errors.push(`--loss ${flags.loss}: 0% to 50% of packets (0.5%)`);
    else lossPercent = pct;
  }
  if (errors.length > 0) throw new LinkShapeError(errors.join('; '));
  return { rateKbit, delayMs, lossPercent };
}

export function describeLink(shape: LinkShape | null): string {
  if (!shape) return 'direct (not shaped)';
  const rate = shape.rateKbit === null ? 'no rate limit' : `${shape.rateKbit / 1000} Mbit/s`;
  return `${rate}, ${shape.delayMs} ms each way (${shape.delayMs * 2} ms round trip), ${shape.lossPercent} % loss each way`;
}
