import { chmodSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Compiles the firmware (with device-drivers) into the ES modules the image ships: telemed.mjs,
 * which systemd starts, and media-worker.mjs beside it, which the daemon forks. Packages stay
 * external: native ones (better-sqlite3, serialport, node-gtk) are built for the board by the Yocto
 * recipe, and the rest are installed beside it from the lock file.
 */
export async function buildFirmware(outFile = join(here, 'dist/telemed.mjs')): Promise<string> {
  const outDir = dirname(outFile);
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: {
      [basename(outFile, '.mjs')]: join(here, 'src/cli.ts'),
      'media-worker': join(here, 'src/media/worker.ts'),
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    banner: { js: '#!/usr/bin/env node' },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
  chmodSync(outFile, 0o755);
  return outFile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await buildFirmware());
}
