import type { Logger } from 'pino';
import type { GpioOpener, HidOpener, ScannerBackend, SerialOpener, UsbEventSource } from '#device-drivers';
import type { HidScannerConfig } from './config/schema.ts';
import type { ServiceManager } from './service-manager.ts';
import type { DataKeyStore } from './store/data-key.ts';
import type { FaultHook } from './store/fault-points.ts';
import type { StowFn } from './uplink/uplink.ts';

/**
 * The daemon's side effects, injected: cli.ts passes what the board has (most are defaults);
 * tests and the rig pass their transports and fakes. Nothing here is a test hook in production
 * code: each is a real seam with a real default.
 */
export interface DaemonDeps {
  log: Logger;
  /** The kill test's crash points in the store and uplink (see fault-points.ts); none by default. */
  fault?: FaultHook;
  /** Extra environment for the media worker (the rig's stand-in hardware encoder plugin). */
  mediaEnv?: Record<string, string>;
  opener?: SerialOpener;
  stow?: StowFn;
  freeBytes?: (dir: string) => number;
  /** Where the data key lives (default: as storage.encryption says; null: encryption off). */
  dataKeys?: DataKeyStore | null;
  now?: () => Date;
  /** USB arrivals and departures (default: udev, or none as configured). */
  usbEvents?: UsbEventSource;
  /** The GPIO lines (default: the relay socket if configured, else sysfs through onoff). */
  gpioOpener?: GpioOpener;
  /** The HID transport for a barcode scanner (default: its relay socket if set, else node-hid). */
  hidOpener?: (scanner: HidScannerConfig) => HidOpener;
  /** The document scanner backend (default: scanimage as configured). */
  scannerBackend?: ScannerBackend;
  /** systemd (or the rig's supervisor) to tell READY, WATCHDOG and STOPPING; none by default. */
  serviceManager?: ServiceManager;
}
