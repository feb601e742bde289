import {
  type HidDeviceInfo,
  type HidOpener,
  type HidReportSource,
  posReports,
  wedgeReports,
} from '#device-drivers';

/** One open handle on the simulated scanner, as node-hid would hand it out. */
class SimSource implements HidReportSource {
  readonly closed: Promise<Error | null>;
  private settle!: (value: Error | null) => void;
  private readonly listeners = new Set<(report: Uint8Array) => void>();
  ended = false;

  constructor() {
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  onReport(listener: (report: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  deliver(report: Uint8Array): void {
    if (!this.ended) for (const l of this.listeners) l(report);
  }

  end(error: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.settle(error);
  }

  async close(): Promise<void> {
    this.end(null);
  }
}

/**
 * A USB barcode/QR scanner for a machine without /dev/uhid: the same opener interface as
 * node-hid's, a device that can be plugged and unplugged, and scans typed as the real scanner
 * types them — boot keyboard reports in wedge mode, 64-byte HID POS reports otherwise — so the
 * firmware's scanner driver and decoders run unchanged.
 */
export class SimHidScanner implements HidOpener {
  plugged = true;
  private source: SimSource | null = null;

  constructor(
    readonly info: Omit<HidDeviceInfo, 'path' | 'usagePage' | 'usage'> = {
      vendorId: 0x0c2e,
      productId: 0x0b61,
      serialNumber: 'RIG-SCANNER-1',
      product: 'Rig 2D barcode scanner',
    },
    private mode: 'wedge' | 'pos' = 'wedge',
  ) {}

  async list(): Promise<HidDeviceInfo[]> {
    if (!this.plugged) return [];
    return [
      {
        ...this.info,
        path: '/dev/hidraw-rig-scanner',
        usagePage: this.mode === 'pos' ? 0x8c : 0x01,
        usage: this.mode === 'pos' ? 0x02 : 0x06,
      },
    ];
  }

  async open(path: string): Promise<HidReportSource> {
    if (!this.plugged || path !== '/dev/hidraw-rig-scanner')
      throw new Error(`cannot open ${path}: no such device`);
    this.source?.end(null);
    this.source = new SimSource();
    return this.source;
  }

  get currentMode(): 'wedge' | 'pos' {
    return this.mode;
  }

  /** Switches the scanner's mode (as scanning a setup barcode does); it re-enumerates. */
  setMode(mode: 'wedge' | 'pos'): void {
    this.mode = mode;
    this.source?.end(new Error('the scanner re-enumerated'));
  }

  /** A scan of `text`, typed in the scanner's current mode. False when nothing has it open. */
  scan(text: string, aim = ']Q1'): boolean {
    const source = this.source;
    if (!this.plugged || !source || source.ended) return false;
    const reports = this.mode === 'pos' ? posReports(text, aim) : wedgeReports(text);
    for (const report of reports) source.deliver(report);
    return true;
  }

  unplug(): void {
    this.plugged = false;
    this.source?.end(new Error('could not read from HID device'));
  }

  plug(): void {
    this.plugged = true;
  }
}
