import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ScanimageBackend, type ScannerBackend } from '#device-drivers';
import { ApiActionError, type ApiRoute } from '../api/server.ts';
import type { ScannerItem } from '../api/types.ts';
import type { Config } from '../config/schema.ts';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import { encodeEncapsulatedPdf } from '../dicom/encapsulated-pdf.ts';
import { makeUid } from '../dicom/uid.ts';
import type { EventBus } from '../events.ts';
import { queueEncoded } from '../ingest/queue-encoded.ts';
import { originalOrSetAside } from '../ingest/read-original.ts';
import type { StudyStore } from '../store/study-store.ts';
import { PRIORITY, StoreError } from '../store/types.ts';
import { type ConsultationStudies, storedStudy } from '../study/consultation-studies.ts';
import { DocumentScanner, ScanError, type ScanRequest } from './document-scanner.ts';
import { buildPdf, loadPdfLib } from './pdf.ts';

export interface DocumentsOptions {
  config: Config;
  store: StudyStore;
  studies: Pick<ConsultationStudies, 'current' | 'patientFor'>;
  bus: EventBus;
  log: Logger;
  onQueued(): void;
  onChange(): void;
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

const STATUS_OF: Record<ScanError['code'], number> = {
  NO_SCANNER: 503,
  BUSY: 409,
  BAD_REQUEST: 400,
  NO_PAGES: 409,
  NOT_FOUND: 404,
  DISABLED: 409,
};

/**
 * Scanned documents, from the scanner to the queue: the draft at the scanner
 * ({@link DocumentScanner}), then one PDF of its pages saved durably and made a DICOM Encapsulated
 * PDF instance in the open consultation study. Adds its routes to the local API.
 */
export class Documents {
  readonly scanner: DocumentScanner;
  readonly counters = { sent: 0, refused: 0, failures: 0 };
  private readonly now: () => Date;

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
      onChange: options.onChange,
      atRest: options.store.atRest,
    });
  }

  start(): void {
    void this.scanner.refresh();
    void this.resume().catch((error: unknown) =>
      this.options.log.error({ err: error }, 'documents saved before the restart could not be encoded'),
    );
  }

  async stop(): Promise<void> {
    await this.scanner.stop();
  }

  /**
   * The draft's pages as one PDF, saved (the acknowledgement staff get), then encoded and queued.
   * The draft is cleared only once the PDF is durable; a refusal (disk low) leaves it as it was.
   */
  async send(): Promise<{ instanceId: number; pages: number; bytes: number; contentSha256: string }> {
    const { store, studies, bus, log } = this.options;
    return this.scanner.sendDraft(async (pages, saved) => {
      const at = this.now();
      const pdf = await buildPdf(pages, {
        title: documentTitle(pages.length),
        createdAt: at,
        documentId: randomUUID(),
      });
      let received: { id: number; duplicate: boolean };
      try {
        received = store.receive({
          kind: 'document',
          source: 'scanner',
          bytes: pdf,
          originalName: null,
          priority: PRIORITY.document,
          incomplete: null,
          studyUid: studies.current().uid,
        });
      } catch (error) {
        this.counters.refused++;
        const reason = error instanceof StoreError ? error.message : String(error);
        bus.emit({ type: 'capture-refused', source: 'scanner', reason });
        throw error;
      }
      saved();
      const id = received.id;
      bus.emit({ type: 'instance', instanceId: id, state: 'captured', reason: null });
      await this.encode(id, pages.length);
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
  async resume(): Promise<void> {
    for (const row of this.options.store.inState('captured'))
      if (row.kind === 'document') await this.encode(row.id);
  }

  /**
   * Makes a saved PDF an Encapsulated PDF instance in the study it was scanned in, and queues it.
   * `pages` is known when it was just sent; after a restart the PDF itself says.
   */
  private async encode(id: number, pages?: number): Promise<void> {
    const { store, studies, bus, log, config } = this.options;
    const row = store.get(id);
    if (row.state !== 'captured' || row.kind !== 'document') return;
    const pdf = originalOrSetAside(this.options, row);
    if (!pdf) return;
    const at = new Date(row.received_at);
    const epoch = at.getTime();
    try {
      const studyUid = row.capture_study_uid;
      if (!studyUid) throw new DicomEncodeError('the document was saved without its study');
      const patient = studies.patientFor(studyUid);
      const pageCount = pages ?? (await pdfPageCount(pdf));
      const uids = {
        study: studyUid,
        series: makeUid(config.device.uidRoot, 'series', id, epoch),
        sop: makeUid(config.device.uidRoot, 'instance', id, epoch),
      };
      const dicom = encodeEncapsulatedPdf({
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
      queueEncoded(this.options, id, {
        study: storedStudy(studyUid, patient),
        seriesUid: uids.series,
        sopUid: uids.sop,
        dicom,
        warnings: [],
      });
      this.counters.sent++;
    } catch (error) {
      if (!(error instanceof DicomEncodeError)) throw error;
      this.counters.failures++;
      const reason = `cannot make DICOM of the document: ${error.message}`;
      store.quarantine(id, 'undecodable', reason);
      log.warn({ instance: id, reason }, 'document quarantined');
      bus.emit({ type: 'instance', instanceId: id, state: 'quarantined', reason });
    }
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

  routes(): ApiRoute[] {
    const refuse = (error: unknown): never => {
      if (error instanceof ScanError) throw new ApiActionError(STATUS_OF[error.code], error.message);
      if (error instanceof StoreError)
        throw new ApiActionError(
          error.code === 'DISK_LOW' ? 507 : error.code === 'REFUSED' ? 503 : 500,
          error.message,
        );
      throw error;
    };
    const s = this.scanner;
    const ok = async (work: () => unknown) => {
      try {
        await work();
      } catch (error) {
        refuse(error);
      }
      return { json: this.status() };
    };
    return [
      {
        method: 'GET',
        path: '/api/v1/scanner',
        handle: async () => {
          await s.refresh();
          return { json: this.status() };
        },
      },
      {
        method: 'POST',
        path: '/api/v1/scans',
        handle: ({ body }) => ok(() => s.scan(scanRequest(body, null))),
      },
      { method: 'POST', path: '/api/v1/scans/cancel', handle: () => ok(() => s.cancel()) },
      {
        method: 'POST',
        path: '/api/v1/document/pages/:id/rescan',
        handle: ({ params, body }) => ok(() => s.scan(scanRequest(body, params['id'] as string))),
      },
      {
        method: 'DELETE',
        path: '/api/v1/document/pages/:id',
        handle: ({ params }) => ok(() => s.deletePage(params['id'] as string)),
      },
      {
        method: 'PUT',
        path: '/api/v1/document/order',
        handle: ({ body }) =>
          ok(() => {
            const order = (body as { order?: unknown } | null)?.order;
            if (!Array.isArray(order) || !order.every((id) => typeof id === 'string'))
              throw new ScanError('BAD_REQUEST', 'order must be an array of page ids');
            s.reorder(order);
          }),
      },
      { method: 'POST', path: '/api/v1/document/discard', handle: () => ok(() => s.discard()) },
      {
        method: 'POST',
        path: '/api/v1/document/send',
        handle: async () => {
          try {
            return { json: await this.send() };
          } catch (error) {
            return refuse(error);
          }
        },
      },
      {
        method: 'GET',
        path: '/api/v1/document/pages/:id/preview.jpg',
        handle: async ({ params }) => {
          try {
            const id = params['id'] as string;
            const bytes = s.preview(id);
            this.options.store.audit.append(
              this.now().toISOString(),
              'kiosk',
              'viewed',
              `scanned page ${id}`,
            );
            return { bytes, contentType: 'image/jpeg' };
          } catch (error) {
            return refuse(error);
          }
        },
      },
    ];
  }
}

/** A scan request from an HTTP body: `{ pages?: N, source?: 'feeder' | 'flatbed' }`. */
function scanRequest(body: unknown, replacePage: string | null): ScanRequest {
  if (body !== null && (typeof body !== 'object' || Array.isArray(body)))
    throw new ScanError('BAD_REQUEST', 'the body must be a JSON object');
  const b = (body ?? {}) as { pages?: unknown; source?: unknown };
  const problems: string[] = [];
  if (b.pages !== undefined && b.pages !== null && typeof b.pages !== 'number')
    problems.push('pages must be a number');
  if (b.source !== undefined && b.source !== null && b.source !== 'feeder' && b.source !== 'flatbed')
    problems.push("source must be 'feeder' or 'flatbed'");
  if (problems.length) throw new ScanError('BAD_REQUEST', problems.join('; '));
  return {
    pages: typeof b.pages === 'number' ? b.pages : null,
    source: b.source === 'feeder' || b.source === 'flatbed' ? b.source : null,
    replacePage,
  };
}
