import { type Route, route } from '../router.ts';
import { StatusResponse } from '../types.ts';

/** GET /api/v1/status: everything the kiosk shows, as one document (also pushed over WebSocket). */
export function statusRoutes(status: () => StatusResponse): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/status',
      response: StatusResponse,
      handle: async () => ({ json: status() }),
    }),
  ];
}
