import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SaneDevice, ScannerBackend, ScannerCapabilities, ScanSettings } from '#device-drivers';
import { type CpuPool, CpuTaskError } from '../cpu/cpu-pool.ts';
import type { EventBus } from '../events.ts';
import type { AtRest } from '../store/at-rest.ts';
import { writeFileDurable, writeFileDurableSync } from '../store/durable-file.ts';
import type { PageImages } from './page-image.ts';

export type ScannerDeviceState = 'unknown' | 'absent' | 'ready' | 'failed';
export type ScanJobState = 'idle' | 'scanning' | 'cancelling' | 'sending';

export interface DraftPage {
  id: string;
  width: number;
  height: number;
  dpi: number;
}

export class ScanError extends Error {
  constructor(
    readonly code: 'NO_SCANNER' | 'BUSY' | 'BAD_REQUEST' | 'NO_PAGES' | 'NOT_FOUND' | 'DISABLED',
    message: string,
  ) {
    super(message);
    this.name = 'ScanError';
  }
}

export interface ScanRequest {
  /** Feeder: pages to take (null: until the feeder is empty). Flatbed always takes one. */
  pages: number | null;
  /** Default: the feeder when the scanner has one. */
  source: 'feeder' | 'flatbed' | null;
  /** Scan one page again in place of this one. */
  replacePage: string | null;
}

export interface ScannerConfig {
  enabled: boolean;
  device: string;
  resolution: number;
  colour: boolean;
  paper: 'A4' | 'A5' | 'letter';
}

export interface DocumentScannerOptions {
  backend: ScannerBackend;
  config: ScannerConfig;
  /** `dataDir/scans`: the draft document and scanner scratch files. */
  dir: string;
  bus: EventBus;
  log: Logger;
  onChange(): void;
  /** Scanned pages are patient data: sealed on disk like the store's files (at-rest.ts). */
  atRest: AtRest;
  /** Worker threads: each page is parsed and made JPEG there, not on the event loop. */
  cpu: Pick<CpuPool, 'run'>;
}

const PAPER_MM = { A4: [210, 297], A5: [148, 210], letter: [216, 279] } as const;

/** The draft's page list on disk, so pages scanned survive a restart until sent or discarded. */
interface DraftFile {
  version: 1;
  pages: DraftPage[];
}

/**
 * The document being put together at the scanner: pages scanned (one at a time on the flatbed or a
 * stack through the feeder), each kept on disk as a JPEG with a preview, re-scanned, deleted and
 * reordered by staff, then handed over as one PDF ({@link sendDraft}).
 *
 * INVARIANTS
 * - One scan at a time (`job`); page edits and taking the document are refused while one runs.
 * - The page list on disk (`draft.json`) names only page files that are durable; a page file
 *   without an entry (a crash between the two writes) is removed at start.
 */
export class DocumentScanner {
  deviceState: ScannerDeviceState = 'unknown';
  device: SaneDevice | null = null;
  capabilities: ScannerCapabilities | null = null;
  deviceProblem: string | null = null;
  job: ScanJobState = 'idle';
  progress: { page: number; fraction: number; pagesDone: number } | null = null;
  lastError: string | null = null;
  readonly counters = { scans: 0, pages: 0, failures: 0, cancelled: 0, rejectedPages: 0 };
  private pages: DraftPage[] = [];
  private abort: AbortController | null = null;
  private scanDone: Promise<void> = Promise.resolve();
  private readonly draftDir: string;

  constructor(private readonly options: DocumentScannerOptions) {
    this.draftDir = join(options.dir, 'draft');
    mkdirSync(this.draftDir, { recursive: true });
    this.loadDraft();
  }

  get draft(): readonly DraftPage[] {
    return this.pages;
  }

