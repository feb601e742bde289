import { ByteQueue } from '../../src/ymodem/byte-queue.ts';
import type { LinkIo } from '../../src/ymodem/types.ts';

/** Mangles bytes in flight, to model a noisy RS-232 line. */
export type LineFault = (chunk: Uint8Array) => Uint8Array;

/** Two in-memory link ends for protocol tests; each direction may carry a line fault. */
export function pipe(signal: AbortSignal, faults: { aToB?: LineFault; bToA?: LineFault } = {}) {
  const aQueue = new ByteQueue(signal);
  const bQueue = new ByteQueue(signal);
  let cut = false;
  const deliver = (queue: ByteQueue, fault: LineFault | undefined, bytes: Uint8Array) => {
    if (cut) return;
    const copy = Uint8Array.from(bytes);
    setImmediate(() => queue.push(fault ? fault(copy) : copy));
  };
  const a: LinkIo = { queue: aQueue, write: async (bytes) => deliver(bQueue, faults.aToB, bytes) };
  const b: LinkIo = { queue: bQueue, write: async (bytes) => deliver(aQueue, faults.bToA, bytes) };
  return {
    a,
    b,
    /** Pulls the cable: nothing more crosses in either direction. */
    cut: () => {
      cut = true;
    },
  };
}

/** Deterministic pseudo-random numbers for reproducible line noise. */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}
