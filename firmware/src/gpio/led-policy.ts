import type { LedPattern } from '#device-drivers';
import type { InstanceState } from '../store/types.ts';

/** What the status LED is decided from: the terminal's state as its parts report it. */
export interface LedInputs {
  power: 'normal' | 'failing' | 'flushed';
  dataCentres: ReadonlyArray<{ state: string }>;
  /** The H.264 encoder's selection: 'none' when no encoder works (null: no video on this terminal). */
  encoder: string | null;
  gpioLinesFailed: boolean;
  scanner: string;
  recording: boolean;
  instances: Record<InstanceState, number>;
}

/**
 * The status LED: power failing first, then faults a technician must see (both data centres
 * down, no working encoder, a failed GPIO line or scanner), then recording, then a backlog being
 * sent, else ready.
 */
export function ledPattern(s: LedInputs): LedPattern {
  if (s.power !== 'normal') return 'power-fail';
  const fault =
    (s.dataCentres.length > 0 && s.dataCentres.every((d) => d.state === 'down')) ||
    s.encoder === 'none' ||
    s.gpioLinesFailed ||
    s.scanner === 'failed';
  if (fault) return 'fault';
  if (s.recording) return 'recording';
  if (s.instances.queued + s.instances.delivering > 0) return 'uploading';
  return 'ready';
}

/** The parts the status LED reads, as the daemon has them. */
export interface LedSources {
  power: { state: LedInputs['power'] };
  uplink: { dataCentres(): ReadonlyArray<{ state: string }> };
  media: { encoders: { status(): { state: string } }; recorder: { state: string } } | null;
  scanner: { deviceState: string };
  store: { countByState(): Record<InstanceState, number> };
}

/** The status LED's pattern from the terminal's parts (what the GPIO panel asks for). */
export class StatusLed {
  constructor(private readonly s: LedSources) {}

  pattern(gpioLinesFailed: boolean): LedPattern {
    return ledPattern({
      power: this.s.power.state,
      dataCentres: this.s.uplink.dataCentres(),
      encoder: this.s.media ? this.s.media.encoders.status().state : null,
      gpioLinesFailed,
      scanner: this.s.scanner.deviceState,
      recording: this.s.media?.recorder.state === 'recording',
      instances: this.s.store.countByState(),
    });
  }
}
