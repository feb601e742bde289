import { execFileSync, fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import pino from 'pino';
import { encodeScp } from '#device-drivers';
import { buildFirmware } from '../build.ts';
import { CpuPool } from '../src/cpu/cpu-pool.ts';

const here = dirname(fileURLToPath(import.meta.url));

test('the shipped bundle runs without tsx: scp-decode prints the record, a bad config exits 78', async (t) => {
  // Inside firmware/dist so that Node finds the external packages in node_modules, as on the image.
  const bundle = await buildFirmware(join(here, '../dist/test/telemed.mjs'));
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  const file = join(dir, 'r.scp');
  writeFileSync(
    file,
    encodeScp({
      sampleIntervalUs: 2000,
      amplitudeNv: 5000,
      patient: { id: 'B-1', lastName: '王' },
      leads: [{ name: 'II', samples: [0, 5, -5, 10] }],
    }),
  );
  const decoded = JSON.parse(
    execFileSync(process.execPath, [bundle, 'scp-decode', file], { encoding: 'utf8' }),
  );
  t.is(decoded.patient.id, 'B-1');
  t.deepEqual(decoded.leads[0].samples, [0, 5, -5, 10]);

  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ device: {} }));
  const run = spawnSync(process.execPath, [bundle, 'daemon', '--config', config], { encoding: 'utf8' });
  t.is(run.status, 78);
  t.regex(run.stderr, /device/);

  // The media worker ships beside it and starts GStreamer without tsx.
  const worker = fork(join(dirname(bundle), 'media-worker.mjs'), [], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ type: string; gstVersion?: string }>((resolve) =>
    worker.once('message', resolve),
  );
  worker.kill();
  t.is(ready.type, 'ready');
  t.regex(ready.gstVersion ?? '', /^1\.22/);

  // So does the CPU pool's worker thread: an SCP record decoded in it, without tsx.
  const pool = new CpuPool({
    log: pino({ level: 'silent' }),
    size: 1,
    entry: { module: join(dirname(bundle), 'cpu-worker.mjs'), execArgv: [] },
  });
  const record = await pool.run('scp-decode', { bytes: readFileSync(file), profile: 'auto' });
  await pool.stop();
  t.is(record.patient.id, 'B-1');
});
