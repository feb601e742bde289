import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pino from 'pino';
import { decodeScp, isScpDecodeError } from '#device-drivers';
import { type Config, ConfigError, parseConfig } from './config/schema.ts';
import { Daemon } from './daemon.ts';
import { serviceManagerFromEnv, systemdNotify } from './service-manager.ts';
import { AuditLog } from './store/audit-log.ts';
import { chooseKeyStore, DataKeyError, loadOrCreateDataKey } from './store/data-key.ts';
import { factoryReset } from './store/factory-reset.ts';
import { crashAtFromEnv, type FaultHook } from './store/fault-points.ts';
import { schemaVersion } from './store/migrations.ts';
import { keyFingerprint } from './store/study-store.ts';

/** Exit codes systemd (and the rig's supervisor) can tell apart. */
export const EXIT = { ok: 0, usage: 64, badInput: 65, config: 78, fatal: 70, dataKey: 74, busy: 75 } as const;

const USAGE = `usage:
  telemed scp-decode FILE [--profile auto|standard|healforce-prince-180d]
      Decode an SCP-ECG file and print it as JSON.
  telemed daemon --config FILE
      Run the terminal daemon.
  telemed audit-export --config FILE [--since YYYY-MM-DD]
      Print the audit log (who captured, viewed, sent, set aside and deleted what) as JSON lines,
      its hash chain checked end to end; exit 65 when the chain is broken.
  telemed data-key --config FILE
      Make the data key if there is none (in the TPM, or a key file only root can read) and
      print where it is and its fingerprint. The unit runs it as root before the daemon.
  telemed factory-reset --config FILE --confirm DEVICE_ID
      Crypto-erase: destroy the data key (TPM object or key file), which makes every sealed file
      and patient field unreadable, then empty the data directory. The daemon must be stopped
      (exit 75 while it runs); --confirm must repeat the device's ID.`;

