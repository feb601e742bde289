import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ScanimageBackend, type ScannerBackend } from '#device-drivers';
import type { ScannerItem } from '../api/types.ts';
import type { Config } from '../config/schema.ts';
import type { CpuPool } from '../cpu/cpu-pool.ts';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import { makeUid } from '../dicom/uid.ts';
import type { EventBus } from '../events.ts';
import type { CapturePipeline } from '../ingest/capture-pipeline.ts';
import type { Service } from '../service.ts';
import type { EncodedInstance, StudyStore } from '../store/study-store.ts';
import { type InstanceRow, PRIORITY } from '../store/types.ts';
import { type ConsultationStudies, instanceInStudy } from '../study/consultation-studies.ts';
import { DocumentScanner } from './document-scanner.ts';
import { buildPdf, loadPdfLib } from './pdf.ts';

export interface DocumentsOptions {
  config: Config;
  pipeline: CapturePipeline;
  /** Worker threads for the DICOM encoding. */
  cpu: Pick<CpuPool, 'run'>;
  store: StudyStore;
  studies: Pick<ConsultationStudies, 'current' | 'patientFor'>;
  bus: EventBus;
  log: Logger;
  /** Default: scanimage, with the configured command and SANE_CONFIG_DIR. */
  backend?: ScannerBackend;
  now?: () => Date;
}

const localIso = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

const documentTitle = (pages: number) => `扫描文件 ${pages} 页`;

/** Pages in a PDF the terminal made; a PDF that cannot be read is a DicomEncodeError (quarantined). */
async function pdfPageCount(pdf: Uint8Array): Promise<number> {
  try {
    const { PDFDocument } = await loadPdfLib();
    return (await PDFDocument.load(pdf, { updateMetadata: false })).getPageCount();
  } catch (error) {
    throw new DicomEncodeError(`the saved PDF cannot be read: ${(error as Error).message}`);
  }
}

/**
 * Scanned documents, from the scanner to the queue: the draft at the scanner
 * ({@link DocumentScanner}), then one PDF of its pages saved durably and made a DICOM Encapsulated
 * PDF instance in the open consultation study.
 */
export class Documents implements Service<ScannerItem> {
  readonly name = 'documents';
  readonly scanner: DocumentScanner;
  private readonly now: () => Date;
  /** Pages of a document just sent, until it is encoded (saves parsing the PDF it was made from). */
  private readonly pageCounts = new Map<number, number>();

  constructor(private readonly options: DocumentsOptions) {
    const { config } = options;
    this.now = options.now ?? (() => new Date());
    const backend =
      options.backend ??
      new ScanimageBackend({
        ...(config.scanner.command ? { command: config.scanner.command } : {}),
        ...(config.scanner.saneConfigDir ? { env: { SANE_CONFIG_DIR: config.scanner.saneConfigDir } } : {}),
      });
    this.scanner = new DocumentScanner({
      backend,
      config: config.scanner,
      dir: join(config.dataDir, 'scans'),
      bus: options.bus,
      log: options.log,
      onChange: () => options.bus.emit({ type: 'changed', part: 'scanner' }),
      atRest: options.store.atRest,
      cpu: options.cpu,
    });
    options.pipeline.register({
      kind: 'document',
      noun: 'document',
      encode: (row, pdf) => this.encode(row, pdf),
    });
  }

  get counters() {
    const c = this.options.pipeline.counters('document');
    return { sent: c.queued, refused: c.refused, failures: c.setAside };
  }

  start(): void {
    // A document scanner plugged in: looked for at once.
    this.options.bus.on(this.name, 'usb-arrival', (event) => {
      if (event.kind === 'document-scanner') void this.scanner.refresh();
    });
    void this.scanner.refresh();
    void this.resume().catch((error: unknown) =>
      this.options.log.error({ err: error }, 'documents saved before the restart could not be encoded'),
    );
  }

  snapshot(): ScannerItem {
    return this.status();
  }

  async stop(): Promise<void> {
    this.options.bus.off(this.name);
    await this.scanner.stop();
  }

