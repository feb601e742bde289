import { createHash } from 'node:crypto';
import { CartSimulator } from '../cart/cart-simulator.ts';
import { synthEcgRecord } from '../cart/synth-ecg.ts';
import type { RigState } from '../state-file.ts';
import type { Ledger } from './ledger.ts';

/** The parts of the local API's status the capture stream reads. */
interface Status {
  studiesToday: Array<{ kind: 'ecg' | 'video' | 'still' | 'document'; state: string; contentSha256: string }>;
  video: { encoderState: string; recording: { state: string } } | null;
  scanner: { job: string; pages: unknown[] };
}

export interface CaptureStreamOptions {
  state: RigState;
  ledger: Ledger;
  /** Aborted when the current firmware process is gone (carts give up their transfer at once). */
  life(): AbortSignal;
  /** True while a firmware process is up (not necessarily ready). */
  alive(): boolean;
  random(): number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A clinic at full tilt while the kill test shoots the firmware: every cart sends ECGs (the same
 * record again until the terminal acknowledges it, as a cart does), the camera records in short
 * segments and stills are taken, documents are scanned and sent, and the kiosk's list is watched.
 * Every acknowledgement goes into the ledger. Requests to a dead firmware simply fail; the loops
 * carry on when it is back.
 */
export class CaptureStream {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly counters = {
    ecgSent: 0,
    ecgFailed: 0,
    stills: 0,
    documents: 0,
    recordingsStarted: 0,
    apiErrors: 0,
  };
  private readonly api: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: CaptureStreamOptions) {
    this.api = new URL(options.state.kioskUrl).origin;
    this.headers = { authorization: `Bearer ${options.state.apiToken}`, 'content-type': 'application/json' };
  }

  start(): void {
    this.running = true;
    this.loops = [
      ...this.options.state.carts.map((cart) => this.cartLoop(cart.id, cart.cartPty)),
      this.cameraLoop(),
      this.documentLoop(),
      this.kioskLoop(),
    ];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    body?: object,
  ): Promise<{ ok: boolean; json: unknown }> {
    try {
      const response = await fetch(`${this.api}${path}`, {
        method,
        headers: this.headers,
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(5000),
      });
      const json = (await response.json()) as unknown;
      return { ok: response.ok, json };
    } catch {
      this.counters.apiErrors++;
      return { ok: false, json: null };
    }
  }

  async status(): Promise<Status | null> {
    const r = await this.request('GET', '/api/v1/status');
    return r.ok ? (r.json as Status) : null;
  }

  private async waitAlive(): Promise<void> {
    while (this.running && !this.options.alive()) await sleep(50);
  }

  private async cartLoop(cartId: string, cartPty: string): Promise<void> {
    const cart = new CartSimulator(cartPty);
    const next = () => synthEcgRecord({ seed: Math.floor(this.options.random() * 1e9), seconds: 4 });
    let record = next();
    while (this.running) {
      await this.waitAlive();
      if (!this.running) break;
      const sha = createHash('sha256').update(record).digest('hex');
      let acknowledged = false;
      try {
        await cart.send(
          [{ name: 'KILLTEST.SCP', bytes: record }],
          'ymodem',
          {},
          {
            signal: this.options.life(),
            onFileAcknowledged: () => {
              acknowledged = true;
              this.options.ledger.ack(sha, 'ecg', cartId);
            },
          },
        );
        this.counters.ecgSent++;
      } catch {
        this.counters.ecgFailed++;
        await sleep(100);
      }
      // Not acknowledged: the cart sends the same record again, as a real one does.
      if (acknowledged) record = next();
    }
  }

  private async cameraLoop(): Promise<void> {
    while (this.running) {
      await this.waitAlive();
      const status = await this.status();
      const video = status?.video;
      if (video?.encoderState === 'ready') {
        if (video.recording.state === 'idle') {
          const r = await this.request('POST', '/api/v1/recordings', { seconds: 600 });
          if (r.ok) this.counters.recordingsStarted++;
        } else if (video.recording.state === 'recording') {
          const r = await this.request('POST', '/api/v1/stills');
          const sha = (r.json as { contentSha256?: string } | null)?.contentSha256;
          if (r.ok && sha) {
            this.options.ledger.ack(sha, 'still', 'api');
            this.counters.stills++;
          }
        }
      }
      await sleep(400 + this.options.random() * 600);
    }
    await this.request('POST', '/api/v1/recordings/stop');
  }

  private async documentLoop(): Promise<void> {
    while (this.running) {
      await this.waitAlive();
      await sleep(100 + this.options.random() * 400);
      let status = await this.status();
      if (!status) continue;
      if (status.scanner.job === 'idle' && status.scanner.pages.length === 0) {
        if (!(await this.request('POST', '/api/v1/scans', { pages: 1 })).ok) continue;
        // Sent as soon as the page is in, as staff do: a document needs a life of a few seconds.
        do {
          await sleep(100);
          status = await this.status();
        } while (this.running && status && status.scanner.job !== 'idle');
        if (!status || status.scanner.pages.length === 0) continue;
      }
      if (status.scanner.job !== 'idle') continue;
      const r = await this.request('POST', '/api/v1/document/send');
      const sha = (r.json as { contentSha256?: string } | null)?.contentSha256;
      if (r.ok && sha) {
        this.options.ledger.ack(sha, 'document', 'api');
        this.counters.documents++;
        // Documents are the dearest capture (scan, JPEG, PDF, DICOM): a few, not a flood.
        await sleep(2000 + this.options.random() * 4000);
      }
    }
  }

  /** What the kiosk shows as saved counts as acknowledged too (video segments are acknowledged only here). */
  private async kioskLoop(): Promise<void> {
    while (this.running) {
      await this.waitAlive();
      const status = await this.status();
      for (const item of status?.studiesToday ?? []) {
        if (item.state !== 'quarantined') this.options.ledger.ack(item.contentSha256, item.kind, 'kiosk');
      }
      await sleep(200);
    }
  }
}
