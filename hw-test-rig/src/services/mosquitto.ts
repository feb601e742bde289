import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort, waitFor } from './free-port.ts';
import { RigProcess } from './process.ts';

/** The province's MQTT broker: a real mosquitto on a loopback port. */
export class MosquittoBroker {
  private readonly process: RigProcess;

  private constructor(
    readonly port: number,
    dir: string,
  ) {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    this.process = new RigProcess('mosquitto', 'mosquitto', ['-c', conf], join(dir, 'mosquitto.log'));
  }

  static async start(dir: string, port?: number): Promise<MosquittoBroker> {
    const broker = new MosquittoBroker(port ?? (await freePort()), dir);
    await broker.start();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.process.running;
  }

  async start(): Promise<void> {
    this.process.start();
    await waitFor(() => canConnect(this.port), 'mosquitto');
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}
