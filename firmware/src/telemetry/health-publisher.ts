import type { Service } from '../service.ts';
import type { MqttTelemetry } from './mqtt-telemetry.ts';
import type { HealthPayload } from './payloads.ts';

/**
 * Publishes health to the NOC once at start and then every `everyS` seconds (MQTT buffers it
 * while the broker is away and replays it marked historical).
 */
export class HealthPublisher implements Service<{ published: number }> {
  readonly name = 'health';
  private timer: NodeJS.Timeout | null = null;
  private published = 0;

  constructor(
    private readonly options: {
      telemetry: Pick<MqttTelemetry, 'publishHealth'>;
      source: { health(): HealthPayload };
      /** Seconds between reports (mqtt.healthIntervalS). */
      everyS: number;
    },
  ) {}

  start(): void {
    this.publish();
    this.timer = setInterval(() => this.publish(), this.options.everyS * 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  snapshot(): { published: number } {
    return { published: this.published };
  }

  private publish(): void {
    this.options.telemetry.publishHealth(this.options.source.health());
    this.published++;
  }
}
