import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import pino from 'pino';
import { encodeScp } from '../../device-drivers/src/scp-ecg/encode.ts';
import { smallRecord } from '../../device-drivers/test/helpers/scp-fixtures.ts';
import { until } from '../../device-drivers/test/helpers/until.ts';
import { CpuPool } from '../src/cpu/cpu-pool.ts';
import { readEcgWaveform } from '../src/dicom/ecg-read.ts';
import { DicomEncodeError } from '../src/dicom/ecg-waveform.ts';
import { type DaemonEvent, EventBus } from '../src/events.ts';
import { CaptureDeferred, CapturePipeline, CaptureUnusable } from '../src/ingest/capture-pipeline.ts';
import { EcgIngest } from '../src/ingest/ecg-ingest.ts';
import type { OpenStudy } from '../src/store/studies.ts';
import type { EncodedInstance } from '../src/store/study-store.ts';
import { type InstanceRow, PRIORITY } from '../src/store/types.ts';
import { tempStore } from './helpers/store.ts';

const log = pino({ level: process.env['TELEMED_TEST_LOG'] ?? 'silent' });

function world(options: { minFreeBytes?: number; freeBytes?: number } = {}) {
  const events: DaemonEvent[] = [];
  const bus = new EventBus((error) => {
    throw error;
  });
  bus.on('test', (e) => events.push(e));
  const { store, dataDir } = tempStore({
    onTransition: (t) => bus.emit({ type: 'instance', ...t }),
    ...(options.minFreeBytes !== undefined ? { minFreeBytes: options.minFreeBytes } : {}),
    ...(options.freeBytes !== undefined ? { freeBytes: () => options.freeBytes! } : {}),
  });
  const pipeline = new CapturePipeline({ store, bus, log });
  return { store, dataDir, bus, events, pipeline };
}

const encodedFor = (row: InstanceRow): EncodedInstance => ({
  study: { uid: '1.2.9', patientId: null, patientName: null, birthDate: null, sex: null },
  seriesUid: `1.2.9.${row.id}`,
  sopUid: `1.2.9.${row.id}.1`,
  dicom: Uint8Array.of(0x44, 0x49, 0x43, 0x4d),
  warnings: [],
});

const still = (n: number) => ({
  kind: 'still' as const,
  source: 'camera',
  bytes: Uint8Array.of(0xff, 0xd8, n, 0xff, 0xd9),
  originalName: null,
  priority: PRIORITY.still,
  incomplete: null,
});

const states = (events: DaemonEvent[], id: number) =>
  events.flatMap((e) => (e.type === 'instance' && e.instanceId === id ? [e.state] : []));

test('one path for every kind: received, encoded by its kind, queued, each state announced once', async (t) => {
  const w = world();
  let seen: Uint8Array | null = null;
  w.pipeline.register({
    kind: 'still',
    noun: 'still',
    encode: (row, original) => {
      seen = original;
      return encodedFor(row);
    },
  });
  const { id, duplicate } = await w.pipeline.receive(still(1));
  t.false(duplicate);
  t.is(await w.pipeline.process(id), 'queued');
  t.deepEqual(
    seen && [...(seen as Uint8Array)],
    [...still(1).bytes],
    'the encoder gets the original as received',
  );
  t.is(w.store.get(id).state, 'queued');
  t.deepEqual(states(w.events, id), ['captured', 'encoded', 'queued']);
  t.is(await w.pipeline.process(id), 'skipped', 'a queued instance is not encoded again');
  t.true((await w.pipeline.receive(still(1))).duplicate);
  t.deepEqual(w.pipeline.counters('still'), {
    received: 1,
    duplicates: 1,
    refused: 0,
    queued: 1,
    setAside: 0,
  });
});

test('what cannot be used is set aside with its reason; what cannot be done now stays captured', async (t) => {
  const w = world();
  let outcome: 'unusable' | 'dicom' | 'deferred' | 'bug' = 'unusable';
  w.pipeline.register({
    kind: 'still',
    noun: 'still',
    encode: () => {
      if (outcome === 'unusable') throw new CaptureUnusable('the JPEG has no frame');
      if (outcome === 'dicom') throw new DicomEncodeError('no study');
      if (outcome === 'deferred') throw new CaptureDeferred('the media worker is restarting');
      throw new TypeError('a bug');
    },
  });
  const a = (await w.pipeline.receive(still(1))).id;
  t.is(await w.pipeline.process(a), 'quarantined');
  t.is(w.store.get(a).quarantine_reason, 'the JPEG has no frame');
  outcome = 'dicom';
  const b = (await w.pipeline.receive(still(2))).id;
  t.is(await w.pipeline.process(b), 'quarantined');
  t.is(w.store.get(b).quarantine_reason, 'cannot make DICOM of the still: no study');
  t.is(w.store.get(b).quarantine_code, 'undecodable');
  for (const kind of ['deferred', 'bug'] as const) {
    outcome = kind;
    const c = (await w.pipeline.receive(still(kind === 'deferred' ? 3 : 4))).id;
    t.is(await w.pipeline.process(c), kind === 'deferred' ? 'deferred' : 'failed');
    t.is(w.store.get(c).state, 'captured', 'kept to be tried again');
  }
  t.is(w.pipeline.counters('still').setAside, 2);
});

test('a transition refused under an encode (set aside meanwhile) fails that run, never the caller', async (t) => {
  const w = world();
  w.pipeline.register({
    kind: 'still',
    noun: 'still',
    encode: async (row) => {
      w.store.quarantine(row.id, 'corrupted', 'a technician set it aside meanwhile');
      return encodedFor(row);
    },
  });
  const id = (await w.pipeline.receive(still(1))).id;
  t.is(await w.pipeline.process(id), 'failed');
  t.is(w.store.get(id).state, 'quarantined', 'not overwritten by the late encode');
});

