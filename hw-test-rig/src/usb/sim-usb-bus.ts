import type { UsbEvent, UsbEventSource } from '#device-drivers';

/** A USB device on the rig's simulated bus: what udev would report for it. */
export interface SimUsbDevice {
  vendorId: string;
  productId: string;
  serialNumber: string | null;
  /** The hub port it is plugged into (ID_PATH). */
  port: string;
  /** Its serial or HID node, when it has one ('tty' or 'hidraw' and the node name). */
  node: { subsystem: 'tty' | 'hidraw'; name: string } | null;
}

/**
 * udev for a machine without USB hot-plug events to give: the rig announces its devices arriving
 * and leaving in the order the kernel does (the USB device, then its port; the port, then the
 * device), behind the same event-source interface the firmware's udev monitor has.
 */
export class SimUsbBus implements UsbEventSource {
  private emit: ((event: UsbEvent) => void) | null = null;

  start(onEvent: (event: UsbEvent) => void): void {
    this.emit = onEvent;
  }

  async stop(): Promise<void> {
    this.emit = null;
  }

  plug(device: SimUsbDevice): void {
    this.emit?.(this.event('add', device, 'usb'));
    if (device.node) this.emit?.(this.event('add', device, device.node.subsystem));
  }

  unplug(device: SimUsbDevice): void {
    if (device.node) this.emit?.(this.event('remove', device, device.node.subsystem));
    this.emit?.(this.event('remove', device, 'usb'));
  }

  private event(action: 'add' | 'remove', d: SimUsbDevice, subsystem: UsbEvent['subsystem']): UsbEvent {
    const devpath = `/devices/platform/rig-hcd/usb1/${d.port}`;
    return {
      action,
      subsystem,
      devpath: subsystem === 'usb' ? devpath : `${devpath}/${d.port}:1.0/${d.node?.name}`,
      devname: subsystem === 'usb' ? `/dev/bus/usb/001/${d.port}` : `/dev/${d.node?.name}`,
      vendorId: d.vendorId,
      productId: d.productId,
      serialNumber: d.serialNumber,
      busPath: `platform-rig-hcd-usb-0:${d.port}`,
    };
  }
}
