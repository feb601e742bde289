import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Backoff } from '#device-drivers';
import type { Config } from '../config/schema.ts';
import type { Service } from '../service.ts';
import { FIRMWARE_VERSION } from '../version.ts';
import type { EventPayload, HealthPayload, StatePayload } from './payloads.ts';
import { topicsFor } from './topics.ts';

export type BrokerLinkState = 'connecting' | 'online' | 'offline' | 'stopped';

export interface TelemetryOptions {
  device: { province: string; county: string; id: string };
  brokers: string[];
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  firmwareVersion: string;
  log: Logger;
  /** At most this many messages are kept while offline; the oldest go first. */
  bufferLimit?: number;
  backoff?: Backoff;
  /** Called on every link state change (the kiosk shows the NOC link). */
  onState?: (state: BrokerLinkState) => void;
}

/** How long a clean stop waits for the broker, for each of its two steps (offline said, disconnected). */
const STOP_STEP_MS = 2000;

interface Buffered {
  topic: string;
  payload: HealthPayload | EventPayload;
}

/**
 * MQTT 5 telemetry with broker failover. `state` is retained: `online` on every connect and
 * `offline` as the last will. While offline, health and events are buffered (bounded) and
 * replayed on reconnect marked `historical`. Reconnects use capped, jittered backoff and rotate
 * through the configured brokers (one per data centre).
 */
export class MqttTelemetry
  implements Service<{ state: BrokerLinkState; broker: string; counters: MqttTelemetry['counters'] }>
{
  readonly name = 'telemetry';
  private client: MqttClient | null = null;
  private current: BrokerLinkState = 'stopped';
  private readonly topics: ReturnType<typeof topicsFor>;
  private readonly buffer: Buffered[] = [];
  private readonly backoff: Backoff;
  private brokerIndex = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  readonly counters = { connects: 0, published: 0, buffered: 0, dropped: 0, replayed: 0 };

  constructor(private readonly options: TelemetryOptions) {
    this.topics = topicsFor(options.device);
    this.backoff = options.backoff ?? new Backoff({ initialMs: 1000, maxMs: 60_000 });
  }

  get state(): BrokerLinkState {
    return this.current;
  }

  private setState(next: BrokerLinkState): void {
    if (next === this.current) return;
    this.current = next;
    this.options.onState?.(next);
  }

  get broker(): string {
    return this.options.brokers[this.brokerIndex % this.options.brokers.length]!;
  }

  private statePayload(state: 'online' | 'offline'): string {
    const payload: StatePayload = {
      v: 1,
      state,
      at: new Date().toISOString(),
      firmware: this.options.firmwareVersion,
    };
    return JSON.stringify(payload);
  }

  start(): void {
    void this.connect();
  }

  snapshot() {
    return { state: this.state, broker: this.broker, counters: { ...this.counters } };
  }

  /** mqtt.js, loaded on first use: it costs about 0.2 s of start-up, which READY need not wait for. */
  private mqttModule: Promise<typeof import('mqtt')> | null = null;

  private async connect(): Promise<void> {
    const o = this.options;
    const clientOptions: IClientOptions = {
      protocolVersion: 5,
      clientId: `telemed-${o.device.id}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      will: {
        topic: this.topics.state,
        payload: Buffer.from(this.statePayload('offline')),
        qos: 1,
        retain: true,
      },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
      ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
      ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
    };
    this.setState('connecting');
    this.mqttModule ??= import('mqtt');
    const mqtt = (await this.mqttModule).default;
    if (this.current === 'stopped') return;
    const client = mqtt.connect(this.broker, clientOptions);
    this.client = client;
    client.on('connect', () => {
      this.setState('online');
      this.counters.connects++;
      this.backoff.reset();
      o.log.info({ broker: this.broker }, 'telemetry online');
      client.publish(this.topics.state, this.statePayload('online'), { qos: 1, retain: true });
      this.replay();
    });
    client.on('error', (error) =>
      o.log.warn({ broker: this.broker, err: error.message }, 'telemetry broker error'),
    );
    client.on('close', () => {
      if (this.current === 'stopped' || this.client !== client) return;
      this.setState('offline');
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      this.brokerIndex++;
      const delay = this.backoff.next();
      o.log.warn({ next: this.broker, inMs: delay }, 'telemetry offline; reconnecting');
      this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    });
  }

  private replay(): void {
    while (this.buffer.length > 0 && this.current === 'online') {
      const item = this.buffer.shift()!;
      this.client!.publish(item.topic, JSON.stringify({ ...item.payload, historical: true }), { qos: 1 });
      this.counters.replayed++;
    }
  }

  private send(topic: string, payload: HealthPayload | EventPayload): void {
    if (this.current === 'online' && this.client) {
      this.client.publish(topic, JSON.stringify(payload), { qos: topic === this.topics.event ? 1 : 0 });
      this.counters.published++;
      return;
    }
    this.buffer.push({ topic, payload });
    this.counters.buffered++;
    const limit = this.options.bufferLimit ?? 500;
    while (this.buffer.length > limit) {
      this.buffer.shift();
      this.counters.dropped++;
    }
  }

  publishHealth(payload: HealthPayload): void {
    this.send(this.topics.health, payload);
  }

  publishEvent(payload: Omit<EventPayload, 'v' | 'at' | 'historical'>): void {
    this.send(this.topics.event, { v: 1, at: new Date().toISOString(), historical: false, ...payload });
  }

  /**
   * Publishes `offline` (a clean shutdown sends no last will) and disconnects, each within
   * STOP_STEP_MS: a broker that went away while we still thought we were online never
   * acknowledges the `offline` (QoS 1 waits for a reconnect that will not come), and shutdown
   * must not wait for it. (It held the telemetry tests until ava's timeout on a loaded CI machine,
   * the broker stopped just before the telemetry.) Not acknowledged, the broker's last will says
   * `offline` instead once it notices.
   */
  async stop(): Promise<void> {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    const wasOnline = this.current === 'online';
    this.setState('stopped');
    if (!client) return;
    const bounded = (start: (done: () => void) => void) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), STOP_STEP_MS);
        start(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    if (wasOnline) {
      const said = await bounded((done) =>
        client.publish(this.topics.state, this.statePayload('offline'), { qos: 1, retain: true }, done),
      );
      if (!said)
        this.options.log.warn('the broker did not acknowledge "offline" in time; its last will says it');
    }
    if (!(await bounded((done) => client.end(false, {}, done)))) client.end(true);
  }
}

/** The telemetry's device, brokers, credentials and TLS files from the configuration (an empty path is none). */
export function telemetryOptions(config: Config): Omit<TelemetryOptions, 'log'> {
  const m = config.mqtt;
  return {
    device: config.device,
    brokers: m.brokers,
    firmwareVersion: FIRMWARE_VERSION,
    ...(m.username !== undefined ? { username: m.username } : {}),
    ...(m.password !== undefined ? { password: m.password } : {}),
    ...(m.caFile ? { caFile: m.caFile } : {}),
    ...(m.certFile ? { certFile: m.certFile } : {}),
    ...(m.keyFile ? { keyFile: m.keyFile } : {}),
  };
}
