import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { isSealedFile } from '../../firmware/src/store/at-rest.ts';
import {
  chooseKeyStore,
  type DataKeyConfig,
  loadOrCreateDataKey,
} from '../../firmware/src/store/data-key.ts';
import { StudyStore } from '../../firmware/src/store/study-store.ts';
import { cli, writeConfig } from '../../firmware/test/helpers/cli.ts';
import { SoftTpm } from '../src/services/soft-tpm.ts';

const haveTools = ['/usr/bin/swtpm', '/usr/bin/tpm2_unseal'].every((f) => existsSync(f));
const tpmTest = testWhen(haveTools, 'swtpm or tpm2-tools missing (bash .ci/setup installs them)', true);

const keyConfig = (tcti: string): DataKeyConfig => ({
  keyStore: 'auto',
  keyFile: null,
  tpmTcti: tcti,
  tpmHandle: '0x81000A11',
});

tpmTest(
  'the data key sealed in a TPM 2.0: made once, unsealed after a reboot of the TPM, crypto-erased by factory-reset',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tpm-key-'));
    const dataDir = join(dir, 'data');
    let tpm = await SoftTpm.start(dir);
    t.teardown(() => tpm.stop());
    const keys = chooseKeyStore(keyConfig(tpm.tcti), dataDir);
    t.is(keys.kind, 'tpm', 'auto: no key file, a TPM configured');
    t.false(keys.present());
    const store = new StudyStore({ dataDir, minFreeBytes: 0, dataKeys: keys });
    t.true(store.dataKey!.created);
    t.is(store.dataKey!.where, 'TPM persistent handle 0x81000A11');
    t.false(existsSync(join(dataDir, 'keys')), 'no key file on the disk');
    const id = (
      await store.receive({
        kind: 'ecg',
        source: 'cart-1',
        bytes: Buffer.from('ECG of 110101199003071234'),
        originalName: null,
        priority: 1,
        incomplete: null,
      })
    ).id;
    const row = store.get(id);
    t.true(isSealedFile(readFileSync(join(dataDir, row.original_path))));
    const fingerprint = store.dataKey!.fingerprint;
    store.close();

    // The board powers off and on: the TPM keeps its persistent object (NV), the firmware unseals it.
    await tpm.stop();
    tpm = await SoftTpm.start(dir);
    const again = new StudyStore({
      dataDir,
      minFreeBytes: 0,
      dataKeys: chooseKeyStore(keyConfig(tpm.tcti), dataDir),
    });
    t.false(again.dataKey!.created);
    t.is(again.dataKey!.fingerprint, fingerprint);
    t.is(Buffer.from(await again.readOriginal(again.get(id))).toString(), 'ECG of 110101199003071234');
    t.throws(() => chooseKeyStore(keyConfig(tpm.tcti), dataDir).create(Buffer.alloc(32)), {
      message: /0x81000A11 is already in use/,
    });
    again.close();

    const config = join(dir, 'config.json');
    writeConfig(config, dataDir, { storage: { encryption: { keyStore: 'tpm', tpmTcti: tpm.tcti } } });
    const reset = await cli(['factory-reset', '--config', config, '--confirm', 'T-0001']);
    t.is(reset.code, 0, reset.stderr);
    t.regex(
      reset.stderr,
      new RegExp(`data key ${fingerprint} destroyed \\(TPM persistent handle 0x81000A11\\)`),
    );
    t.false(chooseKeyStore(keyConfig(tpm.tcti), dataDir).present(), 'the TPM object is evicted');
    t.deepEqual(readdirSync(dataDir), []);
    // A fresh start makes a new key in the TPM.
    const { created } = loadOrCreateDataKey(chooseKeyStore(keyConfig(tpm.tcti), dataDir));
    t.true(created);
  },
);
