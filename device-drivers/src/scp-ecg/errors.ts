/** Where in an SCP-ECG record a problem sits: 'record', or a section number. */
export type ScpLocation = 'record' | `section ${number}`;

/**
 * A record that cannot be decoded. `location` and `field` name the offending part so the
 * message can tell a technician (or a vendor) exactly what is wrong with the cart's file.
 */
export class ScpDecodeError extends Error {
  readonly code = 'SCP_DECODE';
  readonly retryable = false;
  constructor(
    readonly location: ScpLocation,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${location === 'record' ? 'Record' : `Section ${location.slice(8)}`}: ${field}: ${reason}`);
    this.name = 'ScpDecodeError';
  }
}

export function isScpDecodeError(value: unknown): value is ScpDecodeError {
  return value instanceof ScpDecodeError;
}
