import type { ByteQueue } from './byte-queue.ts';

/** The two directions of a byte link as a protocol sees them. */
export interface LinkIo {
  queue: ByteQueue;
  write(bytes: Uint8Array): Promise<void>;
}

export type FileProtocolName = 'ymodem' | 'xmodem';

/** A file as a cart handed it over. `incomplete` says why it is not a whole file. */
export interface ReceivedFile {
  name: string | null;
  declaredSize: number | null;
  bytes: Uint8Array;
  protocol: FileProtocolName;
  incomplete: string | null;
}

/**
 * Makes a received file durable. The protocol acknowledges the transfer's end only after this
 * resolves; when it rejects, the transfer is cancelled so the cart shows a failure.
 */
export type DeliverFile = (file: ReceivedFile) => Promise<void>;

export interface LinkCounters {
  files: number;
  blocks: number;
  crcErrors: number;
  sequenceErrors: number;
  timeouts: number;
  noiseBytes: number;
  cancelledTransfers: number;
  failedDeliveries: number;
  duplicates: number;
}

export function emptyCounters(): LinkCounters {
  return {
    files: 0,
    blocks: 0,
    crcErrors: 0,
    sequenceErrors: 0,
    timeouts: 0,
    noiseBytes: 0,
    cancelledTransfers: 0,
    failedDeliveries: 0,
    duplicates: 0,
  };
}

/** A cart link protocol: receives files until the signal aborts. Vendor protocols implement the same. */
export interface FileLinkProtocol {
  readonly name: string;
  readonly counters: LinkCounters;
  run(io: LinkIo, deliver: DeliverFile, signal: AbortSignal): Promise<void>;
}
