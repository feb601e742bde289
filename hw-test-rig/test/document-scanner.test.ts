import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PDFDocument } from '@cantoo/pdf-lib';
import test from 'ava';
import dcmjs from 'dcmjs';
import type { ScannerItem } from '../../firmware/src/api/types.ts';
import { localApi, until, world } from './helpers/harness.ts';

type Api = ReturnType<typeof localApi>;

async function scanner(api: Api): Promise<ScannerItem> {
  return (await api.status()).scanner;
}

async function scanAndWait(api: Api, body: object): Promise<ScannerItem> {
  const started = await api.post('/api/v1/scans', body);
  if (started.status !== 200) throw new Error(`scan refused: ${started.status} ${await started.text()}`);
  return until('the scan to end', async () => {
    const s = await scanner(api);
    return s.job === 'idle' ? s : false;
  });
}

const request = (api: Api, method: string, path: string, body?: object) =>
  fetch(`${api.origin}${path}`, {
    method,
    headers: api.headers,
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

function dataset(bytes: Uint8Array): Record<string, unknown> {
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(
    dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    ).dict,
  ) as Record<string, unknown>;
}

test.serial(
  'a two-page scan from the feeder becomes one Encapsulated PDF in a data centre: pages in order, previews, re-scan, delete, reorder',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);
    const found = (await (await api.get('/api/v1/scanner')).json()) as ScannerItem;
    t.is(found.state, 'ready');
    t.is(found.device?.name, 'test:0');
    t.true(found.feeder);

    // Three pages through the feeder, with progress along the way.
    const fractions: number[] = [];
    const progress = setInterval(() => {
      void scanner(api).then((s) => s.progress && fractions.push(s.progress.fraction));
    }, 20);
    const scanned = await scanAndWait(api, { pages: 3 });
    clearInterval(progress);
    t.is(scanned.pages.length, 3);
    t.is(scanned.lastError, null);
    t.true(fractions.length > 0, 'progress was reported while scanning');
    for (const page of scanned.pages) {
      t.is(page.dpi, 200);
      // The rig's feeder is 200 mm wide at most (the test backend's limit), A4 is 210: clamped.
      t.is(page.width, Math.floor((200 / 25.4) * 200));
      const preview = await api.get(page.preview);
      t.is(preview.status, 200);
      t.is(preview.headers.get('content-type'), 'image/jpeg');
      const jpeg = new Uint8Array(await preview.arrayBuffer());
      t.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    }

    // Staff drop the second page, re-scan the first on the flatbed, and put the last first.
    const [p1, p2, p3] = scanned.pages as [
      ScannerItem['pages'][0],
      ScannerItem['pages'][0],
      ScannerItem['pages'][0],
    ];
    t.is((await request(api, 'DELETE', `/api/v1/document/pages/${p2.id}`)).status, 200);
    const rescan = await api.post(`/api/v1/document/pages/${p1.id}/rescan`);
    t.is(rescan.status, 200);
    const afterRescan = await until('the re-scan to end', async () => {
      const s = await scanner(api);
      return s.job === 'idle' ? s : false;
    });
    t.is(afterRescan.pages.length, 2);
    const replaced = afterRescan.pages[0]!;
    t.not(replaced.id, p1.id, 'the re-scanned page replaces the first one in its place');
    t.is(afterRescan.pages[1]!.id, p3.id);
    const badOrder = await request(api, 'PUT', '/api/v1/document/order', { order: [p3.id] });
    t.is(badOrder.status, 400);
    t.regex(((await badOrder.json()) as { error: string }).error, /each of the 2 pages exactly once/);
    t.is((await request(api, 'PUT', '/api/v1/document/order', { order: [p3.id, replaced.id] })).status, 200);
    t.deepEqual(
      (await scanner(api)).pages.map((p) => p.id),
      [p3.id, replaced.id],
    );

    const sent = await api.post('/api/v1/document/send');
    t.is(sent.status, 200);
    const { instanceId, pages, bytes } = (await sent.json()) as {
      instanceId: number;
      pages: number;
      bytes: number;
    };
    t.is(pages, 2);
    t.true(bytes < 2 * 400_000, `two 200 dpi grey pages as PDF: ${bytes} bytes`);
    t.is((await scanner(api)).pages.length, 0, 'the draft is cleared once the document is saved');
    await until('the document delivered', () => w.daemon.store.get(instanceId).state === 'delivered');
    const row = w.daemon.store.get(instanceId);
    t.is(row.kind, 'document');
    const stored = await w.rig.dcs.A.instanceFile(row.sop_uid!);
    const ds = dataset(stored);
    t.is(ds['SOPClassUID'], '1.2.840.10008.5.1.4.1.1.104.1');
    t.is(ds['Modality'], 'DOC');
    t.is(ds['ConversionType'], 'SD');
    t.is(ds['MIMETypeOfEncapsulatedDocument'], 'application/pdf');
    const open = (await api.status()).study;
    t.is(ds['StudyInstanceUID'], open?.uid, 'in the open consultation study');
    const length = Number(ds['EncapsulatedDocumentLength']);
    const pdfBytes = new Uint8Array((ds['EncapsulatedDocument'] as ArrayBuffer[])[0]!).subarray(0, length);
    const pdf = await PDFDocument.load(pdfBytes);
    t.is(pdf.getPageCount(), 2);
    const [w1, h1] = [pdf.getPage(0).getWidth(), pdf.getPage(0).getHeight()];
    t.is(Math.round(w1), Math.round((200 / 25.4) * 72), 'page size is the paper scanned');
    // A4's 297 mm is clamped to the test backend's 200 mm too.
    t.is(Math.round(h1), Math.round((200 / 25.4) * 72));
    // The same paper scanned and sent again is a second document, not the first one received twice.
    await scanAndWait(api, { pages: 1, source: 'flatbed' });
    const first = (await (await api.post('/api/v1/document/send')).json()) as { instanceId: number };
    await scanAndWait(api, { pages: 1, source: 'flatbed' });
    const again = (await (await api.post('/api/v1/document/send')).json()) as { instanceId: number };
    t.not(again.instanceId, first.instanceId);
    // dcmtk agrees it is a well-formed Encapsulated PDF, and gives the PDF back unchanged.
    const file = join(w.dir, 'document.dcm');
    writeFileSync(file, stored);
    execFileSync('dcm2pdf', [file, join(w.dir, 'document.pdf')]);
    t.regex(execFileSync('dcmdump', [file], { encoding: 'utf8' }), /EncapsulatedDocument/);
  },
);

