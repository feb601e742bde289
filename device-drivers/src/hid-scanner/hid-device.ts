/**
 * The HID transport contract the scanner driver uses, and its implementation on `node-hid`.
 *
 * Cancel/disconnect semantics:
 * - `onReport` listeners get each input report as it arrives, nothing after `closed` settles.
 * - `closed` settles exactly once: null after `close()`, an Error when the device went away
 *   (unplugged: node-hid reports a read error).
 * - `close()` is idempotent and never rejects.
 */
export interface HidDeviceInfo {
  path: string;
  vendorId: number;
  productId: number;
  serialNumber?: string;
  product?: string;
  /** 0x01 with usage 0x06: a keyboard (wedge mode); 0x8C: a HID POS bar code scanner. */
  usagePage?: number;
  usage?: number;
}

export interface HidReportSource {
  onReport(listener: (report: Uint8Array) => void): () => void;
  readonly closed: Promise<Error | null>;
  close(): Promise<void>;
}

export interface HidOpener {
  list(): Promise<HidDeviceInfo[]>;
  open(path: string): Promise<HidReportSource>;
}

/** What the scanner driver needs of node-hid's HIDAsync (kept small so the rig can provide it). */
interface NodeHidLike {
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'data', listener: (data: Buffer) => void): unknown;
  close(): Promise<void> | void;
}

class NodeHidSource implements HidReportSource {
  readonly closed: Promise<Error | null>;
  private settle!: (value: Error | null) => void;
  private closing = false;

  constructor(private readonly device: NodeHidLike) {
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
    device.on('error', (error) => {
      if (!this.closing) this.settle(error);
    });
  }

  onReport(listener: (report: Uint8Array) => void): () => void {
    const handler = (data: Buffer) => listener(new Uint8Array(data.buffer, data.byteOffset, data.length));
    this.device.on('data', handler);
    return () => this.device.off('data', handler);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.device.close();
    } catch {
      // already gone
    }
    this.settle(null);
  }
}

/** HidOpener on `node-hid` (hidraw on the board); loaded when first used. */
export class NodeHidOpener implements HidOpener {
  private async hid() {
    const module = (await import('node-hid')) as unknown as {
      default?: unknown;
      devicesAsync(): Promise<HidDeviceInfo[]>;
      HIDAsync: { open(path: string): Promise<NodeHidLike> };
    };
    return module;
  }

  async list(): Promise<HidDeviceInfo[]> {
    const hid = await this.hid();
    return (await hid.devicesAsync()).filter((d) => typeof d.path === 'string');
  }

  async open(path: string): Promise<HidReportSource> {
    const hid = await this.hid();
    return new NodeHidSource(await hid.HIDAsync.open(path));
  }
}
