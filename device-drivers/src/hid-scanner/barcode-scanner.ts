import { Backoff } from '../util/backoff.ts';
import { Waker } from '../util/waker.ts';
import type { HidDeviceInfo, HidOpener, HidReportSource } from './hid-device.ts';
import { HidReportError, KeyboardWedgeDecoder, type Scan } from './keyboard.ts';
import { HidPosDecoder, symbologyName } from './pos.ts';

export type ScannerState = 'searching' | 'connected' | 'stopped';

/** Which USB device is the scanner: VID:PID (hex strings, as lsusb prints them), serial if several. */
export interface ScannerIdentity {
  vendorId: string;
  productId: string;
  serialNumber?: string;
}

export interface BarcodeScannerOptions {
  identity: ScannerIdentity;
  /**
   * How the scanner is set up: typing like a keyboard, or HID POS (usage page 0x8C); 'auto' takes
   * whichever interface the scanner offers (POS first: it carries the symbology and UTF-8).
   */
  mode: 'wedge' | 'pos' | 'auto';
  opener: HidOpener;
  onScan(scan: Scan & { symbology: string | null }): void;
  onState?(state: ScannerState, detail: string | null): void;
  onProblem?(message: string): void;
  backoff?: Backoff;
}

const hex = (n: number) => n.toString(16).padStart(4, '0');
const sameId = (a: string, n: number) => a.toLowerCase().replace(/^0x/, '').padStart(4, '0') === hex(n);

/** The interface of the device that carries the scans: a keyboard in wedge mode, 0x8C in POS mode. */
export function pickScanner(
  devices: readonly HidDeviceInfo[],
  o: Pick<BarcodeScannerOptions, 'identity' | 'mode'>,
): HidDeviceInfo | string {
  const mine = devices.filter(
    (d) =>
      sameId(o.identity.vendorId, d.vendorId) &&
      sameId(o.identity.productId, d.productId) &&
      (!o.identity.serialNumber || d.serialNumber === o.identity.serialNumber),
  );
  if (mine.length === 0) return `no scanner ${o.identity.vendorId}:${o.identity.productId} is plugged in`;
  if (o.mode === 'auto') {
    const pos = mine.find((d) => d.usagePage === 0x8c);
    const keyboard = mine.find((d) => d.usagePage === undefined || d.usagePage === 0x01);
    return pos ?? keyboard ?? `the scanner offers neither a keyboard nor a HID POS interface`;
  }
  const page = o.mode === 'pos' ? 0x8c : 0x01;
  const fitting = mine.filter((d) => d.usagePage === undefined || d.usagePage === page);
  if (fitting.length === 0)
    return `the scanner is not in ${o.mode === 'pos' ? 'HID POS' : 'keyboard'} mode: scan its setup code, or change hidScanners.mode`;
  return fitting[0]!;
}

/**
 * Drives a barcode/QR scanner on USB HID: finds it by VID:PID (and serial), opens the interface
 * its mode uses, decodes reports to scans, and after an unplug looks for it again with back-off.
 *
 * INVARIANTS: one open device at a time; a decoder lives exactly as long as its device is open
 * (a half scan never spans an unplug); `state` is 'connected' only while a device is open.
 */
export class BarcodeScanner {
  private current: ScannerState = 'stopped';
  private detail: string | null = null;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;
  private device: HidReportSource | null = null;
  private readonly backoff: Backoff;
  private readonly waker = new Waker();
  readonly counters = { connects: 0, disconnects: 0, scans: 0, badReports: 0 };
  /** The mode of the interface open now (or last open), or null before the first. */
  mode: 'wedge' | 'pos' | null = null;

  constructor(private readonly options: BarcodeScannerOptions) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 10_000 });
  }

  get state(): ScannerState {
    return this.current;
  }

  get lastProblem(): string | null {
    return this.detail;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().catch((error: unknown) => {
      if (!this.stopper.signal.aborted) this.options.onProblem?.(`scanner stopped: ${String(error)}`);
    });
  }

  /** A HID device arrived (the device manager saw it): look now instead of after the back-off. */
  kick(): void {
    this.waker.wake();
  }

  async stop(): Promise<void> {
    this.stopper.abort(new Error('scanner stopped'));
    await this.device?.close();
    await this.loop;
    this.setState('stopped', null);
  }

  private setState(state: ScannerState, detail: string | null): void {
    if (state === this.current && detail === this.detail) return;
    this.current = state;
    this.detail = detail;
    this.options.onState?.(state, detail);
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      const found = pickScanner(await this.options.opener.list(), this.options);
      if (typeof found === 'string') {
        this.setState('searching', found);
        await this.waker.sleep(this.backoff.next(), signal).catch(() => undefined);
        continue;
      }
      let device: HidReportSource;
      try {
        device = await this.options.opener.open(found.path);
      } catch (error) {
        this.setState('searching', `cannot open the scanner: ${(error as Error).message}`);
        await this.waker.sleep(this.backoff.next(), signal).catch(() => undefined);
        continue;
      }
      if (signal.aborted) {
        // Stopped while it was opening: the stop has passed the point where it closes the device.
        await device.close();
        break;
      }
      this.device = device;
      this.backoff.reset();
      this.counters.connects++;
      this.setState('connected', null);
      this.mode =
        this.options.mode !== 'auto' ? this.options.mode : found.usagePage === 0x8c ? 'pos' : 'wedge';
      const decoder = this.mode === 'pos' ? new HidPosDecoder() : new KeyboardWedgeDecoder();
      const unsubscribe = device.onReport((report) => {
        try {
          for (const scan of decoder.push(report)) {
            this.counters.scans++;
            this.options.onScan({ ...scan, symbology: symbologyName(scan.aim) });
          }
        } catch (error) {
          if (!(error instanceof HidReportError)) throw error;
          this.counters.badReports++;
          this.options.onProblem?.(`a report the scanner sent could not be read: ${error.message}`);
        }
      });
      const gone = await Promise.race([
        device.closed,
        new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true })),
      ]);
      unsubscribe();
      this.device = null;
      await device.close();
      if (signal.aborted) break;
      this.counters.disconnects++;
      const reason = gone ? gone.message : 'closed';
      this.options.onProblem?.(`scanner lost: ${reason}`);
      this.setState('searching', reason);
    }
  }
}
