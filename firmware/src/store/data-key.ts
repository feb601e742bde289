import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DATA_KEY_BYTES } from './at-rest.ts';
import { fsyncDirectory, writeFileDurableSync } from './durable-file.ts';

/**
 * Where the device's data key lives (issue 5 §5).
 * - `tpm`: sealed in the TPM as a persistent keyed-hash object under the owner hierarchy
 *   (tpm2-tools: createprimary, create -i, load, evictcontrol). The key never rests on the disk;
 *   `tpm2_unseal` reads it at start. Erasing is `tpm2_evictcontrol` on the handle: the object is
 *   gone from the TPM's NV memory, and with it every sealed file.
 * - `file`: a file only the service's user (and root) can read — mode 0600 in a 0700 directory —
 *   on the data partition, for boards without a TPM. It protects a card pulled from the terminal only if the card is also encrypted
 *   below us; erasing overwrites and unlinks it, which flash translation layers may not honour
 *   block for block, so boards without a TPM should also discard the partition on reset.
 */
export type KeyStoreKind = 'tpm' | 'file';

export interface DataKeyConfig {
  keyStore: 'auto' | KeyStoreKind;
  /** Null: `<dataDir>/keys/data.key`. */
  keyFile: string | null;
  /** TPM2TOOLS_TCTI for tpm2-tools (e.g. `swtpm:host=127.0.0.1,port=2321`); null: the tools' default (/dev/tpmrm0). */
  tpmTcti: string | null;
  /** The persistent handle the sealed key lives at (owner range 0x81000000–0x817FFFFF). */
  tpmHandle: string;
}

export interface DataKeyStore {
  readonly kind: KeyStoreKind;
  /** For logs and the technician: the file, or the TPM handle. */
  readonly where: string;
  /** Whether a key is there (without reading it). */
  present(): boolean;
  /** The key, or null when there is none yet. */
  load(): Buffer | null;
  /** Keeps a new key; refuses when one is already there (a second key would orphan every file). */
  create(key: Buffer): void;
  /** Crypto-erase: the key is destroyed; every sealed file and field becomes unreadable. */
  erase(): void;
}

export class DataKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataKeyError';
  }
}

/** The systemd credential the unit passes a root-only key file in (LoadCredential=, see below). */
export const KEY_CREDENTIAL = 'telemed-data-key';

/**
 * A key file. On the board the file is root's (0600 in a 0700 directory): `telemed data-key`,
 * run as root before the daemon (ExecStartPre=+), makes it at the first start, and systemd hands
 * its content to the unprivileged daemon as a credential (LoadCredential=telemed-data-key:FILE,
 * in $CREDENTIALS_DIRECTORY, readable by the service alone). Without systemd's credential the
 * file itself is read, which needs the daemon to own it (the rig runs as root).
 */
export class FileKeyStore implements DataKeyStore {
  readonly kind = 'file' as const;

  constructor(
    readonly where: string,
    /** `$CREDENTIALS_DIRECTORY/telemed-data-key` when systemd passed the key; else null. */
    private readonly credential: string | null = null,
  ) {}

  present(): boolean {
    return (this.credential !== null && existsSync(this.credential)) || existsSync(this.where);
  }

  load(): Buffer | null {
    if (this.credential !== null && existsSync(this.credential)) return this.checked(this.credential);
    if (!existsSync(this.where)) return null;
    return this.checked(this.where);
  }

  private checked(path: string): Buffer {
    const key = readFileSync(path);
    if (key.length !== DATA_KEY_BYTES)
      throw new DataKeyError(`the data key in ${path} holds ${key.length} bytes, not ${DATA_KEY_BYTES}`);
    if (path === this.credential) return key;
    const mode = statSync(this.where).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new DataKeyError(
        `the data key file ${this.where} can be read by others (mode ${mode.toString(8)}): chmod 600 it, and check who copied it`,
      );
    return key;
  }

  create(key: Buffer): void {
    if (existsSync(this.where)) throw new DataKeyError(`the data key file ${this.where} already exists`);
    const dir = dirname(this.where);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      fsyncDirectory(dirname(dir));
    }
    writeFileDurableSync(this.where, key);
  }

  erase(): void {
    if (!existsSync(this.where)) return;
    const fd = openSync(this.where, 'r+');
    try {
      const size = fstatSync(fd).size;
      writeSync(fd, randomBytes(Math.max(size, DATA_KEY_BYTES)), 0, Math.max(size, DATA_KEY_BYTES), 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(this.where);
    fsyncDirectory(dirname(this.where));
  }
}

export interface CommandResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}
export type RunCommand = (command: string, args: string[], input?: Buffer) => CommandResult;

export class TpmKeyStore implements DataKeyStore {
  readonly kind = 'tpm' as const;
  readonly where: string;
  private readonly run: RunCommand;

  constructor(
    private readonly handle: string,
    tcti: string | null,
    run?: RunCommand,
  ) {
    this.where = `TPM persistent handle ${handle}`;
    this.run = run ?? tpmTools(tcti);
  }

  private tool(args: string[], input?: Buffer): Buffer {
    const [command, ...rest] = args as [string, ...string[]];
    const r = this.run(command, rest, input);
    if (r.status !== 0)
      throw new DataKeyError(`${command} failed (exit ${r.status}): ${lastLine(r.stderr) || 'no message'}`);
    return r.stdout;
  }

