import test from 'ava';
import dcmjs from 'dcmjs';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { synthEcgRecord } from '../src/cart/synth-ecg.ts';
import { localApi, until, world } from './helpers/harness.ts';

type World = Awaited<ReturnType<typeof world>>;

const card = {
  name: '李四',
  sexCode: '2',
  ethnicityCode: '01',
  birthDate: '19851203',
  address: '河南省郑州市测试路1号',
  idNumber: '410203198512030020',
  issuingOffice: '郑州市公安局',
  validFrom: '20200101',
  validTo: '20400101',
};

/** Scans one page and sends it: a document in whatever study is open. Returns its DICOM as delivered. */
async function documentInOpenStudy(w: World): Promise<Record<string, unknown>> {
  const api = localApi(w);
  ok(await api.post('/api/v1/scans', { pages: 1 }));
  await until('page scanned', async () => {
    const s = (await api.status()).scanner;
    return s.job === 'idle' && s.pages.length === 1;
  });
  const sent = (await (await api.post('/api/v1/document/send')).json()) as { instanceId: number };
  await until('delivered', () => w.daemon.store.get(sent.instanceId).state === 'delivered');
  const bytes = await w.rig.dcs.A.instanceFile(w.daemon.store.get(sent.instanceId).sop_uid!);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(
    dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    ).dict,
  ) as Record<string, unknown>;
}

function ok(res: Response): void {
  if (!res.ok) throw new Error(`request refused: ${res.status}`);
}

test.serial(
  'an ID card and a QR label each open a study for the right patient; captures carry the patient; a refused code changes nothing',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);
    await until(
      'reader and scanner connected',
      async () => {
        const s = await api.status();
        return s.idReaders[0]?.state === 'connected' && s.hidScanners[0]?.state === 'connected';
      },
      20_000,
    );

    // The ID card: a study opens for 李四, and a document scanned now is hers.
    w.rig.idReader.present(card, 1500);
    const first = await until('study for the card holder', async () => {
      const s = await api.status();
      return s.study?.patient?.name === '李四' ? s.study : false;
    });
    t.like(first.patient, { idNumberMasked: '4102**********0020', sex: 'F', source: 'id-card' });
    const doc1 = await documentInOpenStudy(w);
    t.is(doc1['StudyInstanceUID'], first.uid);
    t.is(doc1['PatientID'], '410203198512030020');
    t.is(doc1['PatientSex'], 'F');
    t.is(doc1['PatientBirthDate'], '19851203');
    t.deepEqual(doc1['PatientName'], [{ Alphabetic: '李四' }]);

    // A clinic label QR in HID POS mode (UTF-8 name): the card holder's study is closed, the new
    // patient's opened.
    w.rig.hidScanner.setMode('pos'); // the scanner re-enumerates; the driver opens it again
    await until(
      'POS scan taken',
      () => w.rig.hidScanner.scan('TMP1|410105197001020018|赵六|M|1970-01-02'),
      10_000,
    );
    const second = await until('study for the label', async () => {
      const s = await api.status();
      return s.study?.patient?.name === '赵六' ? s.study : false;
    });
    t.not(second.uid, first.uid);
    t.is((await api.status()).hidScanners[0]?.mode, 'pos');
    const doc2 = await documentInOpenStudy(w);
    t.is(doc2['StudyInstanceUID'], second.uid);
    t.is(doc2['PatientID'], '410105197001020018');

    // Codes that identify nobody are refused with the reason; the study stays.
    t.true(w.rig.hidScanner.scan('TMP1|410105197001020019|钱七|M|1970-01-02'));
    t.true(w.rig.hidScanner.scan('https://example.com/not-a-patient'));
    await until(
      'two refusals',
      async () => (await api.status()).notices.filter((n) => n.code === 'patient-code-refused').length === 2,
    );
    const refusals = (await api.status()).notices.filter((n) => n.code === 'patient-code-refused');
    t.regex(refusals[0]!.message, /check digit/);
    t.regex(refusals[1]!.message, /neither a patient label nor a resident ID number/);
    t.is((await api.status()).study?.uid, second.uid);

    // A bare ID number typed by a keyboard-wedge scanner: identified, the name left for staff.
    w.rig.hidScanner.setMode('wedge');
    await until('wedge scan taken', () => w.rig.hidScanner.scan('11010519491231002X'));
    const third = await until('study for the bare number', async () => {
      const s = await api.status();
      return s.study?.patient?.idNumberMasked === '1101**********002X' ? s.study : false;
    });
    t.is(third.patient?.name, '');
    t.is(third.patient?.sex, 'F');

    // Manual entry on the kiosk, then the patient leaves.
    const bad = await api.post('/api/v1/patient', { idNumber: '410105197001020018', sex: 'F' });
    t.is(bad.status, 400);
    t.regex(((await bad.json()) as { error: string }).error, /name is required/);
    const wrongSex = await api.post('/api/v1/patient', {
      idNumber: '410105197001020018',
      name: '赵六',
      sex: 'F',
    });
    t.regex(((await wrongSex.json()) as { error: string }).error, /sex given does not match/);
    t.is((await api.post('/api/v1/patient', { idNumber: '410105197001020018', name: '赵六' })).status, 200);
    t.is((await api.status()).study?.patient?.source, 'manual');
    t.is((await api.post('/api/v1/study/close')).status, 200);
    t.is((await api.status()).study, null);
    t.is((await api.status()).patient, null);
  },
);

