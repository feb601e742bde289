import { createCipheriv, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { AesGcmAtRest, type AtRest, isSealedFile, NO_ENCRYPTION } from '../src/store/at-rest.ts';
import { chooseKeyStore, DataKeyError, FileKeyStore, type RunCommand } from '../src/store/data-key.ts';
import { keyFingerprint, StudyStore } from '../src/store/study-store.ts';
import { StoreError } from '../src/store/types.ts';
import { cli, writeConfig } from './helpers/cli.ts';
import { ecgInput, encodeAndQueue, tempStore } from './helpers/store.ts';

const key = () => randomBytes(32);
/** The sealed file as it is written to disk (sealFile gives its parts, to be written in order). */
const seal = async (atRest: AtRest, plain: Uint8Array) => Buffer.concat(await atRest.sealFile(plain));
/** `fn` throws a StoreError CORRUPTED. */
function throwsCorrupted(t: ExecutionContext, fn: () => unknown): void {
  t.is(t.throws(fn, { instanceOf: StoreError })?.code, 'CORRUPTED');
}
/** `fn` rejects with a StoreError CORRUPTED (with `message` when given). */
async function rejectsCorrupted(
  t: ExecutionContext,
  fn: () => Promise<unknown>,
  message?: RegExp,
): Promise<StoreError | undefined> {
  const error = await t.throwsAsync(fn, { instanceOf: StoreError, ...(message ? { message } : {}) });
  t.is(error?.code, 'CORRUPTED');
  return error;
}

test('files: sealed and opened again exactly; the sealed bytes hold no trace of the plaintext', async (t) => {
  const atRest = new AesGcmAtRest(key());
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (plain) => {
      const sealed = await seal(atRest, plain);
      t.true(isSealedFile(sealed));
      t.is(sealed.length, plain.length + 33);
      t.deepEqual(new Uint8Array(await atRest.openFile(sealed, 'f')), plain);
    }),
  );
  const marker = Buffer.from('ZHANG SAN 110101199003071234 '.repeat(20));
  t.is((await seal(atRest, marker)).indexOf('110101199003071234'), -1);
  // Two seals of the same bytes differ (a fresh nonce each time).
  t.notDeepEqual(await seal(atRest, marker), await seal(atRest, marker));
  t.deepEqual(await NO_ENCRYPTION.openFile(Uint8Array.of(1, 2), 'f'), Uint8Array.of(1, 2));
  t.deepEqual(await seal(NO_ENCRYPTION, Uint8Array.of(1, 2)), Buffer.of(1, 2));
});

test('files sealed before sealing ran off the event loop (node:crypto, one buffer) still open', async (t) => {
  const k = key();
  const plain = Buffer.from('an ECG sealed by firmware of issue 5');
  // The version-1 format as the earlier firmware wrote it, built here with node:crypto's streaming API.
  const header = Buffer.concat([Buffer.from('TTAR'), Buffer.of(1), randomBytes(12)]);
  const cipher = createCipheriv('aes-256-gcm', k, header.subarray(5));
  cipher.setAAD(header);
  const old = Buffer.concat([header, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  t.deepEqual(Buffer.from(await new AesGcmAtRest(k).openFile(old, 'f')), plain);
});

test('files: any changed byte, a cut, or another key is CORRUPTED, never wrong bytes', async (t) => {
  const atRest = new AesGcmAtRest(key());
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 512 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (plain, at, flip) => {
        const sealed = await seal(atRest, plain);
        const i = at % sealed.length;
        sealed[i] = sealed[i]! ^ flip;
        // A flip inside the magic makes it a "plaintext" file: returned as is, then the content
        // hash (checked by every reader of the store) refuses it; anywhere else it is CORRUPTED.
        if (i < 4) t.false(isSealedFile(sealed));
        else await rejectsCorrupted(t, () => atRest.openFile(sealed, 'f'));
      },
    ),
    { numRuns: 50 },
  );
  const sealed = await seal(atRest, Buffer.from('an ECG'));
  await rejectsCorrupted(t, () => atRest.openFile(sealed.subarray(0, sealed.length - 1), 'f'));
  const other = new AesGcmAtRest(key());
  const error = await rejectsCorrupted(t, () => other.openFile(sealed, 'the original of instance 7'));
  t.regex(error?.message ?? '', /the original of instance 7 cannot be decrypted: .*another key/);
});

test('files: whatever bytes are read back, opening fails only with a StoreError (fuzzed)', async (t) => {
  const atRest = new AesGcmAtRest(key());
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (tail, magic) => {
      const bytes = magic ? Buffer.concat([Buffer.from('TTAR'), tail]) : Buffer.from(tail);
      try {
        await atRest.openFile(bytes, 'f');
      } catch (error) {
        t.true(error instanceof StoreError);
      }
    }),
  );
});

