import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Bundles the renderer into kiosk-ui/dist (the daemon serves it; Electron loads it from there). */
export async function buildKiosk(outDir = join(here, 'dist')): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, 'src/renderer/app.ts')],
    bundle: true,
    format: 'esm',
    target: 'chrome120',
    outfile: join(outDir, 'app.js'),
    logLevel: 'warning',
  });
  cpSync(join(here, 'static'), outDir, { recursive: true });
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await buildKiosk());
}
