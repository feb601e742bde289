import type { Documents } from '../../documents/documents.ts';
import { type Route, route } from '../router.ts';
import { PageOrder, ScanRequestBody } from '../schemas.ts';

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
      handle: () => answer(() => s.refresh()),
    }),
    route({
      method: 'POST',
      path: '/api/v1/scans',
      body: ScanRequestBody,
      handle: ({ body }) =>
        answer(() => s.scan({ pages: body.pages ?? null, source: body.source ?? null, replacePage: null })),
    }),
    route({ method: 'POST', path: '/api/v1/scans/cancel', handle: () => answer(() => s.cancel()) }),
    route({
      method: 'POST',
      path: '/api/v1/document/pages/:id/rescan',
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
      handle: ({ params }) => answer(() => s.deletePage(params['id'] as string)),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/document/order',
      body: PageOrder,
      handle: ({ body }) => answer(() => s.reorder(body.order)),
    }),
    route({ method: 'POST', path: '/api/v1/document/discard', handle: () => answer(() => s.discard()) }),
    route({
      method: 'POST',
      path: '/api/v1/document/send',
      handle: async () => ({ json: await documents.send() }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/document/pages/:id/preview.jpg',
      handle: async ({ params }) => ({
        bytes: documents.pagePreview(params['id'] as string),
        contentType: 'image/jpeg',
      }),
    }),
  ];
}
