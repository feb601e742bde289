/**
 * USB devices the terminal knows by VID:PID, and what each is for. A device not in the table is
 * still usable when the configuration names it (its serial number or VID:PID); the table lets the
 * device manager and the kiosk name what is plugged in, and tells a technician when a cable carries
 * something unexpected. IDs as lsusb prints them (lower-case hex).
 */
export type DeviceKind = 'usb-serial' | 'barcode-scanner' | 'document-scanner' | 'camera' | 'id-reader';

export interface KnownDevice {
  vendorId: string;
  /** null: every product of the vendor (document scanners: one driver per vendor in SANE). */
  productId: string | null;
  kind: DeviceKind;
  name: string;
}

export const KNOWN_DEVICES: readonly KnownDevice[] = [
  // USB-serial bridges: ECG carts and ID card readers (SAM modules) sit behind these.
  { vendorId: '0403', productId: '6001', kind: 'usb-serial', name: 'FTDI FT232R USB-serial' },
  { vendorId: '0403', productId: '6015', kind: 'usb-serial', name: 'FTDI FT231X USB-serial' },
  { vendorId: '1a86', productId: '7523', kind: 'usb-serial', name: 'WCH CH340 USB-serial' },
  { vendorId: '1a86', productId: '55d4', kind: 'usb-serial', name: 'WCH CH9102 USB-serial' },
  { vendorId: '10c4', productId: 'ea60', kind: 'usb-serial', name: 'Silicon Labs CP210x USB-serial' },
  { vendorId: '067b', productId: '2303', kind: 'usb-serial', name: 'Prolific PL2303 USB-serial' },
  // ID card readers with their own USB-serial identity.
  { vendorId: '0400', productId: 'c35a', kind: 'id-reader', name: 'resident ID card reader (SAM, CDC)' },
  // Barcode / QR scanners (HID: keyboard wedge or HID POS).
  { vendorId: '0c2e', productId: null, kind: 'barcode-scanner', name: 'Honeywell / Metrologic scanner' },
  { vendorId: '05e0', productId: '1200', kind: 'barcode-scanner', name: 'Zebra (Symbol) scanner' },
  { vendorId: '1eab', productId: null, kind: 'barcode-scanner', name: 'Newland scanner' },
  { vendorId: '2dd6', productId: null, kind: 'barcode-scanner', name: 'Netum / generic 2D scanner' },
  // Document scanners (SANE backends by vendor).
  { vendorId: '04c5', productId: null, kind: 'document-scanner', name: 'Fujitsu / PFU scanner (fujitsu)' },
  { vendorId: '04a9', productId: null, kind: 'document-scanner', name: 'Canon scanner (canon_dr, pixma)' },
  { vendorId: '04b8', productId: null, kind: 'document-scanner', name: 'Epson scanner (epsonds, epson2)' },
  { vendorId: '03f0', productId: null, kind: 'document-scanner', name: 'HP scanner (hpaio)' },
  { vendorId: '0638', productId: null, kind: 'document-scanner', name: 'Avision scanner (avision)' },
  // Cameras are UVC: recognised by their interface class, not listed here.
];

const norm = (id: string) => id.toLowerCase().replace(/^0x/, '').padStart(4, '0');

/** The table entry for a device, exact product first, then the vendor's catch-all. */
export function knownDevice(vendorId: string, productId: string): KnownDevice | null {
  const v = norm(vendorId);
  const p = norm(productId);
  return (
    KNOWN_DEVICES.find((d) => d.vendorId === v && d.productId === p) ??
    KNOWN_DEVICES.find((d) => d.vendorId === v && d.productId === null) ??
    null
  );
}