test('a damaged original is never encoded: set aside as corrupted, the NOC told', async (t) => {
  const w = world();
  let encoded = 0;
  w.pipeline.register({
    kind: 'still',
    noun: 'still',
    encode: (row) => {
      encoded++;
      return encodedFor(row);
    },
  });
  const id = (await w.pipeline.receive(still(1))).id;
  writeFileSync(join(w.dataDir, w.store.get(id).original_path), 'not what was saved');
  t.is(await w.pipeline.process(id), 'quarantined');
  t.is(encoded, 0);
  t.is(w.store.get(id).quarantine_code, 'corrupted');
  t.true(w.events.some((e) => e.type === 'store-problem' && e.code === 'corrupted' && e.instanceId === id));
});

test('a capture the store cannot keep is refused to the caller and announced; nothing is recorded', async (t) => {
  const w = world({ minFreeBytes: 1_000_000, freeBytes: 10 });
  await t.throwsAsync(() => w.pipeline.receive(still(1)), { message: /storage/ });
  t.true(w.events.some((e) => e.type === 'capture-refused' && e.source === 'camera'));
  t.is(w.pipeline.counters('still').refused, 1);
  t.deepEqual(w.store.inState('captured'), []);
});

test('resume: captured instances of the kinds asked for are encoded, encoded ones queued; others wait', async (t) => {
  const w = world();
  w.pipeline.register({ kind: 'still', noun: 'still', encode: encodedFor });
  w.pipeline.register({
    kind: 'document',
    noun: 'document',
    encode: () => {
      throw new Error('not asked for');
    },
  });
  const a = (await w.pipeline.receive(still(1))).id;
  const b = (await w.pipeline.receive(still(2))).id;
  await w.store.attachEncoded(b, encodedFor(w.store.get(b)));
  const doc = (await w.pipeline.receive({ ...still(3), kind: 'document', source: 'scanner' })).id;
  await w.pipeline.resume(['still']);
  t.is(w.store.get(a).state, 'queued');
  t.is(w.store.get(b).state, 'queued');
  t.is(w.store.get(doc).state, 'captured');
});

function ecgWorld(open: OpenStudy | null) {
  const w = world();
  const cpu = new CpuPool({ log, size: 1 });
  const ingest = new EcgIngest({
    pipeline: w.pipeline,
    cpu,
    bus: w.bus,
    log,
    uidRoot: '1.2.826.0.1.3680043.10.1234',
    stationName: 'T-0001',
    institutionName: 'Clinic',
    profileFor: () => 'auto',
    studies: { open: () => open },
  });
  const send = async (bytes: Uint8Array) => {
    await ingest.receive({
      cartId: 'cart-1',
      bytes,
      fileName: 'A.SCP',
      protocol: 'ymodem',
      incomplete: null,
    });
    const id = w.store.recent('1970-01-01')[0]!.id; // the newest
    await until('the ECG processed', () => w.store.get(id).state !== 'captured');
    return w.store.get(id);
  };
  return { ...w, ingest, send, cpu };
}

const openStudy = (patientId: string | null): OpenStudy => ({
  id: 1,
  uid: '1.2.826.0.1.3680043.10.1234.77',
  openedAt: '2026-12-07T08:00:00Z',
  patient: patientId
    ? {
        id: patientId,
        name: '王芳',
        sex: 'F',
        birthDate: '1960-03-04',
        source: 'manual',
        verification: 'unverified',
      }
    : null,
});

test('ECG: a STAT code from the cart puts it first in the queue; a routine one keeps the ECG priority', async (t) => {
  const w = ecgWorld(null);
  const routine = await w.send(encodeScp(smallRecord()));
  t.is(routine.state, 'queued');
  t.is(routine.priority, PRIORITY.ecg);
  const stat = await w.send(encodeScp(smallRecord({ statCode: 3, acquiredAt: '2026-11-27T10:25:00' })));
  t.is(stat.priority, PRIORITY.statEcg);
  t.is(w.store.nextQueued()?.id, stat.id, 'the STAT ECG is the next to go');
  t.is(w.ingest.counters.encoded, 2);
});

test('ECG placement: into the open study under its patient; a cart naming another patient keeps its own study, flagged', async (t) => {
  const same = ecgWorld(openStudy('P-001'));
  const placed = await same.send(encodeScp(smallRecord()));
  t.is(same.store.studyUid(placed.study_id!), '1.2.826.0.1.3680043.10.1234.77');
  const waveform = readEcgWaveform(await same.store.readDicom(placed));
  t.is(waveform.patientName, '王芳', "the study's patient, not the cart's");

  const other = ecgWorld(openStudy('P-999'));
  const apart = await other.send(encodeScp(smallRecord()));
  t.not(other.store.studyUid(apart.study_id!), '1.2.826.0.1.3680043.10.1234.77');
  t.true(other.events.some((e) => e.type === 'ecg-patient-mismatch' && e.instanceId === apart.id));
  t.regex(apart.warnings ?? '', /not the open study's patient/);
});

test("ECG: a record that cannot be decoded is set aside with the decoder's words, the original kept", async (t) => {
  const w = ecgWorld(null);
  const bytes = encodeScp(smallRecord());
  bytes[0] = bytes[0]! ^ 0xff; // the record's CRC no longer matches
  const row = await w.send(bytes);
  t.is(row.state, 'quarantined');
  t.regex(row.quarantine_reason ?? '', /^cannot decode the cart's record: /);
  t.deepEqual([...(await w.store.readOriginal(row))], [...bytes]);
  t.is(w.ingest.counters.decodeFailures, 1);
});