test('fields: sealed per column; a sealed value moved to another column does not open', (t) => {
  const atRest = new AesGcmAtRest(key());
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (value) => {
      const sealed = atRest.sealField('patient_name', value)!;
      t.true(sealed.startsWith('enc1:'));
      t.is(atRest.openField('patient_name', sealed), value);
    }),
  );
  t.is(atRest.sealField('patient_name', null), null);
  t.is(
    atRest.openField('patient_name', '张三'),
    '张三',
    'a plaintext field from before encryption reads as is',
  );
  const name = atRest.sealField('patient_name', '张三');
  throwsCorrupted(t, () => atRest.openField('patient_id', name));
  throwsCorrupted(t, () => atRest.openField('patient_name', 'enc1:AAAA'));
  t.is(NO_ENCRYPTION.sealField('patient_name', '张三'), '张三');
});

test('key file: made 0600 in a 0700 directory; refused when others can read it or it is the wrong size; erased', (t) => {
  const { dataDir } = tempStore();
  const store = chooseKeyStore(
    { keyStore: 'auto', keyFile: null, tpmTcti: null, tpmHandle: '0x81000A11' },
    dataDir,
    { exists: (p) => p.startsWith(dataDir) && existsSync(p) },
  );
  t.is(store.kind, 'file', 'no TPM on this board: a key file');
  t.is(store.where, join(dataDir, 'keys', 'data.key'));
  t.is(store.load(), null);
  const k = key();
  store.create(k);
  t.is(statSync(store.where).mode & 0o777, 0o600);
  t.is(statSync(dirname(store.where)).mode & 0o777, 0o700);
  t.deepEqual(store.load(), k);
  t.throws(() => store.create(key()), { instanceOf: DataKeyError, message: /already exists/ });
  chmodSync(store.where, 0o644);
  t.throws(() => store.load(), {
    instanceOf: DataKeyError,
    message: /can be read by others \(mode 644\): chmod 600/,
  });
  chmodSync(store.where, 0o600);
  store.erase();
  t.false(existsSync(store.where));
  writeFileSync(store.where, Buffer.alloc(16), { mode: 0o600 });
  t.throws(() => store.load(), { instanceOf: DataKeyError, message: /holds 16 bytes, not 32/ });
});

test('key store choice: an existing key file stays; else the TPM when the board has one; a failing TPM tool says what failed', (t) => {
  const config = {
    keyStore: 'auto' as const,
    keyFile: '/k/data.key',
    tpmTcti: null,
    tpmHandle: '0x81000A11',
  };
  t.is(chooseKeyStore(config, '/d', { exists: (p) => p === '/dev/tpmrm0' }).kind, 'tpm');
  t.is(
    chooseKeyStore(config, '/d', { exists: (p) => p === '/dev/tpmrm0' || p === '/k/data.key' }).kind,
    'file',
  );
  t.is(chooseKeyStore(config, '/d', { exists: () => false }).kind, 'file');
  t.is(chooseKeyStore({ ...config, tpmTcti: 'swtpm:port=1' }, '/d', { exists: () => false }).kind, 'tpm');
  const failing: RunCommand = (command) => ({
    status: 1,
    stdout: Buffer.alloc(0),
    stderr: `WARNING: esys\nERROR: ${command}: tpm:error(2.0): the TPM is in lockout\n`,
  });
  const tpm = chooseKeyStore({ ...config, keyStore: 'tpm' }, '/d', { run: failing });
  t.throws(() => tpm.load(), {
    instanceOf: DataKeyError,
    message: /tpm2_getcap failed \(exit 1\): ERROR: tpm2_getcap: tpm:error\(2.0\): the TPM is in lockout/,
  });
});

