/**
 * Device events as `udevadm monitor --udev --property` prints them: a header line
 * `UDEV  [12345.678901] add      /devices/…/1-1.2 (usb)` followed by KEY=VALUE lines and a blank
 * line. Pure: text in, events out; an unfinished block is kept for the next chunk.
 */
export interface UdevEvent {
  action: 'add' | 'remove' | 'change' | 'bind' | 'unbind' | 'move';
  devpath: string;
  subsystem: string;
  properties: Record<string, string>;
}

/** A USB device or serial port event, with what identifies the device. */
export interface UsbEvent {
  action: 'add' | 'remove';
  subsystem: 'usb' | 'tty' | 'hidraw';
  devpath: string;
  /** /dev node (ttyACM0, hidraw1, bus/usb/001/004), when there is one. */
  devname: string | null;
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  /** Stable physical port (ID_PATH, e.g. platform-xhci-hcd.0-usb-0:1.2:1.0): same port, same path. */
  busPath: string | null;
}

const HEADER = /^UDEV\s+\[[\d.]+\]\s+(add|remove|change|bind|unbind|move)\s+(\S+)\s+\((\S+)\)\s*$/;

export class UdevEventReader {
  private rest = '';
  private current: UdevEvent | null = null;

  push(chunk: string): UdevEvent[] {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    if (this.rest.length > 65536) this.rest = ''; // not udevadm output: drop rather than grow
    const out: UdevEvent[] = [];
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      const header = HEADER.exec(line);
      if (header) {
        if (this.current) out.push(this.current);
        this.current = {
          action: header[1] as UdevEvent['action'],
          devpath: header[2] as string,
          subsystem: header[3] as string,
          properties: {},
        };
      } else if (line.trim() === '') {
        if (this.current) out.push(this.current);
        this.current = null;
      } else if (this.current) {
        const eq = line.indexOf('=');
        if (eq > 0) this.current.properties[line.slice(0, eq)] = line.slice(eq + 1);
      }
    }
    return out;
  }
}

const hex4 = (v: string | undefined) =>
  v && /^[0-9a-fA-F]{1,4}$/.test(v) ? v.toLowerCase().padStart(4, '0') : null;

/** The USB-relevant view of a udev event; null for events the device manager does not follow. */
export function usbEvent(e: UdevEvent): UsbEvent | null {
  if (e.action !== 'add' && e.action !== 'remove') return null;
  if (e.subsystem !== 'usb' && e.subsystem !== 'tty' && e.subsystem !== 'hidraw') return null;
  const p = e.properties;
  // usb: only whole devices (DEVTYPE=usb_device), not each interface.
  if (e.subsystem === 'usb' && p['DEVTYPE'] !== 'usb_device') return null;
  let vendorId = hex4(p['ID_VENDOR_ID']);
  let productId = hex4(p['ID_MODEL_ID']);
  if ((!vendorId || !productId) && p['PRODUCT']) {
    // PRODUCT=vid/pid/bcd (hex without padding) on usb devices.
    const [v, pr] = p['PRODUCT'].split('/');
    vendorId = vendorId ?? hex4(v);
    productId = productId ?? hex4(pr);
  }
  return {
    action: e.action,
    subsystem: e.subsystem,
    devpath: e.devpath,
    devname: p['DEVNAME'] ?? null,
    vendorId,
    productId,
    serialNumber: p['ID_SERIAL_SHORT'] ?? null,
    busPath: p['ID_PATH'] ?? null,
  };
}
