import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { type PortInfo, SerialError, type SerialLink, type SerialOpener } from './serial-link.ts';

function classifyOpenError(path: string, error: Error): SerialError {
  const text = error.message;
  if (/lock/i.test(text)) {
    return new SerialError('LOCKED', `${path} is held by another program (exclusive lock refused)`, false);
  }
  if (/ENOENT|No such file/i.test(text)) return new SerialError('NOT_FOUND', `${path} does not exist`, false);
  return new SerialError('OPEN_FAILED', `cannot open ${path}: ${text}`, false);
}

/** SerialLink on the `serialport` package, with an exclusive lock (flock) on the device. */
class NodeSerialLink implements SerialLink {
  readonly closed: Promise<SerialError | null>;
  private closing = false;
  private settle!: (value: SerialError | null) => void;
  private readonly presence: NodeJS.Timeout;
  /** Writes not yet called back; the link's end settles them (see `write`). */
  private readonly pendingWrites = new Set<(error: SerialError | null) => void>();

  constructor(
    private readonly port: SerialPort,
    readonly path: string,
  ) {
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
    // The close/error events are how a pulled cable usually shows; the device node vanishing is
    // the backstop when the kernel's EIO never reaches the poller (seen with ptys under load).
    this.presence = setInterval(() => {
      if (!this.closing && !existsSync(path)) {
        this.settle(new SerialError('DISCONNECTED', `${path} went away: the device node is gone`, true));
        port.destroy();
      }
    }, 1000);
    this.presence.unref();
    void this.closed.then((reason) => {
      clearInterval(this.presence);
      const error = reason ?? new SerialError('DISCONNECTED', `${path} was closed during a write`, true);
      for (const finish of [...this.pendingWrites]) finish(error);
    });
    port.on('close', (error?: Error & { disconnected?: boolean }) => {
      this.settle(
        this.closing
          ? null
          : new SerialError('DISCONNECTED', `${path} went away: ${error?.message ?? 'closed'}`, true),
      );
    });
    port.on('error', (error: Error) => {
      if (!this.closing) {
        this.settle(new SerialError('DISCONNECTED', `${path} failed: ${error.message}`, true));
        port.destroy();
      }
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closing || !this.port.isOpen)
        return reject(new SerialError('DISCONNECTED', `${this.path} is not open`, true));
      // serialport parks a drain (and a write) issued on a closing port until an 'open' event
      // that never comes (@serialport/stream drain()), so a write in flight when the link closed
      // never called back: a cart driver hung in stop() about once in 20 runs. The link's own
      // end settles such writes: a write cannot outlive its link.
      const finish = (error: SerialError | null) => {
        if (!this.pendingWrites.delete(finish)) return;
        if (error) reject(error);
        else resolve();
      };
      this.pendingWrites.add(finish);
      this.port.write(Buffer.from(bytes), (error) => {
        if (error)
          finish(new SerialError('WRITE_FAILED', `write to ${this.path} failed: ${error.message}`, true));
        else this.port.drain(() => finish(null));
      });
    });
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    const handler = (chunk: Buffer) => listener(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    this.port.on('data', handler);
    return () => this.port.off('data', handler);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.port.isOpen) {
      this.settle(null);
      return;
    }
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
    this.settle(null);
  }
}

export class NodeSerialOpener implements SerialOpener {
  async list(): Promise<PortInfo[]> {
    const ports = await SerialPort.list();
    return ports.map((p) => ({
      path: p.path,
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      ...(p.vendorId ? { vendorId: p.vendorId } : {}),
      ...(p.productId ? { productId: p.productId } : {}),
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
    }));
  }

  open(path: string, options: { baudRate: number }): Promise<SerialLink> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: options.baudRate, lock: true, autoOpen: false });
      port.open((error) => {
        if (error) reject(classifyOpenError(path, error));
        else resolve(new NodeSerialLink(port, path));
      });
    });
  }
}
