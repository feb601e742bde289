import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { parsePnm, type Raster } from '#device-drivers';
import { encodeEncapsulatedPdf } from '../firmware/src/dicom/encapsulated-pdf.ts';
import { pageImages } from '../firmware/src/documents/page-image.ts';
import { buildPdf } from '../firmware/src/documents/pdf.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median } from './stats.ts';

/** 200 dpi A4 in pixels. */
const A4 = { width: Math.floor((210 / 25.4) * 200), height: Math.floor((297 / 25.4) * 200) };

/**
 * A page that compresses like a printed letter: off-white paper with scanner noise, margins, and
 * lines of dark "words" (random widths), deterministic.
 */
function letterPage(seed: number): Raster {
  let state = seed >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const { width, height } = A4;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = 238 + Math.floor(rand() * 5);
  const margin = 200;
  for (let line = margin; line < height - margin; line += 56) {
    let x = margin;
    while (x < width - margin) {
      const word = 40 + Math.floor(rand() * 160);
      // Glyph-like strokes: 3 px dark columns every 7 px, with ascenders now and then.
      for (let dx = 0; dx < word && x + dx < width - margin; dx++) {
        if (dx % 7 > 2) continue;
        const top = line + (rand() < 0.2 ? 0 : 10);
        for (let y = top; y < line + 30; y++) data[y * width + x + dx] = 30 + Math.floor(rand() * 20);
      }
      x += word + 24;
    }
  }
  return { width, height, channels: 1, data };
}

async function timeAsync(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Scan to PDF per page at 200 dpi greyscale: the scanner's part (scanimage with SANE's test
 * backend, in memory: the frontend's own cost, no paper transport) and ours (PNM → JPEG and
 * preview, PDF, Encapsulated PDF), against a bare jpeg-js encode of the same page in the same run.
 */
export async function benchDocuments(dir: string): Promise<{ rows: Row[]; notes: string[] }> {
  mkdirSync(dir, { recursive: true });
  const notes: string[] = [];
  const page = letterPage(7);
  const rgba = Buffer.alloc(page.width * page.height * 4);
  for (let p = 0; p < page.width * page.height; p++) rgba.fill(page.data[p] as number, 4 * p, 4 * p + 3);
  const baseline = median(
    await timeAsync(async () => jpeg.encode({ data: rgba, width: page.width, height: page.height }, 75), 10),
  );
  const ours = median(await timeAsync(async () => pageImages(page), 10));
  const images = pageImages(page);
  const pdfPerPage = median(
    await timeAsync(
      () =>
        buildPdf([{ jpeg: images.jpeg, width: images.width, height: images.height, dpi: 200 }], {
          title: 'x',
          createdAt: new Date(),
          documentId: 'bench',
        }),
      10,
    ),
  );
  const pdf = await buildPdf(
    [1, 2].map(() => ({ jpeg: images.jpeg, width: images.width, height: images.height, dpi: 200 })),
    { title: 'x', createdAt: new Date(), documentId: 'bench' },
  );
  const dicom = median(
    await timeAsync(async () => {
      encodeEncapsulatedPdf({
        pdf,
        title: 'x',
        pages: 2,
        uids: { study: '1.2.3', series: '1.2.3.1', sop: '1.2.3.1.1' },
        takenAt: '2026-11-28T12:00:00',
        seriesNumber: 701,
        patient: { id: null, name: null, birthDate: null, sex: null },
        stationName: 'BENCH',
        institutionName: 'BENCH',
        originalSha256: 'ab'.repeat(32),
      });
    }, 10),
  );
  const rows: Row[] = [
    {
      what: 'baseline: jpeg-js encode of the page alone (quality 75)',
      median: fmt(baseline, 0),
      ratio: '1.00',
    },
    {
      what: `ours: page → JPEG + ${images.preview.length} B preview (${Math.round(images.jpeg.length / 1024)} KiB page)`,
      median: fmt(ours, 0),
      ratio: fmt(ours / baseline),
    },
    {
      what: 'ours: one-page PDF from the JPEG (pdf-lib)',
      median: fmt(pdfPerPage, 1),
      ratio: fmt(pdfPerPage / baseline),
    },
    {
      what: `ours: Encapsulated PDF of a two-page PDF (${Math.round(pdf.length / 1024)} KiB)`,
      median: fmt(dicom, 1),
      ratio: fmt(dicom / baseline),
    },
  ];
  try {
    const saneDir = join(dir, 'sane.d');
    mkdirSync(saneDir, { recursive: true });
    writeFileSync(join(saneDir, 'dll.conf'), 'test\n');
    writeFileSync(join(saneDir, 'test.conf'), 'number_of_devices 1\ntest-picture "Grid"\n');
    const env = { ...process.env, SANE_CONFIG_DIR: saneDir };
    const args = [
      '-d',
      'test:0',
      '--mode',
      'Gray',
      '--resolution',
      '200',
      '-x',
      '200',
      '-y',
      '200',
      '--format=pnm',
    ];
    const scans: number[] = [];
    let pnm = Buffer.alloc(0);
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      pnm = execFileSync('scanimage', args, { env, maxBuffer: 64 * 1024 * 1024 });
      if (i > 0) scans.push(performance.now() - t0);
    }
    const raster = parsePnm(pnm);
    rows.push({
      what: `scanner: scanimage, SANE test backend, ${raster.width}×${raster.height} (its 200 mm limit)`,
      median: fmt(median(scans), 0),
      ratio: fmt(median(scans) / baseline),
    });
    notes.push(
      `The test backend makes pages in memory; a real scanner moves paper at 10–30 pages a minute, 2–6 s a page, so ours (~${fmt(ours + pdfPerPage, 0)} ms) is a small share of scan-to-PDF on the board.`,
    );
  } catch (error) {
    notes.push(`scanimage row skipped: ${(error as Error).message}`);
  }
  notes.push(
    "Pages are encoded on the daemon's main thread; at ~0.4 s a page the API and the watchdog are delayed that long per page. Moving it to a worker thread is the next step if a board is slower.",
  );
  return { rows, notes };
}
