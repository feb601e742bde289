import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pino from 'pino';
import { decodeScp, isScpDecodeError } from '#device-drivers';
import { ConfigError, parseConfig } from './config/schema.ts';
import { Daemon } from './daemon.ts';
import { serviceManagerFromEnv, systemdNotify } from './service-manager.ts';
import { AuditLog } from './store/audit-log.ts';
import { crashAtFromEnv, type FaultHook } from './store/fault-points.ts';
import { schemaVersion } from './store/migrations.ts';

/** Exit codes systemd (and the rig's supervisor) can tell apart. */
export const EXIT = { ok: 0, usage: 64, badInput: 65, config: 78, fatal: 70 } as const;

const USAGE = `usage:
  telemed scp-decode FILE [--profile auto|standard|healforce-prince-180d]
      Decode an SCP-ECG file and print it as JSON.
  telemed daemon --config FILE
      Run the terminal daemon.
  telemed audit-export --config FILE [--since YYYY-MM-DD]
      Print the audit log (who captured, viewed, sent, set aside and deleted what) as JSON lines,
      its hash chain checked end to end; exit 65 when the chain is broken.`;

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
  const d = new Daemon(config, {
    log,
    fault,
    serviceManager: serviceManagerFromEnv(process.env, process.pid, (socket) => systemdNotify(log, socket)),
  });
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
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(JSON.parse(readFileSync(values.config, 'utf8')));
  } catch (error) {
    process.stderr.write(`${values.config}: ${(error as Error).message}\n`);
    return EXIT.config;
  }
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'scp-decode':
      return scpDecode(rest);
    case 'daemon':
      return daemon(rest);
    case 'audit-export':
      return auditExport(rest);
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
