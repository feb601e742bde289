import { ReadTimeout } from './byte-queue.ts';
import { ACK, BLOCK_LARGE, BLOCK_SMALL, CAN, CRC_REQUEST, EOT, NAK, SOH, STX, TIMING } from './consts.ts';
import { type BlockCheck, checkBlock, parseHeaderBlock } from './frame.ts';
import {
  type DeliverFile,
  emptyCounters,
  type FileLinkProtocol,
  type LinkIo,
  type ReceivedFile,
} from './types.ts';

export interface ReceiverEvents {
  /** Transfer-level problems worth a log line and a kiosk message (no patient data). */
  onProblem?(message: string): void;
  onTransferStart?(info: { name: string | null; declaredSize: number | null }): void;
}

const bytes = (...values: number[]) => Uint8Array.from(values);
const CANCEL = bytes(CAN, CAN, CAN, CAN, CAN);

class Cancelled extends Error {}

/**
 * YMODEM batch receiver (CRC-16, 128/1024-byte blocks) that also accepts plain XMODEM-CRC/1K:
 * a sender that starts with block 1 instead of the block-0 header is an XMODEM sender.
 * The final ACK of a file is sent only after `deliver` has made the file durable.
 */
export class YmodemReceiver implements FileLinkProtocol {
  readonly name = 'ymodem';
  readonly counters = emptyCounters();
  /**
   * How many repeated EOTs may still be answered with ACK: only right after a file ended (its
   * sender may have missed our ACK). Otherwise an idle EOT is line noise, and ACKing it would put
   * a stale ACK in the sender's queue that acknowledges its next header before we saw it.
   */
  private repeatAckBudget = 0;

  constructor(
    private readonly timing = TIMING,
    private readonly events: ReceiverEvents = {},
  ) {}

  async run(io: LinkIo, deliver: DeliverFile, signal: AbortSignal): Promise<void> {
    let prompt = true;
    while (!signal.aborted) {
      const start = await this.awaitBlockStart(io, true, prompt);
      prompt = true;
      if (start === EOT) {
        if (this.repeatAckBudget > 0) {
          // A sender that missed our last ACK repeats EOT: it already has the file acknowledged.
          this.repeatAckBudget--;
          await this.acknowledge(io);
        } else {
          this.counters.noiseBytes++;
        }
        continue;
      }
      this.repeatAckBudget = 0;
      const block = await this.readIdleBlock(io, start);
      if (block === 'damaged') {
        await io.write(bytes(NAK));
        continue;
      }
      if (!block) {
        // Line noise that began with SOH/STX, not a block: answering it (NAK or an extra 'C')
        // would hand the cart a reply to a header it may be sending right now, and every later
        // ACK would then acknowledge the block before the one it was meant for. Stay silent and
        // prompt again on the usual interval.
        prompt = false;
        continue;
      }
      if (block.seq === 0) {
        const header = parseHeaderBlock(block.data);
        await this.acknowledge(io);
        if (!header) continue; // end of batch
        this.events.onTransferStart?.({ name: header.name, declaredSize: header.size });
        await io.write(bytes(CRC_REQUEST));
        await this.receiveFile(io, deliver, { name: header.name, size: header.size, protocol: 'ymodem' }, []);
      } else if (block.seq === 1) {
        this.events.onTransferStart?.({ name: null, declaredSize: null });
        this.counters.blocks++;
        await this.acknowledge(io);
        await this.receiveFile(io, deliver, { name: null, size: null, protocol: 'xmodem' }, [block.data]);
      } else {
        this.counters.sequenceErrors++;
        io.queue.purge();
        await io.write(bytes(NAK));
      }
    }
  }

  /**
   * Waits for SOH/STX/EOT, skipping line noise; while idle, asks for CRC mode every few seconds
   * (at once when `promptFirst`, otherwise after one interval of silence).
   */
  private async awaitBlockStart(io: LinkIo, idle: boolean, promptFirst = true): Promise<number> {
    let prompt = promptFirst;
    for (;;) {
      if (idle && prompt) await io.write(bytes(CRC_REQUEST));
      prompt = true;
      try {
        const deadline = idle ? this.timing.crcRequestIntervalMs : this.timing.blockTimeoutMs;
        for (;;) {
          const byte = await io.queue.readByte(deadline);
          if (byte === SOH || byte === STX || byte === EOT) return byte;
          if (byte === CAN && !idle) return CAN;
          this.counters.noiseBytes++;
        }
      } catch (error) {
        if (!(error instanceof ReadTimeout)) throw error;
        if (!idle) throw error;
      }
    }
  }

  /** Reads the rest of a block after its first byte: the bytes and their check, or 'timeout'. */
  private async readWire(
    io: LinkIo,
    start: number,
  ): Promise<{ rest: Uint8Array; check: BlockCheck } | 'timeout'> {
    const size = start === STX ? BLOCK_LARGE : BLOCK_SMALL;
    let rest: Uint8Array;
    try {
      rest = await io.queue.read(size + 4, this.timing.byteTimeoutMs + size);
    } catch (error) {
      if (!(error instanceof ReadTimeout)) throw error;
      return 'timeout';
    }
    const wire = new Uint8Array(size + 5);
    wire[0] = start;
    wire.set(rest, 1);
    return { rest, check: checkBlock(wire) };
  }