  /**
   * The draft's pages as one PDF, saved (the acknowledgement staff get), then encoded and queued.
   * The draft is cleared only once the PDF is durable; a refusal (disk low) leaves it as it was.
   */
  async send(): Promise<{ instanceId: number; pages: number; bytes: number; contentSha256: string }> {
    const { pipeline, store, studies, log } = this.options;
    return this.scanner.sendDraft(async (pages, saved) => {
      const at = this.now();
      const pdf = await buildPdf(pages, {
        title: documentTitle(pages.length),
        createdAt: at,
        documentId: randomUUID(),
      });
      const received = await pipeline.receive({
        kind: 'document',
        source: 'scanner',
        bytes: pdf,
        originalName: null,
        priority: PRIORITY.document,
        incomplete: null,
        studyUid: studies.current().uid,
      });
      saved();
      const id = received.id;
      this.pageCounts.set(id, pages.length);
      await pipeline.process(id);
      log.info({ instance: id, pages: pages.length, bytes: pdf.length }, 'document saved');
      return {
        instanceId: id,
        pages: pages.length,
        bytes: pdf.length,
        contentSha256: store.get(id).content_sha256,
      };
    });
  }

  /** Documents saved but not yet made DICOM when the terminal stopped (a crash, a power cut): made now. */
  resume(): Promise<void> {
    return this.options.pipeline.resume(['document']);
  }

  /**
   * A saved PDF as an Encapsulated PDF instance in the study it was scanned in. The page count is
   * known when it was just sent; after a restart the PDF itself says.
   */
  private async encode(row: InstanceRow, pdf: Uint8Array): Promise<EncodedInstance> {
    const { studies, config } = this.options;
    const id = row.id;
    const known = this.pageCounts.get(id);
    this.pageCounts.delete(id);
    const at = new Date(row.received_at);
    const epoch = at.getTime();
    const studyUid = row.capture_study_uid;
    if (!studyUid) throw new DicomEncodeError('the document was saved without its study');
    const patient = studies.patientFor(studyUid);
    const pageCount = known ?? (await pdfPageCount(pdf));
    const uids = {
      study: studyUid,
      series: makeUid(config.device.uidRoot, 'series', id, epoch),
      sop: makeUid(config.device.uidRoot, 'instance', id, epoch),
    };
    const dicom = await this.options.cpu.run('encapsulated-pdf', {
      pdf,
      title: documentTitle(pageCount),
      pages: pageCount,
      uids,
      takenAt: localIso(at),
      seriesNumber: 700 + id,
      patient,
      stationName: config.device.id,
      institutionName: config.device.institutionName,
      originalSha256: row.content_sha256,
    });
    return instanceInStudy(studyUid, patient, uids, dicom);
  }

  status(): ScannerItem {
    const s = this.scanner;
    return {
      enabled: this.options.config.scanner.enabled,
      state: s.deviceState,
      device: s.device ? { name: s.device.name, vendor: s.device.vendor, model: s.device.model } : null,
      problem: s.deviceProblem,
      feeder: Boolean(s.capabilities?.feeder),
      job: s.job,
      progress: s.progress,
      pages: s.draft.map((p, i) => ({
        id: p.id,
        number: i + 1,
        width: p.width,
        height: p.height,
        dpi: p.dpi,
        preview: `/api/v1/document/pages/${encodeURIComponent(p.id)}/preview.jpg`,
      })),
      lastError: s.lastError,
      counters: {
        ...s.counters,
        documentsSent: this.counters.sent,
        documentsRefused: this.counters.refused,
        documentsQuarantined: this.counters.failures,
      },
    };
  }

  /** A scanned page's preview for the kiosk; every view is in the audit log (patient data shown). */
  async pagePreview(pageId: string): Promise<Uint8Array> {
    const bytes = await this.scanner.preview(pageId);
    this.options.store.audit.append(this.now().toISOString(), 'kiosk', 'viewed', `scanned page ${pageId}`);
    return bytes;
  }
}
