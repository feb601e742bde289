import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli.ts');

/** Runs `telemed ARGS` from the source, as a separate process. */
export function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** Writes the smallest valid config for terminal T-0001 with its store in `dataDir`, plus `extra`. */
export function writeConfig(path: string, dataDir: string, extra: Record<string, unknown> = {}): string {
  writeFileSync(
    path,
    JSON.stringify({
      device: { id: 'T-0001', province: 'henan', county: 'lankao', uidRoot: '1.2.826.0.1.3680043.10.1391.7' },
      dataDir,
      carts: [],
      dataCentres: {
        home: 'A',
        A: { name: 'DC-A', dicomWebUrl: 'https://a.example/dicom-web' },
        B: { name: 'DC-B', dicomWebUrl: 'https://b.example/dicom-web' },
      },
      mqtt: { brokers: ['mqtts://a.example:8883'] },
      api: { token: 'x'.repeat(32) },
      ...extra,
    }),
  );
  return path;
}