  /** Looks for the configured scanner (SANE lists what is plugged in now). */
  async refresh(): Promise<void> {
    const { backend, config, log } = this.options;
    if (!config.enabled) return;
    const before = this.deviceState;
    try {
      const devices = await backend.listDevices();
      const device =
        config.device === 'auto'
          ? (devices[0] ?? null)
          : (devices.find((d) => d.name === config.device) ?? null);
      if (!device) {
        this.device = null;
        this.capabilities = null;
        this.deviceState = 'absent';
        this.deviceProblem =
          config.device === 'auto'
            ? 'no document scanner found: connect it by USB and switch it on'
            : `scanner ${config.device} not found (SANE lists ${devices.map((d) => d.name).join(', ') || 'none'}): connect it by USB and switch it on`;
      } else {
        if (this.device?.name !== device.name || !this.capabilities)
          this.capabilities = await backend.capabilities(device.name);
        this.device = device;
        this.deviceState = 'ready';
        this.deviceProblem = null;
      }
    } catch (error) {
      this.deviceState = 'failed';
      this.deviceProblem = (error as Error).message;
    }
    if (before !== this.deviceState) {
      log.info(
        { state: this.deviceState, device: this.device?.name, problem: this.deviceProblem },
        'scanner state',
      );
      this.options.bus.emit({
        type: 'scanner-state',
        state: this.deviceState,
        device: this.device ? `${this.device.vendor} ${this.device.model}` : null,
        detail: this.deviceProblem,
      });
      this.options.onChange();
    }
  }

  /** Starts a scan; resolves once it is running (pages then arrive in the draft one by one). */
  async scan(request: ScanRequest): Promise<void> {
    if (!this.options.config.enabled)
      throw new ScanError('DISABLED', 'document scanning is switched off in the configuration');
    if (this.job !== 'idle') throw new ScanError('BUSY', `the scanner is busy (${this.job})`);
    if (request.replacePage !== null && !this.pages.some((p) => p.id === request.replacePage))
      throw new ScanError('NOT_FOUND', `no page ${request.replacePage} in the document`);
    if (
      request.pages !== null &&
      !(Number.isInteger(request.pages) && request.pages >= 1 && request.pages <= 100)
    )
      throw new ScanError('BAD_REQUEST', 'pages must be a whole number from 1 to 100');
    this.job = 'scanning';
    this.progress = { page: 1, fraction: 0, pagesDone: 0 };
    this.lastError = null;
    this.options.onChange();
    try {
      await this.refresh();
      if (this.deviceState !== 'ready' || !this.device || !this.capabilities)
        throw new ScanError('NO_SCANNER', this.deviceProblem ?? 'no document scanner found');
      const settings = this.settings(this.device.name, this.capabilities, request);
      this.abort = new AbortController();
      this.scanDone = this.run(settings, request.replacePage, this.abort.signal);
    } catch (error) {
      this.job = 'idle';
      this.progress = null;
      this.lastError = (error as Error).message;
      this.options.onChange();
      throw error;
    }
  }

  /** Stops the scan running now; pages finished before it are kept. */
  /** Mains power failed: a scan running now stops; the pages scanned stay. */
  async finishBeforePowerLoss(): Promise<void> {
    if (this.job === 'scanning') await this.cancel();
  }

  async cancel(): Promise<void> {
    if (this.job !== 'scanning' || !this.abort) throw new ScanError('BUSY', 'no scan is running');
    this.job = 'cancelling';
    this.options.onChange();
    this.abort.abort();
    await this.scanDone;
  }

  deletePage(id: string): void {
    this.requireIdle();
    const page = this.pages.find((p) => p.id === id);
    if (!page) throw new ScanError('NOT_FOUND', `no page ${id} in the document`);
    this.savePages(this.pages.filter((p) => p !== page));
    this.removePageFiles(id);
    this.options.onChange();
  }

  /** New order: every page id exactly once. */
  reorder(ids: readonly string[]): void {
    this.requireIdle();
    const byId = new Map(this.pages.map((p) => [p.id, p]));
    if (
      ids.length !== this.pages.length ||
      new Set(ids).size !== ids.length ||
      ids.some((id) => !byId.has(id))
    )
      throw new ScanError(
        'BAD_REQUEST',
        `the order must list each of the ${this.pages.length} pages exactly once`,
      );
    this.savePages(ids.map((id) => byId.get(id) as DraftPage));
    this.options.onChange();
  }

  discard(): void {
    this.requireIdle();
    const ids = this.pages.map((p) => p.id);
    this.savePages([]);
    for (const id of ids) this.removePageFiles(id);
    this.options.onChange();
  }

