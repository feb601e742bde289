export type CaptureKind = 'ecg' | 'still' | 'video' | 'document';

/** One capture the terminal told someone was saved: a cart's final ACK, an API answer, the kiosk. */
export interface Acknowledgement {
  /** SHA-256 of the capture as the terminal received it (the cart's file, the JPEG, the PDF, the segment). */
  sha256: string;
  kind: CaptureKind;
  /** Who was told: 'cart-1', 'api', 'kiosk'. */
  via: string;
  at: number;
}

/**
 * Everything the firmware acknowledged as saved during the kill test, keyed by content hash: the
 * promise that must hold at the end (each one in a data centre exactly once).
 */
export class Ledger {
  private readonly entries = new Map<string, Acknowledgement>();

  ack(sha256: string, kind: CaptureKind, via: string): void {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    if (!this.entries.has(sha256)) this.entries.set(sha256, { sha256, kind, via, at: Date.now() });
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  get size(): number {
    return this.entries.size;
  }

  all(): Acknowledgement[] {
    return [...this.entries.values()];
  }

  byKind(): Record<CaptureKind, number> {
    const counts: Record<CaptureKind, number> = { ecg: 0, still: 0, video: 0, document: 0 };
    for (const e of this.entries.values()) counts[e.kind]++;
    return counts;
  }
}
