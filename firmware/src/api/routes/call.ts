import type { CallService } from '../../call/call-service.ts';
import { ApiError } from '../errors.ts';
import { type Route, route } from '../router.ts';
import { CallControlsRequest, CallRequest } from '../schemas.ts';
import { CallItem } from '../types.ts';

/**
 * Two-way consultation calls: POST /api/v1/call {"room"?: N, "echoControl"?: bool} calls (the duty
 * specialist's room by default; echo control off for a headset) and answers once the terminal is
 * in the room; POST /api/v1/call/controls {"muted"?: bool, "cameraOff"?: bool, "volume"?: 0–1,
 * "camera"?: "room" | "document"} mutes the microphone, turns our picture off, sets the
 * loudspeaker's volume and switches between the room and the document camera; DELETE /api/v1/call ends the call;
 * GET /api/v1/call is its state; GET /api/v1/call/far-end.jpg the far end's newest picture, with
 * `X-Shown-At` (wall-clock ms when the terminal showed it). On a terminal without video or without a media server, a 409.
 */
export function callRoutes(
  call: Pick<
    CallService,
    'configured' | 'call' | 'hangUp' | 'snapshot' | 'farEndFrame' | 'setControls'
  > | null,
): Route[] {
  const service = () => {
    if (!call) throw new ApiError(409, 'this terminal runs without video (media.enabled is false): no calls');
    return call;
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/call',
      response: CallItem,
      handle: async () => ({ json: service().snapshot() }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/call/far-end.jpg',
      handle: async () => {
        const frame = await service().farEndFrame();
        // When the picture was on screen: what a glass-to-glass delay is measured against.
        const headers: Record<string, string> =
          frame.shownAt === null ? {} : { 'x-shown-at': frame.shownAt.toFixed(1) };
        return { bytes: frame.jpeg, contentType: 'image/jpeg', headers };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/call',
      body: CallRequest,
      response: CallItem,
      handle: async ({ body }) => ({
        json: await service().call(body.room ?? undefined, body.echoControl ?? undefined),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/call/controls',
      body: CallControlsRequest,
      response: CallItem,
      handle: async ({ body }) => ({
        json: await service().setControls({
          ...(body.muted !== undefined ? { muted: body.muted } : {}),
          ...(body.cameraOff !== undefined ? { cameraOff: body.cameraOff } : {}),
          ...(body.volume !== undefined ? { volume: body.volume } : {}),
          ...(body.camera !== undefined ? { camera: body.camera } : {}),
        }),
      }),
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/call',
      response: CallItem,
      handle: async () => {
        const s = service();
        await s.hangUp();
        return { json: s.snapshot() };
      },
    }),
  ];
}
