import type { Documents } from '../../documents/documents.ts';
import { type Route, route } from '../router.ts';
import { DocumentSent, PageOrder, ScanRequestBody } from '../schemas.ts';
import { ScannerItem } from '../types.ts';

/**
 * Scanned documents: the scanner's state, scans and rescans, the draft's pages (order, delete,
 * preview), and sending the draft as one PDF. Each answers the scanner's state as the kiosk shows it.
 */
export function documentRoutes(documents: Documents): Route[] {
  const s = documents.scanner;
  const answer = async (work: () => unknown) => {
    await work();
    return { json: documents.status() };
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/scanner',
      response: ScannerItem,
      handle: () => answer(() => s.refresh()),
    }),
    route({
      method: 'POST',
      path: '/api/v1/scans',
      response: ScannerItem,
      body: ScanRequestBody,
      handle: ({ body }) =>
        answer(() => s.scan({ pages: body.pages ?? null, source: body.source ?? null, replacePage: null })),
    }),
    route({
      method: 'POST',
      path: '/api/v1/scans/cancel',
      response: ScannerItem,
      handle: () => answer(() => s.cancel()),
    }),
    route({
      method: 'POST',
      path: '/api/v1/document/pages/:id/rescan',
      response: ScannerItem,
      body: ScanRequestBody,
      handle: ({ params, body }) =>
        answer(() =>
          s.scan({
            pages: body.pages ?? null,
            source: body.source ?? null,
            replacePage: params['id'] as string,
          }),
        ),
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/document/pages/:id',
      response: ScannerItem,
      handle: ({ params }) => answer(() => s.deletePage(params['id'] as string)),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/document/order',
      response: ScannerItem,
      body: PageOrder,
      handle: ({ body }) => answer(() => s.reorder(body.order)),
    }),
    route({
      method: 'POST',
      path: '/api/v1/document/discard',
      response: ScannerItem,
      handle: () => answer(() => s.discard()),
    }),
    route({
      method: 'POST',
      path: '/api/v1/document/send',
      response: DocumentSent,
      handle: async () => ({ json: await documents.send() }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/document/pages/:id/preview.jpg',
      handle: async ({ params }) => ({
        bytes: await documents.pagePreview(params['id'] as string),
        contentType: 'image/jpeg',
      }),
    }),
  ];
}
