import type { Notice } from './api/types.ts';
import type { DaemonEvent, EventBus } from './events.ts';
import type { Service } from './service.ts';
import type { MqttTelemetry } from './telemetry/mqtt-telemetry.ts';

/** Turns daemon events into kiosk notices and NOC events (codes stable; text for technicians). */
export function describe(
  event: DaemonEvent,
): { notice: Omit<Notice, 'at'>; severity: 'info' | 'warning' | 'alarm' } | null {
  switch (event.type) {
    case 'cart-problem':
      return {
        notice: { level: 'warning', code: 'cart-problem', message: `${event.cartId}: ${event.message}` },
        severity: 'warning',
      };
    case 'capture-refused':
      return {
        notice: { level: 'error', code: 'capture-refused', message: event.reason },
        severity: 'alarm',
      };
    case 'instance':
      return event.state === 'quarantined'
        ? {
            notice: {
              level: 'error',
              code: 'quarantined',
              message: `instance ${event.instanceId}: ${event.reason ?? ''}`,
            },
            severity: 'warning',
          }
        : null;
    case 'dc-state':
      return event.state === 'down'
        ? {
            notice: { level: 'warning', code: 'dc-down', message: `DC-${event.dc}: ${event.reason ?? ''}` },
            severity: 'warning',
          }
        : event.state === 'up' && event.previous === 'down'
          ? { notice: { level: 'info', code: 'dc-up', message: `DC-${event.dc}` }, severity: 'info' }
          : null;
    case 'recording-stopped':
      return {
        notice: { level: 'error', code: 'recording-stopped', message: event.reason },
        severity: 'alarm',
      };
    case 'camera':
      return event.state === 'lost'
        ? {
            notice:
              (event.cause ?? 'camera') === 'camera'
                ? {
                    level: 'warning',
                    code: 'camera-lost',
                    message: `the camera stopped: ${event.detail ?? ''}; check its cable — video resumes when it is back`,
                  }
                : {
                    level: 'warning',
                    code: 'video-interrupted',
                    message: `video stopped: ${event.detail ?? ''}; it resumes by itself`,
                  },
            severity: 'warning',
          }
        : { notice: { level: 'info', code: 'camera-back', message: event.detail ?? '' }, severity: 'info' };
    case 'patient': {
      const from = { 'id-card': 'the ID card on', qr: 'the code scanned by', manual: 'the entry on the' }[
        event.source
      ];
      return event.state === 'identified'
        ? {
            notice: {
              level: 'info',
              code: 'patient-identified',
              message: `patient identified from ${from} ${event.device}; their study is open (unverified until the province confirms)`,
            },
            severity: 'info',
          }
        : {
            notice: {
              level: 'warning',
              code: event.source === 'id-card' ? 'id-card-refused' : 'patient-code-refused',
              message: `${from} ${event.device} refused: ${event.problems.join('; ')}`,
            },
            severity: 'warning',
          };
    }
    case 'ecg-patient-mismatch':
      return {
        notice: {
          level: 'warning',
          code: 'ecg-patient-mismatch',
          message: `instance ${event.instanceId}: the patient ID on the cart differs from the open study's patient; the ECG is kept in its own study`,
        },
        severity: 'warning',
      };
    case 'disk-state': {
      const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;
      if (event.level === 'ok')
        return event.previous === 'ok'
          ? null
          : {
              notice: {
                level: 'info',
                code: 'disk-ok',
                message: `storage: ${mb(event.freeBytes)} free again`,
              },
              severity: 'info',
            };
      return event.level === 'low'
        ? {
            notice: {
              level: 'warning',
              code: 'disk-low',
              message: `storage low: ${mb(event.freeBytes)} free (warning below ${mb(event.warnFreeBytes)}); logs trimmed and local copies of delivered studies removed, oldest first; undelivered studies are kept`,
            },
            severity: 'alarm',
          }
        : {
            notice: {
              level: 'error',
              code: 'disk-full',
              message: `storage full: ${mb(event.freeBytes)} free, ${mb(event.minFreeBytes)} must stay free; new captures are refused until studies are delivered`,
            },
            severity: 'alarm',
          };
    }
    case 'store-problem':
      return {
        notice: {
          level: event.code === 'recovered' ? 'info' : 'error',
          code: `store-${event.code}`,
          message:
            event.instanceId === null ? event.message : `instance ${event.instanceId}: ${event.message}`,
        },
        severity: event.code === 'recovered' ? 'info' : 'alarm',
      };
    case 'hid-scanner-problem':
      return {
        notice: {
          level: 'warning',
          code: 'hid-scanner-problem',
          message: `${event.scannerId}: ${event.message}`,
        },
        severity: 'warning',
      };
    case 'id-reader-problem':
      return {
        notice: {
          level: 'warning',
          code: 'id-reader-problem',
          message: `${event.readerId}: ${event.message}`,
        },
        severity: 'warning',
      };
    case 'scanner-problem':
      return {
        notice: { level: 'warning', code: 'scanner-problem', message: event.message },
        severity: 'warning',
      };
    case 'call-button':
      return event.kind === 'call'
        ? {
            notice: {
              level: 'warning',
              code: 'call-for-help',
              message: 'the call-for-help button was pressed at the terminal',
            },
            severity: 'alarm',
          }
        : {
            notice: {
              level: 'info',
              code: 'call-cancelled',
              message: 'the call for help was cancelled (long press)',
            },
            severity: 'info',
          };
    case 'tamper':
      return event.state === 'opened'
        ? {
            notice: { level: 'warning', code: 'tamper', message: 'the terminal cabinet was opened' },
            severity: 'alarm',
          }
        : {
            notice: { level: 'info', code: 'tamper-closed', message: 'the cabinet is closed' },
            severity: 'info',
          };
    case 'power':
      return event.state === 'failing'
        ? {
            notice: {
              level: 'error',
              code: 'power-fail',
              message:
                'mains power failed: running on the UPS; new captures are refused, what is saved is safe',
            },
            severity: 'alarm',
          }
        : event.state === 'flushed'
          ? {
              notice: {
                level: 'info',
                code: 'power-fail-flushed',
                message: `writes finished and the store flushed ${event.flushedMs} ms after the power failed`,
              },
              severity: 'info',
            }
          : {
              notice: { level: 'info', code: 'power-restored', message: 'mains power is back' },
              severity: 'info',
            };
    case 'call':
      return event.event === 'started'
        ? {
            notice: {
              level: 'info',
              code: 'call-started',
              message: `a consultation call started (media server of data centre ${event.server ?? '?'})`,
            },
            severity: 'info',
          }
        : {
            notice: {
              level: 'info',
              code: 'call-ended',
              message: `the consultation call ended${event.reason ? `: ${event.reason}` : ''}`,
            },
            severity: 'info',
          };
    case 'gpio-problem':
      return {
        notice: { level: 'warning', code: 'gpio-problem', message: `${event.line}: ${event.message}` },
        severity: 'warning',
      };
    case 'study':
    case 'hid-scanner-state':
    case 'scanner-state':
    case 'id-reader-state':
    case 'cart-state':
    case 'telemetry-state':
      // Shown as state on the kiosk; an alarm about the NOC link could not reach the NOC anyway.
      return null;
    case 'usb-arrival':
    case 'power-input':
    case 'consultation':
    case 'changed':
      // The daemon's parts telling each other; what follows from them has its own event.
      return null;
  }
}

/**
 * What the kiosk's notice list and the NOC's `event` topic are made of: every event that
 * `describe` words becomes a notice (the last 100 kept) and an MQTT event.
 */
export class Notices implements Service<Notice[]> {
  readonly name = 'notices';
  private readonly recent: Notice[] = [];

  constructor(
    private readonly options: {
      bus: EventBus;
      telemetry: Pick<MqttTelemetry, 'publishEvent'>;
      now: () => Date;
    },
  ) {}

  start(): void {
    this.options.bus.on(this.name, (event) => {
      const described = describe(event);
      if (!described) return;
      this.recent.push({ at: this.options.now().toISOString(), ...described.notice });
      if (this.recent.length > 100) this.recent.shift();
      this.options.telemetry.publishEvent({
        severity: described.severity,
        code: described.notice.code,
        message: described.notice.message,
      });
    });
  }

  stop(): void {
    this.options.bus.off(this.name);
  }

  snapshot(): Notice[] {
    return [...this.recent];
  }
}
