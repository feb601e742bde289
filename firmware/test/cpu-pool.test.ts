import { fileURLToPath } from 'node:url';
import test from 'ava';
import pino from 'pino';
import { decodeScp } from '../../device-drivers/src/scp-ecg/decode.ts';
import { encodeScp } from '../../device-drivers/src/scp-ecg/encode.ts';
import { smallRecord } from '../../device-drivers/test/helpers/scp-fixtures.ts';
import { CpuPool, CpuTaskError } from '../src/cpu/cpu-pool.ts';
import { DicomEncodeError } from '../src/dicom/ecg-waveform.ts';

const log = pino({ level: 'silent' });

test('a task run in a worker thread gives what the same call gives in-process', async (t) => {
  const pool = new CpuPool({ log, size: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  const bytes = encodeScp(smallRecord());
  const [a, b] = await Promise.all([
    pool.run('scp-decode', { bytes, profile: 'auto' }),
    pool.run('scp-decode', { bytes, profile: 'auto' }),
  ]);
  const here = decodeScp(bytes, { profile: 'auto' });
  t.deepEqual(
    a.leads.map((l) => [...l.samples]),
    here.leads.map((l) => [...l.samples]),
  );
  t.deepEqual(b.patient, here.patient);
  t.like(pool.snapshot(), { workers: 2, tasks: 2, failures: 0 });
});

test('failures come back typed: an undecodable record, a DICOM refusal', async (t) => {
  const pool = new CpuPool({ log, size: 1 });
  t.teardown(() => pool.stop());
  const garbage = await t.throwsAsync(
    () => pool.run('scp-decode', { bytes: Uint8Array.of(1, 2, 3), profile: 'auto' }),
    {
      instanceOf: CpuTaskError,
    },
  );
  t.is(garbage?.kind, 'undecodable');
  const record = decodeScp(encodeScp(smallRecord()), { profile: 'auto' });
  await t.throwsAsync(
    () =>
      pool.run('ecg-waveform', {
        record: { ...record, leads: [] },
        original: Uint8Array.of(1),
        originalName: null,
        uids: { study: '1.2', series: '1.2.3', sop: '1.2.3.4' },
        instanceNumber: 1,
        seriesNumber: 1,
        stationName: 'T',
        institutionName: 'C',
        receivedAt: new Date(),
      }),
    { instanceOf: DicomEncodeError, message: 'the record holds no leads' },
  );
});

test('a worker that dies fails the task it held and is replaced; a stopped pool refuses', async (t) => {
  const pool = new CpuPool({
    log,
    size: 1,
    entry: {
      module: fileURLToPath(new URL('./helpers/exiting-worker.ts', import.meta.url)),
      execArgv: ['--import', 'tsx'],
    },
  });
  pool.start();
  const error = await t.throwsAsync(
    () => pool.run('scp-decode', { bytes: Uint8Array.of(1), profile: 'auto' }),
    {
      instanceOf: CpuTaskError,
    },
  );
  t.regex(error?.message ?? '', /exited \(code 3\)/);
  t.like(pool.snapshot(), { workers: 1, restarts: 1 });
  await pool.stop();
  await t.throwsAsync(() => pool.run('scp-decode', { bytes: Uint8Array.of(1), profile: 'auto' }), {
    message: 'the CPU pool is stopped',
  });
});