function scpDecode(args: string[]): number {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { profile: { type: 'string', default: 'auto' } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const profile = values.profile;
  if (profile !== 'auto' && profile !== 'standard' && profile !== 'healforce-prince-180d') {
    process.stderr.write(`${file}: unknown --profile ${profile}\n`);
    return EXIT.usage;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    process.stderr.write(`${file}: cannot read: ${(error as Error).message}\n`);
    return EXIT.badInput;
  }
  try {
    const record = decodeScp(bytes, { profile });
    const out = {
      patient: record.patient,
      acquiredAt: record.acquiredAt,
      statCode: record.statCode,
      device: record.device,
      leads: record.leads.map((l) => ({
        name: l.name,
        code: l.code,
        sampleRateHz: l.sampleRateHz,
        sampleIntervalUs: l.sampleIntervalUs,
        amplitudeNv: l.amplitudeNv,
        samples: Array.from(l.samples),
      })),
      warnings: record.warnings,
      vendorProfile: record.vendorProfile,
      protocolVersion: record.protocolVersion,
      recordCrc: record.recordCrc,
      sections: record.sections,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (isScpDecodeError(error)) {
      process.stderr.write(`${file}: ${error.message}\n`);
      return EXIT.badInput;
    }
    throw error;
  }
}

async function daemon(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const log = pino({ name: 'telemed', level: process.env['TELEMED_LOG_LEVEL'] ?? 'info' });
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(JSON.parse(readFileSync(values.config, 'utf8')));
  } catch (error) {
    process.stderr.write(
      `${values.config}: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`,
    );
    return EXIT.config;
  }
  let fault: FaultHook;
  try {
    fault = crashAtFromEnv(process.env['TELEMED_CRASH_AT']);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return EXIT.usage;
  }
  let d: Daemon;
  try {
    d = new Daemon(config, {
      log,
      fault,
      serviceManager: serviceManagerFromEnv(process.env, process.pid, (socket) => systemdNotify(log, socket)),
    });
  } catch (error) {
    if (!(error instanceof DataKeyError)) throw error;
    log.fatal({ err: error.message }, 'the data key cannot be used');
    process.stderr.write(`data key: ${error.message}\n`);
    return EXIT.dataKey;
  }
  await d.start();
  log.info({ pid: process.pid }, 'telemed daemon running');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info('stopping');
  await d.stop();
  return EXIT.ok;
}

/** The config file parsed, or EXIT.config with every error on stderr. */
function readConfig(file: string): Config | number {
  try {
    return parseConfig(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    process.stderr.write(`${file}: ${(error as Error).message}\n`);
    return EXIT.config;
  }
}

/** For an inspector: the audit log as JSON lines on stdout, the chain's verdict on stderr. */
function auditExport(args: string[]): number {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, since: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) {
    process.stderr.write(`--since ${values.since}: not a date (YYYY-MM-DD)\n`);
    return EXIT.usage;
  }
  const config = readConfig(values.config);
  if (typeof config === 'number') return config;
  // Read-only, beside a running daemon (WAL lets both read).
  const db = new Database(join(config.dataDir, 'store.sqlite'), { readonly: true, fileMustExist: true });
  try {
    if (schemaVersion(db) < 8) {
      process.stderr.write('this terminal has no audit log yet (store schema before 8)\n');
      return EXIT.ok;
    }
    const log = new AuditLog(db);
    const since = values.since === undefined ? null : new Date(values.since).toISOString();
    for (const entry of log.since(since)) process.stdout.write(`${JSON.stringify(entry)}\n`);
    const check = log.verify();
    if (check.broken) {
      process.stderr.write(
        `audit log: ${check.entries} entries; the chain BREAKS at entry ${check.broken.id}: ${check.broken.reason}\n`,
      );
      return EXIT.badInput;
    }
    process.stderr.write(`audit log: ${check.entries} entries, chain intact, head ${check.headHash}\n`);
    return EXIT.ok;
  } finally {
    db.close();
  }
}

/** Processes (other than this one) that have `path` open, from /proc/<pid>/fd. */
function processesHolding(path: string): number[] {
  const holders: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) {
          holders.push(Number(pid));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return holders;
}

/** Root, before the daemon (ExecStartPre=+): the key exists, and the unit can hand it over. */
function dataKeyCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const config = readConfig(values.config);
  if (typeof config === 'number') return config;
  if (!config.storage.encryption.enabled) {
    process.stderr.write('storage.encryption.enabled is false: no data key is kept\n');
    return EXIT.ok;
  }
  try {
    // The file itself, not a credential: this is the process that makes and keeps it.
    const keys = chooseKeyStore(config.storage.encryption, config.dataDir, { env: {} });
    const { key, created } = loadOrCreateDataKey(keys);
    process.stdout.write(
      `${JSON.stringify({ keyStore: keys.kind, where: keys.where, fingerprint: keyFingerprint(key), created })}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof DataKeyError)) throw error;
    process.stderr.write(`data key: ${error.message}\n`);
    return EXIT.dataKey;
  }
}

function factoryResetCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, confirm: { type: 'string' } },
  });
  if (!values.config || !values.confirm) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const config = readConfig(values.config);
  if (typeof config === 'number') return config;
  if (values.confirm !== config.device.id) {
    process.stderr.write(
      `--confirm ${values.confirm}: this terminal is ${config.device.id}; repeat its ID to erase it\n`,
    );
    return EXIT.usage;
  }
  const holders = processesHolding(join(config.dataDir, 'store.sqlite'));
  if (holders.length > 0) {
    process.stderr.write(
      `the store is open in process ${holders.join(', ')} (the daemon): stop it first (systemctl stop telemed)\n`,
    );
    return EXIT.busy;
  }
  try {
    const report = factoryReset(config.dataDir, chooseKeyStore(config.storage.encryption, config.dataDir));
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.stderr.write(
      report.keyErased
        ? `data key ${report.fingerprint ?? ''} destroyed (${report.where}); ${report.removed.length} item(s) removed from ${config.dataDir}\n`
        : `no data key was there (${report.where}); ${report.removed.length} item(s) removed from ${config.dataDir}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof DataKeyError)) throw error;
    process.stderr.write(`data key: ${error.message}; nothing was removed\n`);
    return EXIT.dataKey;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'scp-decode':
      return scpDecode(rest);
    case 'daemon':
      return daemon(rest);
    case 'audit-export':
      return auditExport(rest);
    case 'factory-reset':
      return factoryResetCommand(rest);
    case 'data-key':
      return dataKeyCommand(rest);
    default:
      process.stderr.write(`${USAGE}\n`);
      return EXIT.usage;
  }
}

// `telemed scp-decode x | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`telemed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.fatal;
  },
);
