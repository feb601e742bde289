import type { Logger } from 'pino';

/**
 * One part of the daemon with a life cycle. `start` may return before the part is fully up (the
 * media worker comes up in the background); `stop` resolves once it has let go of its devices,
 * files and timers. `snapshot` is its state for the kiosk's status and the NOC's health: plain
 * data, cheap to take, no patient data unless the type says so.
 */
export interface Service<S = unknown> {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  snapshot(): S;
}

/**
 * The daemon's services, in dependency order: `startAll` starts them first to last, `stopAll`
 * stops them last to first, each only once, and a part that fails to stop does not keep the rest
 * from stopping.
 *
 * INVARIANTS: a service is stopped only if it was started; stopAll after a failed startAll stops
 * exactly those that started.
 */
export class ServiceGroup {
  private readonly services: Service[] = [];
  private readonly started: Service[] = [];

  constructor(private readonly log: Logger) {}

  add<T extends Service>(service: T): T {
    if (this.services.some((s) => s.name === service.name))
      throw new Error(`two services named ${service.name}`);
    this.services.push(service);
    return service;
  }

  get names(): string[] {
    return this.services.map((s) => s.name);
  }

  async startAll(): Promise<void> {
    for (const service of this.services) {
      if (this.started.includes(service)) continue;
      await service.start();
      this.started.push(service);
    }
  }

  async stopAll(): Promise<void> {
    while (this.started.length > 0) {
      const service = this.started.pop() as Service;
      try {
        await service.stop();
      } catch (error) {
        this.log.error({ err: error, service: service.name }, 'a service failed to stop; stopping the rest');
      }
    }
  }
}