  preview(id: string): Promise<Uint8Array> {
    if (!this.pages.some((p) => p.id === id))
      throw new ScanError('NOT_FOUND', `no page ${id} in the document`);
    return this.readPage(`${id}.preview.jpg`);
  }

  /**
   * Hands the draft's pages, in order, to `work` (which makes and saves the document) with the
   * scanner marked busy. `work` calls `saved()` once the document is durable: only then are the
   * pages cleared; if it fails before, the draft stays as it was.
   */
  async sendDraft<T>(
    work: (pages: Array<DraftPage & { jpeg: Uint8Array }>, saved: () => void) => Promise<T>,
  ): Promise<T> {
    this.requireIdle();
    if (this.pages.length === 0) throw new ScanError('NO_PAGES', 'there are no scanned pages to send');
    const pages = await Promise.all(
      this.pages.map(async (p) => ({ ...p, jpeg: await this.readPage(`${p.id}.jpg`) })),
    );
    const saved = () => {
      const sent = new Set(pages.map((p) => p.id));
      this.savePages(this.pages.filter((p) => !sent.has(p.id)));
      for (const id of sent) this.removePageFiles(id);
    };
    this.job = 'sending';
    this.options.onChange();
    try {
      return await work(pages, saved);
    } finally {
      this.job = 'idle';
      this.options.onChange();
    }
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.scanDone;
  }

  private requireIdle(): void {
    if (this.job !== 'idle') throw new ScanError('BUSY', `the scanner is busy (${this.job})`);
  }

  private settings(device: string, caps: ScannerCapabilities, request: ScanRequest): ScanSettings {
    const { config } = this.options;
    const source =
      request.replacePage !== null
        ? (request.source ?? 'flatbed')
        : (request.source ?? (caps.feeder ? 'feeder' : 'flatbed'));
    if (source === 'feeder' && !caps.feeder)
      throw new ScanError('BAD_REQUEST', 'this scanner has no document feeder: use the flatbed');
    const flatbed = caps.sources.find((s) => /flatbed/i.test(s)) ?? null;
    const wanted = config.colour ? /colou?r/i : /gr[ae]y/i;
    const mode =
      caps.modes.find((m) => wanted.test(m)) ?? caps.modes[0] ?? (config.colour ? 'Color' : 'Gray');
    const resolution = caps.resolutions.length
      ? caps.resolutions.reduce((best, r) =>
          Math.abs(r - config.resolution) < Math.abs(best - config.resolution) ? r : best,
        )
      : config.resolution;
    const [paperW, paperH] = PAPER_MM[config.paper];
    return {
      device,
      resolution,
      mode,
      source: source === 'feeder' ? caps.feeder : flatbed,
      widthMm: caps.maxWidthMm === null ? paperW : Math.min(paperW, caps.maxWidthMm),
      heightMm: caps.maxHeightMm === null ? paperH : Math.min(paperH, caps.maxHeightMm),
      maxPages: source === 'flatbed' || request.replacePage !== null ? 1 : request.pages,
    };
  }

  private async run(settings: ScanSettings, replacePage: string | null, signal: AbortSignal): Promise<void> {
    const { backend, log, bus } = this.options;
    const workDir = join(this.options.dir, 'work');
    rmSync(workDir, { recursive: true, force: true });
    this.counters.scans++;
    log.info(
      {
        device: settings.device,
        source: settings.source,
        pages: settings.maxPages,
        dpi: settings.resolution,
      },
      'scan started',
    );
    let added = 0;
    // Pages are made JPEG in order, in a worker thread, while the scanner goes on with the next.
    let pages = Promise.resolve();
    let outcome: Awaited<ReturnType<ScannerBackend['scan']>>;
    try {
      outcome = await backend.scan(settings, workDir, {
        signal,
        onProgress: (page, fraction) => {
          this.progress = { page, fraction, pagesDone: added };
          this.options.onChange();
        },
        onPage: ({ number, file }) => {
          pages = pages.then(async () => {
            if (await this.takePage(file, number, settings.resolution, replacePage)) added++;
            this.progress = { page: number + 1, fraction: 0, pagesDone: added };
            this.options.onChange();
          });
        },
      });
    } catch (error) {
      outcome = { ended: 'failed', pages: added, error: (error as Error).message };
    }
    await pages.catch((error: unknown) => log.error({ err: error }, 'a scanned page could not be kept'));
    rmSync(workDir, { recursive: true, force: true });
    if (outcome.ended === 'cancelled') this.counters.cancelled++;
    if (outcome.ended === 'failed') {
      this.counters.failures++;
      this.lastError =
        added > 0
          ? `the scanner stopped after ${added} ${added === 1 ? 'page' : 'pages'}: ${outcome.error}; the pages scanned are kept, scan the rest again`
          : `the scan failed: ${outcome.error}`;
      log.warn({ error: outcome.error, pages: added }, 'scan failed');
      bus.emit({ type: 'scanner-problem', message: this.lastError });
    } else {
      log.info({ ended: outcome.ended, pages: added }, 'scan ended');
    }
    this.job = 'idle';
    this.progress = null;
    this.abort = null;
    this.options.onChange();
  }