  /** Whether the handle holds an object (tpm2_getcap lists persistent handles). */
  present(): boolean {
    const listed = this.tool(['tpm2_getcap', 'handles-persistent']).toString('utf8');
    return listed.toLowerCase().includes(this.handle.toLowerCase());
  }

  load(): Buffer | null {
    if (!this.present()) return null;
    const key = this.tool(['tpm2_unseal', '-c', this.handle]);
    if (key.length !== DATA_KEY_BYTES)
      throw new DataKeyError(`the TPM object at ${this.handle} holds ${key.length} bytes, not a data key`);
    return key;
  }

  create(key: Buffer): void {
    if (this.present()) throw new DataKeyError(`${this.where} is already in use`);
    // Context files of the transient objects; nothing secret (the sealed blob is useless outside this TPM).
    const dir = mkdtempSync(join(tmpdir(), 'telemed-tpm-'));
    try {
      const file = (name: string) => join(dir, name);
      // Without a resource manager (a bare TCTI) transient objects stay loaded: flush after each step.
      this.tool([
        'tpm2_createprimary',
        '-Q',
        '-C',
        'o',
        '-g',
        'sha256',
        '-G',
        'ecc',
        '-c',
        file('primary.ctx'),
      ]);
      this.tool(['tpm2_flushcontext', '-t']);
      this.tool(
        [
          'tpm2_create',
          '-Q',
          '-C',
          file('primary.ctx'),
          '-i',
          '-',
          '-u',
          file('key.pub'),
          '-r',
          file('key.priv'),
        ],
        key,
      );
      this.tool(['tpm2_flushcontext', '-t']);
      this.tool([
        'tpm2_load',
        '-Q',
        '-C',
        file('primary.ctx'),
        '-u',
        file('key.pub'),
        '-r',
        file('key.priv'),
        '-c',
        file('key.ctx'),
      ]);
      this.tool(['tpm2_evictcontrol', '-Q', '-C', 'o', '-c', file('key.ctx'), this.handle]);
      this.tool(['tpm2_flushcontext', '-t']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  erase(): void {
    if (this.present()) this.tool(['tpm2_evictcontrol', '-Q', '-C', 'o', '-c', this.handle]);
  }
}

const lastLine = (text: string) => text.trim().split('\n').at(-1)?.trim() ?? '';

/** Runs tpm2-tools with the configured TCTI. */
export function tpmTools(tcti: string | null): RunCommand {
  return (command, args, input) => {
    const r = spawnSync(command, args, {
      ...(input ? { input } : {}),
      env: { ...process.env, ...(tcti ? { TPM2TOOLS_TCTI: tcti } : {}) },
      timeout: 30_000,
    });
    if (r.error)
      throw new DataKeyError(
        `${command} could not run: ${r.error.message}${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install tpm2-tools)' : ''}`,
      );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
  };
}

/** Whether this board has a TPM the tools can reach: a configured TCTI, or the kernel's resource manager. */
export function tpmAvailable(config: DataKeyConfig, exists: (path: string) => boolean = existsSync): boolean {
  return config.tpmTcti !== null || exists('/dev/tpmrm0');
}

export function keyFilePath(config: DataKeyConfig, dataDir: string): string {
  return config.keyFile ?? join(dataDir, 'keys', 'data.key');
}

/**
 * The key store this terminal uses. 'auto': a key file that already exists stays in use (moving a
 * key needs a technician, not a boot); otherwise the TPM when there is one, else a file.
 */
export function chooseKeyStore(
  config: DataKeyConfig,
  dataDir: string,
  o: { run?: RunCommand; exists?: (path: string) => boolean; env?: NodeJS.ProcessEnv } = {},
): DataKeyStore {
  const exists = o.exists ?? existsSync;
  const credentials = (o.env ?? process.env)['CREDENTIALS_DIRECTORY'];
  const credential = credentials ? join(credentials, KEY_CREDENTIAL) : null;
  const file = new FileKeyStore(keyFilePath(config, dataDir), credential);
  const tpm = () => new TpmKeyStore(config.tpmHandle, config.tpmTcti, o.run);
  switch (config.keyStore) {
    case 'file':
      return file;
    case 'tpm':
      return tpm();
    case 'auto':
      if (exists(file.where) || (credential !== null && exists(credential))) return file;
      return tpmAvailable(config, exists) ? tpm() : file;
  }
}

/** The data key, made on first start (32 bytes from the kernel's CSPRNG). */
export function loadOrCreateDataKey(store: DataKeyStore): { key: Buffer; created: boolean } {
  const existing = store.load();
  return existing ? { key: existing, created: false } : createDataKey(store);
}

/** A new data key, kept in `store` and read back from it. */
export function createDataKey(store: DataKeyStore): { key: Buffer; created: true } {
  const key = randomBytes(DATA_KEY_BYTES);
  store.create(key);
  // Read back: a key that cannot be read again would seal files nobody can open.
  const again = store.load();
  if (!again?.equals(key)) throw new DataKeyError(`${store.where}: the new data key does not read back`);
  return { key, created: true };
}

/** Where the configuration keeps the data key, or null when encryption at rest is off. */
export function configuredKeyStore(config: {
  dataDir: string;
  storage: { encryption: DataKeyConfig & { enabled: boolean } };
}): DataKeyStore | null {
  return config.storage.encryption.enabled ? chooseKeyStore(config.storage.encryption, config.dataDir) : null;
}
