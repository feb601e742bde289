import { KNOWN_DEVICES } from './known-devices.ts';

/**
 * The udev rules the image ships (yocto-layer/…/90-telemed-usb.rules), made from the table of
 * known devices so the two cannot drift: autosuspend off for every device the terminal drives,
 * scanner hidraw nodes for the service user, stable serial-port names by USB identity.
 */
export function udevRules(): string {
  const lines = [
    '# Telemed Terminal: the USB devices the terminal drives.',
    '# - USB autosuspend off (power/control=on): a suspended USB-serial bridge or scanner loses the first',
    '#   bytes or the first scan after idle, and some never wake (kernel: driver-api/usb/power-management).',
    '# - Serial ports get a stable name by USB identity (/dev/telemed/tty-VID-PID-SERIAL); the firmware',
    '#   itself finds ports by serial number / VID:PID, never by ttyACMn, which renumbers.',
    '# - hidraw nodes of barcode scanners readable by the telemed service user.',
    '# - ModemManager keeps off the USB-serial bridges (it would probe them with AT commands).',
    '# Made by `npm run udev-rules` from device-drivers/src/usb/known-devices.ts; a test keeps them equal.',
    '',
  ];
  for (const d of KNOWN_DEVICES) {
    const product = d.productId === null ? '' : `, ATTR{idProduct}=="${d.productId}"`;
    lines.push(`# ${d.name}`);
    lines.push(
      `ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="${d.vendorId}"${product}, TEST=="power/control", ATTR{power/control}="on"`,
    );
    if (d.kind === 'usb-serial' || d.kind === 'id-reader')
      // ModemManager probes new serial devices with AT commands for seconds after plug-in,
      // holding the port and sending bytes a cart or reader does not expect.
      lines.push(
        `ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="${d.vendorId}"${product}, ENV{ID_MM_DEVICE_IGNORE}="1"`,
      );
    if (d.kind === 'barcode-scanner')
      lines.push(
        `SUBSYSTEM=="hidraw", ATTRS{idVendor}=="${d.vendorId}"${d.productId === null ? '' : `, ATTRS{idProduct}=="${d.productId}"`}, GROUP="telemed", MODE="0660"`,
      );
  }
  lines.push('');
  lines.push(
    'SUBSYSTEM=="tty", ENV{ID_BUS}=="usb", ENV{ID_SERIAL_SHORT}=="?*", SYMLINK+="telemed/tty-$env{ID_VENDOR_ID}-$env{ID_MODEL_ID}-$env{ID_SERIAL_SHORT}"',
  );
  return `${lines.join('\n')}\n`;
}