test('the store seals originals, DICOM files and patient fields; reads give the plaintext back', async (t) => {
  const { dataDir } = tempStore();
  const keys = new FileKeyStore(join(dataDir, 'keys', 'data.key'));
  const { store } = tempStore({ dataKeys: keys });
  t.is(store.atRest.mode, 'aes-256-gcm');
  t.true(store.dataKey!.created);
  t.is(store.dataKey!.fingerprint, keyFingerprint(keys.load()!));
  const ecg = Buffer.from('SCP-ECG of 110101199003071234 '.repeat(10));
  const id = (await store.receive(ecgInput(ecg))).id;
  await store.attachEncoded(id, {
    study: {
      uid: '1.2.3',
      patientId: '110101199003071234',
      patientName: '张三',
      birthDate: '1990-03-07',
      sex: 'M',
    },
    seriesUid: '1.2.3.1',
    sopUid: '1.2.3.1.1',
    dicom: Buffer.from('DICOM 张三 110101199003071234'),
    warnings: [],
  });
  const row = store.get(id);
  for (const path of [row.original_path, row.dicom_path!]) {
    const onDisk = readFileSync(join(store.dataDir, path));
    t.true(isSealedFile(onDisk), path);
    t.is(onDisk.indexOf('110101199003071234'), -1, `${path} holds no ID number`);
  }
  t.deepEqual(Buffer.from(await store.readOriginal(row)), ecg);
  t.is(Buffer.from(await store.readDicom(row)).toString(), 'DICOM 张三 110101199003071234');
  const raw = store.db.prepare('SELECT * FROM studies').get() as Record<string, string>;
  for (const column of ['patient_id', 'patient_name', 'patient_birth_date', 'patient_sex'])
    t.regex(raw[column]!, /^enc1:/, column);
  t.is(JSON.stringify(raw).indexOf('110101199003071234'), -1);
  const listed = store.recent('2000-01-01')[0]!;
  t.is(listed.patient_name, '张三');
  t.is(listed.patient_id, '110101199003071234');
});

test('a sealed file changed on disk is CORRUPTED when read, never handed on as good', async (t) => {
  const { dataDir } = tempStore();
  const { store } = tempStore({ dataKeys: new FileKeyStore(join(dataDir, 'data.key')) });
  const id = (await store.receive(ecgInput(Buffer.from('an ECG record')))).id;
  await encodeAndQueue(store, id);
  const row = store.get(id);
  for (const path of [row.original_path, row.dicom_path!]) {
    const file = join(store.dataDir, path);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 1;
    writeFileSync(file, bytes);
  }
  await rejectsCorrupted(t, () => store.readOriginal(row), /cannot be decrypted/);
  const damaged = await t.throwsAsync(() => store.readDicom(row), {
    instanceOf: StoreError,
    message: /DICOM file of instance/,
  });
  t.is(damaged?.code, 'CORRUPTED');
});

test('the store refuses to start with a lost key, a different key, or encryption turned off over sealed data', async (t) => {
  const { dataDir } = tempStore();
  const keyFile = join(dataDir, 'k', 'data.key');
  const first = tempStore({ dataKeys: new FileKeyStore(keyFile) });
  await first.store.receive(ecgInput(Buffer.from('ECG')));
  const fingerprint = first.store.dataKey!.fingerprint;
  first.store.close();
  const reopen = (dataKeys: FileKeyStore | null) => tempStoreAt(first.dataDir, dataKeys);
  const again = reopen(new FileKeyStore(keyFile));
  t.false(again.dataKey!.created);
  t.is(again.dataKey!.fingerprint, fingerprint);
  again.close();
  t.throws(() => reopen(null), {
    instanceOf: DataKeyError,
    message: new RegExp(
      `encryption.enabled is false, but this store holds data sealed under data key ${fingerprint}`,
    ),
  });
  const other = join(dataDir, 'other.key');
  writeFileSync(other, key(), { mode: 0o600 });
  t.throws(() => reopen(new FileKeyStore(other)), {
    instanceOf: DataKeyError,
    message: /wrong key store is configured, or the key was replaced/,
  });
  new FileKeyStore(keyFile).erase();
  t.throws(() => reopen(new FileKeyStore(keyFile)), {
    instanceOf: DataKeyError,
    message: /the data key is gone from .*: restore the key, or factory-reset the terminal/,
  });
  t.false(existsSync(keyFile), 'no new key was made in place of the lost one');
});

test('turning encryption on: patient fields from before are sealed, plaintext files still read', async (t) => {
  const plain = tempStore();
  const id = (await plain.store.receive(ecgInput(Buffer.from('old ECG')))).id;
  await plain.store.attachEncoded(id, {
    study: { uid: '1.2.9', patientId: 'P-7', patientName: '李四', birthDate: null, sex: 'F' },
    seriesUid: '1.2.9.1',
    sopUid: '1.2.9.1.1',
    dicom: Buffer.from('old DICOM'),
    warnings: [],
  });
  plain.store.close();
  const sealed = tempStoreAt(plain.dataDir, new FileKeyStore(join(plain.dataDir, 'keys', 'data.key')));
  const raw = sealed.db.prepare('SELECT patient_name, patient_id FROM studies').get() as Record<
    string,
    string
  >;
  t.regex(raw['patient_name']!, /^enc1:/);
  const row = sealed.get(id);
  t.is(sealed.recent('2000-01-01')[0]!.patient_name, '李四');
  t.is(Buffer.from(await sealed.readOriginal(row)).toString(), 'old ECG');
  t.is(Buffer.from(await sealed.readDicom(row)).toString(), 'old DICOM');
});

