import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { udevRules } from './udev-rules.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
writeFileSync(
  join(ROOT, 'yocto-layer/recipes-telemed/telemed-firmware/files/90-telemed-usb.rules'),
  udevRules(),
);