  /**
   * While idle, a SOH/STX counts as a block start only when a whole valid block follows it. If it
   * does not, only that byte is dropped and what was read after it goes back to the queue to be
   * rescanned: a real header that arrived inside the bogus block is then found, not purged. (After
   * a timeout the bytes read so far are still queued.)
   */
  private async readIdleBlock(
    io: LinkIo,
    start: number,
  ): Promise<{ seq: number; data: Uint8Array } | 'damaged' | null> {
    const read = await this.readWire(io, start);
    if (read !== 'timeout' && read.check.ok) return read.check;
    if (read !== 'timeout' && !read.check.ok && read.check.reason === 'crc' && read.rest[0]! <= 1) {
      // Block number 0 or 1 with its complement intact and a bad CRC: a header (or first block)
      // damaged on the line, not noise (1 in 128 random bytes would pass this). Ask again.
      this.counters.crcErrors++;
      this.counters.noiseBytes += io.queue.purge();
      return 'damaged';
    }
    this.counters.noiseBytes++;
    if (read !== 'timeout') io.queue.unshift(read.rest);
    return null;
  }

  /**
   * The cart sends one block and then waits for our answer, so whatever is queued when we answer is
   * stale: copies of a block it resent while we were still reading (or skipping noise), or noise.
   * Dropping it keeps one ACK per block; an ACK for each copy would acknowledge blocks not yet read.
   */
  private async acknowledge(io: LinkIo): Promise<void> {
    this.counters.noiseBytes += io.queue.purge();
    await io.write(bytes(ACK));
  }

  /** Reads the rest of a block during a file; null when it is damaged (the queue is then purged). */
  private async readBlock(io: LinkIo, start: number): Promise<{ seq: number; data: Uint8Array } | null> {
    const read = await this.readWire(io, start);
    if (read === 'timeout') this.counters.timeouts++;
    else if (read.check.ok) return read.check;
    else if (read.check.reason === 'crc') this.counters.crcErrors++;
    else this.counters.sequenceErrors++;
    this.counters.noiseBytes += io.queue.purge();
    return null;
  }

  private async receiveFile(
    io: LinkIo,
    deliver: DeliverFile,
    meta: { name: string | null; size: number | null; protocol: 'ymodem' | 'xmodem' },
    initial: Uint8Array[],
  ): Promise<void> {
    const parts = [...initial];
    let expected = initial.length + 1;
    let retries = 0;
    let eotSeen = false;
    const assemble = (): Uint8Array => {
      const all = Buffer.concat(parts);
      return meta.size !== null && meta.size <= all.length ? all.subarray(0, meta.size) : all;
    };
    const file = (incomplete: string | null): ReceivedFile => ({
      name: meta.name,
      declaredSize: meta.size,
      bytes: assemble(),
      protocol: meta.protocol,
      incomplete,
    });
    const giveUp = async (reason: string) => {
      await io.write(CANCEL);
      this.counters.cancelledTransfers++;
      this.events.onProblem?.(reason);
      // Keep what arrived: it was never acknowledged, but nothing a cart sent is thrown away.
      if (parts.length > 0) await deliver(file(reason)).catch(() => this.counters.failedDeliveries++);
      throw new Cancelled(reason);
    };
    try {
      for (;;) {
        let start: number;
        try {
          start = await this.awaitBlockStart(io, false);
        } catch (error) {
          if (!(error instanceof ReadTimeout)) throw error;
          this.counters.timeouts++;
          if (++retries > this.timing.maxRetries) {
            await giveUp(
              `transfer cut off: no data for ${retries} timeouts after ${Buffer.concat(parts).length} bytes`,
            );
          }
          await io.write(bytes(NAK));
          continue;
        }
        if (start === CAN) {
          const next = await io.queue.readByte(this.timing.byteTimeoutMs).catch(() => -1);
          if (next === CAN) {
            this.counters.cancelledTransfers++;
            this.events.onProblem?.('the cart cancelled the transfer');
            if (parts.length > 0)
              await deliver(file('cancelled by the cart')).catch(() => this.counters.failedDeliveries++);
            return;
          }
          continue;
        }
        if (start === EOT) {
          if (!eotSeen) {
            // Reference behaviour: NAK the first EOT so that a line-noise EOT cannot end a file.
            eotSeen = true;
            await io.write(bytes(NAK));
            continue;
          }
          if (meta.size !== null && Buffer.concat(parts).length < meta.size) {
            await giveUp(`file ended after ${Buffer.concat(parts).length} of ${meta.size} declared bytes`);
          }
          try {
            await deliver(file(null));
          } catch (error) {
            this.counters.failedDeliveries++;
            await io.write(CANCEL);
            this.events.onProblem?.(`could not keep the file: ${(error as Error).message}`);
            return;
          }
          this.counters.files++;
          await this.acknowledge(io);
          this.repeatAckBudget = this.timing.maxRetries;
          return;
        }
        eotSeen = false;
        const block = await this.readBlock(io, start);
        if (!block) {
          if (++retries > this.timing.maxRetries) await giveUp(`too many damaged blocks (${retries})`);
          // One damaged block, one reply: what is still on its way is dropped first (TIMING.quietMs).
          this.counters.noiseBytes += await io.queue.drainUntilQuiet(
            this.timing.quietMs,
            this.timing.byteTimeoutMs,
          );
          await io.write(bytes(NAK));
          continue;
        }
        if (block.seq === (expected & 0xff)) {
          parts.push(block.data);
          expected++;
          retries = 0;
          this.counters.blocks++;
          await this.acknowledge(io);
        } else if (block.seq === ((expected - 1) & 0xff)) {
          this.counters.duplicates++;
          await this.acknowledge(io);
        } else {
          this.counters.sequenceErrors++;
          await giveUp(`block ${block.seq} arrived where ${expected & 0xff} was expected`);
        }
      }
    } catch (error) {
      if (error instanceof Cancelled) return;
      throw error;
    }
  }
}