test('telemed data-key makes the root-only key file once; the daemon reads it from the systemd credential', async (t) => {
  const { dataDir, store } = tempStore({ dataKeys: null });
  store.close();
  const config = writeConfig(join(dirname(dataDir), `${dataDir.split('/').at(-1)}-key.json`), dataDir);
  const made = await cli(['data-key', '--config', config]);
  t.is(made.code, 0, made.stderr);
  const first = JSON.parse(made.stdout) as {
    keyStore: string;
    where: string;
    fingerprint: string;
    created: boolean;
  };
  t.like(first, { keyStore: 'file', where: join(dataDir, 'keys', 'data.key'), created: true });
  t.is(statSync(first.where).mode & 0o777, 0o600);
  const again = JSON.parse((await cli(['data-key', '--config', config])).stdout) as typeof first;
  t.like(again, { fingerprint: first.fingerprint, created: false });
  // systemd's LoadCredential= copies the file into the service's credentials directory; the
  // daemon, not root, cannot read the file itself — it finds the key there.
  const credentials = mkdtempSync(join(tmpdir(), 'credentials-'));
  writeFileSync(join(credentials, 'telemed-data-key'), readFileSync(first.where), { mode: 0o400 });
  const keys = chooseKeyStore(
    {
      keyStore: 'auto',
      keyFile: join(dataDir, 'unreadable', 'data.key'),
      tpmTcti: null,
      tpmHandle: '0x81000A11',
    },
    dataDir,
    {
      env: { CREDENTIALS_DIRECTORY: credentials },
      exists: (p) => p.startsWith(credentials) && existsSync(p),
    },
  );
  t.is(keys.kind, 'file');
  const daemonStore = tempStoreAt(dataDir, keys as FileKeyStore);
  t.is(daemonStore.dataKey!.fingerprint, first.fingerprint);
  t.false(daemonStore.dataKey!.created);
  daemonStore.close();
});

test('telemed factory-reset: the key is destroyed first, then the data directory emptied; a wrong --confirm or a running daemon stops it', async (t) => {
  const { dataDir, store } = tempStore({ dataKeys: null });
  store.close();
  const keyFile = join(dataDir, 'keys', 'data.key');
  const sealedStore = tempStoreAt(dataDir, new FileKeyStore(keyFile));
  const id = (await sealedStore.receive(ecgInput(Buffer.from('ECG of a patient')))).id;
  const original = readFileSync(join(dataDir, sealedStore.get(id).original_path));
  const fingerprint = sealedStore.dataKey!.fingerprint;
  const config = join(dirname(dataDir), `${dataDir.split('/').at(-1)}.json`);
  writeConfig(config, dataDir);
  const wrong = await cli(['factory-reset', '--config', config, '--confirm', 'T-0002']);
  t.is(wrong.code, 64);
  t.regex(wrong.stderr, /this terminal is T-0001; repeat its ID/);
  // The store is open in this (test) process: the CLI, another process, sees it as the daemon's.
  const busy = await cli(['factory-reset', '--config', config, '--confirm', 'T-0001']);
  t.is(busy.code, 75, busy.stderr);
  t.regex(busy.stderr, new RegExp(`the store is open in process ${process.pid}.*stop it first`));
  t.true(existsSync(keyFile));
  sealedStore.close();
  const done = await cli(['factory-reset', '--config', config, '--confirm', 'T-0001']);
  t.is(done.code, 0, done.stderr);
  const report = JSON.parse(done.stdout) as { keyErased: boolean; fingerprint: string; removed: string[] };
  t.true(report.keyErased);
  t.is(report.fingerprint, fingerprint);
  t.true(report.removed.includes('originals') && report.removed.includes('store.sqlite'));
  t.deepEqual(readdirSync(dataDir), []);
  t.regex(done.stderr, new RegExp(`data key ${fingerprint} destroyed`));
  // A copy of a sealed file taken before the reset opens under no key the terminal has now.
  const fresh = tempStoreAt(dataDir, new FileKeyStore(keyFile));
  t.true(fresh.dataKey!.created);
  await rejectsCorrupted(t, () => fresh.atRest.openFile(original, 'an old copy'));
});

function tempStoreAt(dataDir: string, dataKeys: FileKeyStore | null): StudyStore {
  return new StudyStore({ dataDir, minFreeBytes: 0, freeBytes: () => 10 ** 12, dataKeys });
}
