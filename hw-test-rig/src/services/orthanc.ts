import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from './free-port.ts';
import { RigProcess } from './process.ts';

export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/**
 * One province data centre: a real Orthanc with the DICOMweb plugin on a loopback port.
 * Its storage survives stop/start, so a data centre brought back still holds what it had.
 */
export class OrthancDataCentre {
  private readonly process: RigProcess;
  readonly url: string;

  private constructor(
    readonly id: 'A' | 'B',
    readonly port: number,
    dir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    mkdirSync(join(dir, 'storage'), { recursive: true });
    const config = {
      Name: `DC-${id}`,
      HttpPort: port,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'storage'),
      Plugins: [DICOMWEB_PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true },
      HttpTimeout: 60,
      ConcurrentJobs: 1,
    };
    writeFileSync(join(dir, 'orthanc.json'), JSON.stringify(config, null, 2));
    this.process = new RigProcess(
      `orthanc-${id}`,
      'Orthanc',
      [join(dir, 'orthanc.json')],
      join(dir, 'orthanc.log'),
    );
  }

  static async start(id: 'A' | 'B', dir: string, port?: number): Promise<OrthancDataCentre> {
    const dc = new OrthancDataCentre(id, port ?? (await freePort()), dir);
    await dc.start();
    return dc;
  }

  get dicomWebUrl(): string {
    return `${this.url}/dicom-web`;
  }

  get running(): boolean {
    return this.process.running;
  }

  async start(): Promise<void> {
    this.process.start();
    await waitFor(async () => (await fetch(`${this.url}/system`)).ok, `Orthanc DC-${this.id}`);
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }

  /** SOP Instance UIDs stored here (Orthanc REST). */
  async sopInstanceUids(): Promise<string[]> {
    const ids = (await (await fetch(`${this.url}/instances`)).json()) as string[];
    const uids: string[] = [];
    for (const id of ids) {
      const tags = (await (await fetch(`${this.url}/instances/${id}/simplified-tags`)).json()) as Record<
        string,
        string
      >;
      uids.push(tags['SOPInstanceUID']!);
    }
    return uids;
  }

  /** The stored file of one instance, by SOP Instance UID. */
  async instanceFile(sopUid: string): Promise<Uint8Array> {
    const found = (await (
      await fetch(`${this.url}/tools/find`, {
        method: 'POST',
        body: JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: sopUid } }),
      })
    ).json()) as string[];
    if (found.length !== 1)
      throw new Error(`DC-${this.id} holds ${found.length} instances with SOP Instance UID ${sopUid}`);
    return new Uint8Array(await (await fetch(`${this.url}/instances/${found[0]}/file`)).arrayBuffer());
  }
}
