/**
 * The serial transport contract the drivers use. Implementations: `node-serial-link.ts` on the
 * `serialport` package (real ports and the rig's socat ptys).
 *
 * Cancel/disconnect semantics:
 * - `write` rejects with SerialError{disconnected: true} once the device is gone or the link is
 *   closed, including a write still pending at that moment (it never hangs).
 * - `closed` settles exactly once: with null after `close()`, with a SerialError when the port
 *   went away by itself (USB unplug, pty peer gone). Data listeners get nothing after that.
 * - `close()` is idempotent and never rejects.
 */
export interface SerialLink {
  readonly path: string;
  write(bytes: Uint8Array): Promise<void>;
  onData(listener: (chunk: Uint8Array) => void): () => void;
  readonly closed: Promise<SerialError | null>;
  close(): Promise<void>;
}

/** What the OS tells about a port; USB fields are absent for on-board UARTs and ptys. */
export interface PortInfo {
  path: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
}

/**
 * How a configured device is recognised. USB serial number (with VID:PID) is stable across
 * replugging and port renumbering (`ttyACM0` → `ttyACM1`); the path is for ports that have no
 * USB identity (on-board UARTs, the rig's ptys).
 */
export interface PortIdentity {
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  path?: string;
}

export interface SerialOpener {
  list(): Promise<PortInfo[]>;
  open(path: string, options: { baudRate: number }): Promise<SerialLink>;
}

export type SerialErrorCode = 'NOT_FOUND' | 'LOCKED' | 'OPEN_FAILED' | 'DISCONNECTED' | 'WRITE_FAILED';

export class SerialError extends Error {
  constructor(
    readonly code: SerialErrorCode,
    message: string,
    readonly disconnected: boolean,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'SerialError';
  }
}

export function isSerialError(value: unknown): value is SerialError {
  return value instanceof SerialError;
}

const hexId = (id: string | undefined) => id?.toLowerCase().replace(/^0x/, '').padStart(4, '0');

/**
 * Picks the port for an identity. Pure, so it is tested against listings of real machines.
 * Serial number (and VID:PID when given) first; VID:PID alone only when exactly one port matches;
 * the path only for identities that name no USB field.
 */
export function selectPort(ports: PortInfo[], identity: PortIdentity): PortInfo | SerialError {
  const usb =
    identity.serialNumber !== undefined ||
    identity.vendorId !== undefined ||
    identity.productId !== undefined;
  if (!usb) {
    if (!identity.path)
      return new SerialError('NOT_FOUND', 'no identity configured for the port', false, false);
    return { path: identity.path };
  }
  const matches = ports.filter(
    (p) =>
      (identity.serialNumber === undefined || p.serialNumber === identity.serialNumber) &&
      (identity.vendorId === undefined || hexId(p.vendorId) === hexId(identity.vendorId)) &&
      (identity.productId === undefined || hexId(p.productId) === hexId(identity.productId)),
  );
  const described = [
    identity.vendorId && `VID ${identity.vendorId}`,
    identity.productId && `PID ${identity.productId}`,
    identity.serialNumber && `serial ${identity.serialNumber}`,
  ]
    .filter(Boolean)
    .join(', ');
  if (matches.length === 0)
    return new SerialError('NOT_FOUND', `no USB serial device with ${described} is plugged in`, false);
  if (matches.length > 1) {
    return new SerialError(
      'NOT_FOUND',
      `${matches.length} devices match ${described} (${matches.map((m) => m.path).join(', ')}); configure the serial number`,
      false,
      false,
    );
  }
  return matches[0]!;
}
