import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Packages with native code (or, for serialport, a native binding beneath it): the Yocto recipe
 * builds them for the board and installs them beside the bundle.
 */
// unix-dgram: janode's Unix-socket transport (loaded with janode, on a terminal's first call).
const NATIVE_PACKAGES = ['better-sqlite3', 'serialport', 'node-hid', 'onoff', 'node-gtk', 'unix-dgram'];

/**
 * Compiles the firmware (with device-drivers and its pure-JavaScript packages) into the ES modules
 * the image ships: telemed.mjs, which systemd starts, media-worker.mjs beside it, which the daemon
 * forks, cpu-worker.mjs, its worker threads for decoding and DICOM encoding, and chunks that load on first use (mqtt.js, pdf-lib). Bundling the packages in matters
 * after every power cut: resolving and reading typebox's, dcmjs's and pino's hundreds of files took
 * half a second of each start-up (measured: start to READY 1.55 s external, 1.0 s bundled).
 * Native packages stay external.
 */
export async function buildFirmware(outFile = join(here, 'dist/telemed.mjs')): Promise<string> {
  const outDir = dirname(outFile);
  mkdirSync(outDir, { recursive: true });
  // Chunk names carry a content hash: the last build's would pile up beside the new ones.
  for (const name of readdirSync(outDir))
    if (/\.mjs(\.map)?$/.test(name)) rmSync(join(outDir, name), { force: true });
  await build({
    entryPoints: {
      [basename(outFile, '.mjs')]: join(here, 'src/cli.ts'),
      'media-worker': join(here, 'src/media/worker.ts'),
      'cpu-worker': join(here, 'src/cpu/cpu-worker.ts'),
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: NATIVE_PACKAGES,
    splitting: true,
    sourcemap: 'linked',
    // Bundled CommonJS packages require() Node's own modules, which an ES module has no require for.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
    },
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
