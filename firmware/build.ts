import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Compiles the firmware (with device-drivers) into one ES module, the file the image ships and
 * systemd starts. Packages stay external: native ones (better-sqlite3, serialport) are built for
 * the board by the Yocto recipe, and the rest are installed beside it from the lock file.
 */
export async function buildFirmware(outFile = join(here, 'dist/telemed.mjs')): Promise<string> {
  mkdirSync(dirname(outFile), { recursive: true });
  await build({
    entryPoints: [join(here, 'src/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    banner: { js: '#!/usr/bin/env node' },
    outfile: outFile,
    logLevel: 'warning',
  });
  chmodSync(outFile, 0o755);
  return outFile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await buildFirmware());
}
