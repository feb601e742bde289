import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type StudyPatient, StudyRows } from '../src/store/studies.ts';
import { StudyStore } from '../src/store/study-store.ts';

function rows() {
  const store = new StudyStore({ dataDir: mkdtempSync(join(tmpdir(), 'studies-')), minFreeBytes: 0 });
  let n = 0;
  return {
    store,
    rows: new StudyRows(
      store.db,
      () => new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString(),
      store.atRest,
    ),
  };
}

const uid = (row: number) => `1.2.3.${row}`;
const li: StudyPatient = {
  id: '410203198512030020',
  name: '李四',
  sex: 'F',
  birthDate: '1985-12-03',
  source: 'id-card',
  verification: 'unverified',
};
const zhao: StudyPatient = {
  ...li,
  id: '410105197001020018',
  name: '赵六',
  sex: 'M',
  birthDate: '1970-01-02',
};

test('one study open at a time: captures open one without a patient; identifying reuses it while empty', (t) => {
  const { rows: r } = rows();
  t.is(r.open(), null);
  const anonymous = r.current(uid);
  t.is(anonymous.patient, null);
  t.is(r.current(uid).uid, anonymous.uid, 'the same study until it is closed');
  const { study, opened } = r.openFor(li, uid);
  t.false(opened, 'an empty study without a patient becomes the patient’s');
  t.is(study.uid, anonymous.uid);
  t.deepEqual(r.open()?.patient, li);
  t.is(r.patientOf(anonymous.uid)?.name, '李四');
});

test('another patient closes the open study and opens theirs; the same patient again changes nothing; close', (t) => {
  const { rows: r } = rows();
  const first = r.openFor(li, uid).study;
  t.false(r.openFor(li, uid).opened);
  const second = r.openFor(zhao, uid);
  t.true(second.opened);
  t.not(second.study.uid, first.uid);
  t.is(r.open()?.patient?.name, '赵六');
  t.is(r.patientOf(first.uid)?.name, '李四', 'the closed study keeps its patient');
  t.is(r.close()?.uid, second.study.uid);
  t.is(r.open(), null);
  t.is(r.close(), null);
});

test('a study with captures in it is not taken over by the next patient', async (t) => {
  const { store, rows: r } = rows();
  const anonymous = r.current(uid);
  const { id } = await store.receive({
    kind: 'still',
    source: 'camera',
    bytes: Uint8Array.from([0xff, 0xd8, 1]),
    originalName: null,
    priority: 2,
    incomplete: null,
  });
  await store.attachEncoded(id, {
    study: { uid: anonymous.uid, patientId: null, patientName: null, birthDate: null, sex: null },
    seriesUid: '1.2.3.9.1',
    sopUid: '1.2.3.9.2',
    dicom: Uint8Array.from([0]),
    warnings: [],
  });
  const { study, opened } = r.openFor(li, uid);
  t.true(opened, 'what was captured before stays without a patient rather than being relabelled');
  t.not(study.uid, anonymous.uid);
});