  /** One finished page: kept as JPEG + preview in the draft; true when it was added. */
  private async takePage(
    file: string,
    number: number,
    dpi: number,
    replacePage: string | null,
  ): Promise<boolean> {
    const { log, bus } = this.options;
    let images: PageImages;
    try {
      images = await this.options.cpu.run('page-images', { pnm: await readFile(file) });
    } catch (error) {
      if (!(error instanceof CpuTaskError) || error.kind !== 'undecodable') throw error;
      // The scanner's output is kept for the technician, never silently dropped.
      const rejected = join(this.options.dir, 'rejected');
      mkdirSync(rejected, { recursive: true });
      renameSync(file, join(rejected, `${new Date().toISOString().replaceAll(':', '')}-page-${number}.pnm`));
      this.counters.rejectedPages++;
      const message = `page ${number} from the scanner could not be read (${error.message}); scan it again`;
      log.warn({ page: number, err: error.message }, 'scanned page rejected');
      bus.emit({ type: 'scanner-problem', message });
      this.lastError = message;
      return false;
    }
    const id = randomUUID();
    const { atRest } = this.options;
    await writeFileDurable(join(this.draftDir, `${id}.jpg`), await atRest.sealFile(images.jpeg));
    await writeFileDurable(join(this.draftDir, `${id}.preview.jpg`), await atRest.sealFile(images.preview));
    rmSync(file, { force: true });
    const page: DraftPage = { id, width: images.width, height: images.height, dpi };
    const index = replacePage === null ? -1 : this.pages.findIndex((p) => p.id === replacePage);
    if (index >= 0) {
      const pages = [...this.pages];
      pages[index] = page;
      this.savePages(pages);
      this.removePageFiles(replacePage as string);
    } else {
      this.savePages([...this.pages, page]);
    }
    this.counters.pages++;
    return true;
  }

  private async readPage(name: string): Promise<Uint8Array> {
    return this.options.atRest.openFile(await readFile(join(this.draftDir, name)), `scanned page ${name}`);
  }

  private savePages(pages: DraftPage[]): void {
    const draft: DraftFile = { version: 1, pages };
    writeFileDurableSync(join(this.draftDir, 'draft.json'), new TextEncoder().encode(JSON.stringify(draft)));
    this.pages = pages;
  }

  private removePageFiles(id: string): void {
    for (const suffix of ['.jpg', '.preview.jpg'])
      rmSync(join(this.draftDir, `${id}${suffix}`), { force: true });
  }

  private loadDraft(): void {
    const file = join(this.draftDir, 'draft.json');
    if (existsSync(file)) {
      try {
        const draft = JSON.parse(readFileSync(file, 'utf8')) as DraftFile;
        this.pages = draft.pages.filter((p) => existsSync(join(this.draftDir, `${p.id}.jpg`)));
      } catch (error) {
        // Kept for the technician; the draft starts empty rather than the service failing.
        renameSync(file, join(this.draftDir, `draft.json.unreadable-${Date.now()}`));
        this.options.log.error({ err: (error as Error).message }, 'scan draft unreadable: set aside');
      }
    }
    const known = new Set(this.pages.map((p) => p.id));
    for (const name of readdirSync(this.draftDir)) {
      const id = name.replace(/(\.preview)?\.jpg$/, '');
      if (name.endsWith('.jpg') && !known.has(id)) rmSync(join(this.draftDir, name), { force: true });
    }
  }
}
