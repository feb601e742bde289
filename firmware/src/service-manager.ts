import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import type { Service } from './service.ts';

/**
 * What the daemon tells its service manager (systemd on the board, the rig's supervisor in tests):
 * sd_notify(3) messages. Node cannot send on a Unix datagram socket, so the messages go through
 * `systemd-notify --no-block`, a child process; the unit therefore sets `NotifyAccess=all`.
 */
export interface ServiceManager {
  /** How often the watchdog must be fed, or null when no watchdog is armed. */
  readonly watchdogIntervalMs: number | null;
  ready(status: string): void;
  watchdog(): void;
  stopping(): void;
}

export type NotifyFn = (messages: string[]) => void;

/** Sends with `systemd-notify`; errors are logged once and otherwise ignored (systemd will see the silence). */
export function systemdNotify(log: Logger, socket: string): NotifyFn {
  let warned = false;
  return (messages) => {
    execFile(
      'systemd-notify',
      ['--no-block', ...messages],
      { env: { ...process.env, NOTIFY_SOCKET: socket } },
      (error) => {
        if (error && !warned) {
          warned = true;
          log.warn({ err: error }, 'systemd-notify failed; the service manager may think the daemon hung');
        }
      },
    );
  };
}

/**
 * From the environment systemd sets: NOTIFY_SOCKET, and WATCHDOG_USEC (+ WATCHDOG_PID, which must be
 * ours) when `WatchdogSec=` is set. Feeding at half the timeout is what sd_watchdog_enabled(3) advises.
 */
export function serviceManagerFromEnv(
  env: NodeJS.ProcessEnv,
  pid: number,
  notify: (socket: string) => NotifyFn,
): ServiceManager {
  const socket = env['NOTIFY_SOCKET'];
  if (!socket) {
    return { watchdogIntervalMs: null, ready() {}, watchdog() {}, stopping() {} };
  }
  const send = notify(socket);
  const usec = Number(env['WATCHDOG_USEC']);
  const forUs = env['WATCHDOG_PID'] === undefined || Number(env['WATCHDOG_PID']) === pid;
  return {
    watchdogIntervalMs: Number.isFinite(usec) && usec > 0 && forUs ? Math.max(100, usec / 2000) : null,
    ready: (status) => send(['READY=1', `STATUS=${status}`]),
    watchdog: () => send(['WATCHDOG=1']),
    stopping: () => send(['STOPPING=1']),
  };
}

/**
 * Tells the service manager the daemon is ready once every other service has started (it is
 * started last), feeds the watchdog from the main loop while the store answers, and says
 * STOPPING first when the daemon stops (it is stopped first).
 */
export class ServiceManagerLink implements Service<{ watchdogFeeds: number; watchdogMisses: number }> {
  readonly name = 'service-manager';
  private timer: NodeJS.Timeout | null = null;
  private readonly counters = { watchdogFeeds: 0, watchdogMisses: 0 };

  constructor(
    private readonly options: {
      manager: ServiceManager;
      /** Throws when the store does not answer: then the watchdog is not fed. */
      store: { ping(): void };
      /** What READY's status line says: the carts and the home data centre. */
      config: { carts: readonly unknown[]; dataCentres: { home: string } };
      log: Logger;
    },
  ) {}

  start(): void {
    const { manager, store, config, log } = this.options;
    manager.ready(`ready: ${config.carts.length} cart(s), home data centre ${config.dataCentres.home}`);
    if (manager.watchdogIntervalMs === null) return;
    // Fed from the main loop, and only while the store answers: a blocked loop or a dead database
    // stops the feed, and the service manager restarts the daemon.
    this.timer = setInterval(() => {
      try {
        store.ping();
        manager.watchdog();
        this.counters.watchdogFeeds++;
      } catch (error) {
        this.counters.watchdogMisses++;
        log.error({ err: error }, 'store not answering: not feeding the watchdog');
      }
    }, manager.watchdogIntervalMs);
  }

  stop(): void {
    this.options.manager.stopping();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  snapshot() {
    return { ...this.counters };
  }
}