test.serial(
  'no scanner, a backend error mid-page, cancel mid-scan, unplug mid-page and replug: each says what to do, pages kept, daemon runs on',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const api = localApi(w);

    // No scanner at all.
    w.rig.scanner.unplug();
    const none = await api.post('/api/v1/scans', { pages: 1 });
    t.is(none.status, 503);
    t.regex(((await none.json()) as { error: string }).error, /no document scanner found: connect it by USB/);
    t.is((await scanner(api)).state, 'absent');
    w.rig.scanner.plug();

    // One good page, then a backend error on the next scan: the page scanned before is kept.
    t.is((await scanAndWait(api, { pages: 1 })).pages.length, 1);
    w.rig.scanner.setFault('io-error');
    const failed = await scanAndWait(api, { pages: 2 });
    t.is(failed.pages.length, 1, 'the earlier page is kept');
    t.regex(failed.lastError ?? '', /the scan failed: .*Error during device I\/O/);
    t.true((await api.status()).notices.some((n) => n.code === 'scanner-problem'));

    // Cancel mid-page (a slow scanner): the scan stops within seconds, nothing half-made is kept.
    w.rig.scanner.setFault('slow');
    t.is((await api.post('/api/v1/scans', { pages: 3 })).status, 200);
    await until('a page under way', async () => ((await scanner(api)).progress?.fraction ?? 0) > 0.05);
    t.is((await api.post('/api/v1/scans/cancel')).status, 200);
    const cancelled = await scanner(api);
    t.is(cancelled.job, 'idle');
    t.is(cancelled.pages.length, 1);
    t.is(cancelled.counters.cancelled, 1);
    t.deepEqual(w.rig.scanner.runningScans(), [], 'the backend process is gone');

    // Unplugged mid-page: the scan ends with the backend's failure; replugged, scanning works again.
    t.is((await api.post('/api/v1/scans', { pages: 1 })).status, 200);
    await until('a page under way', async () => ((await scanner(api)).progress?.fraction ?? 0) > 0.05);
    w.rig.scanner.unplug();
    const pulled = await until('the scan to end', async () => {
      const s = await scanner(api);
      return s.job === 'idle' ? s : false;
    });
    t.is(pulled.pages.length, 1);
    t.regex(pulled.lastError ?? '', /the scan failed: the scanner backend was killed/);
    w.rig.scanner.setFault(null);
    w.rig.scanner.plug();
    const again = await scanAndWait(api, { pages: 1 });
    t.is(again.pages.length, 2);
    t.is(again.state, 'ready');
    t.is((await api.status()).queueDepth, 0, 'the daemon carries on');
  },
);

test.serial('bad scan requests are refused with the field named; the draft survives a restart', async (t) => {
  const w = await world();
  t.teardown(() => w.rig.stop());
  const api = localApi(w);
  const bad = await api.post('/api/v1/scans', { pages: 'two', source: 'tray' });
  t.is(bad.status, 400);
  t.regex(
    ((await bad.json()) as { error: string }).error,
    /pages must be a number; source must be 'feeder' or 'flatbed'/,
  );
  t.is((await api.post('/api/v1/document/send')).status, 409, 'nothing to send');
  t.is((await request(api, 'DELETE', '/api/v1/document/pages/nope')).status, 404);
  await scanAndWait(api, { pages: 2 });
  const before = (await scanner(api)).pages.map((p) => p.id);
  await w.daemon.stop();
  const { Daemon } = await import('../../firmware/src/daemon.ts');
  const pino = (await import('pino')).default;
  const again = new Daemon(w.config, { log: pino({ level: 'silent' }) });
  await again.start();
  try {
    t.deepEqual(
      again.documents.scanner.draft.map((p) => p.id),
      before,
    );
  } finally {
    await again.stop();
  }
});