test.serial(
  'the barcode scanner: a burst of 50 scans, unplug and replug; the daemon keeps running',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);
    await until(
      'scanner connected',
      async () => (await api.status()).hidScanners[0]?.state === 'connected',
      20_000,
    );
    for (let i = 0; i < 50; i++)
      t.true(w.rig.hidScanner.scan(i % 2 ? '410203198512030020' : '410105197001020018'));
    await until('50 scans decoded', async () => (await api.status()).hidScanners[0]?.scans === 50);
    t.is((await api.status()).study?.patient?.idNumberMasked, '4102**********0020', 'the last scan wins');

    w.rig.hidScanner.unplug();
    await until('scanner searching', async () => (await api.status()).hidScanners[0]?.state === 'searching');
    t.true(
      (await api.status()).notices.some(
        (n) => n.code === 'hid-scanner-problem' && /scanner lost/.test(n.message),
      ),
    );
    w.rig.hidScanner.plug();
    await until(
      'scanner back',
      async () => (await api.status()).hidScanners[0]?.state === 'connected',
      20_000,
    );
    await until('a scan after replug', () => w.rig.hidScanner.scan('410105197001020018'));
    await until(
      'identified again',
      async () => (await api.status()).study?.patient?.idNumberMasked === '4101**********0018',
    );
    t.is((await api.status()).queueDepth, 0);
  },
);

test.serial(
  'an ECG goes into the open study under its patient; one whose cart names another patient is kept apart and flagged',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);
    await until(
      'reader connected',
      async () => (await api.status()).idReaders[0]?.state === 'connected',
      20_000,
    );
    w.rig.idReader.present(card, 1500);
    const study = await until('study for the card holder', async () => (await api.status()).study ?? false);
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    const deliveredEcg = async (seed: number, patientId: string) => {
      await cart.send([
        {
          name: `ECG${seed}.SCP`,
          bytes: synthEcgRecord({
            seed,
            patient: { id: patientId, lastName: '李', firstName: '四', sex: 'F', birthDate: '1985-12-03' },
          }),
        },
      ]);
      const row = await until('ECG delivered', () =>
        w.daemon.store
          .inState('delivered')
          .find((r) => r.kind === 'ecg' && r.original_name === `ECG${seed}.SCP`),
      );
      const bytes = await w.rig.dcs.A.instanceFile(row.sop_uid!);
      return {
        row,
        ds: dcmjs.data.DicomMetaDictionary.naturalizeDataset(
          dcmjs.data.DicomMessage.readFile(
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
          ).dict,
        ) as Record<string, unknown>,
      };
    };
    const same = await deliveredEcg(1, '410203198512030020');
    t.is(same.ds['StudyInstanceUID'], study.uid);
    t.is(same.ds['PatientID'], '410203198512030020');
    t.deepEqual(same.ds['PatientName'], [{ Alphabetic: '李四' }]);
    const other = await deliveredEcg(2, 'BED-7');
    t.not(other.ds['StudyInstanceUID'], study.uid, 'kept in its own study');
    t.is(other.ds['PatientID'], 'BED-7', "the cart's own patient");
    t.regex(other.row.warnings ?? '', /not the open study's patient/);
    t.true((await api.status()).notices.some((n) => n.code === 'ecg-patient-mismatch'));
  },
);
