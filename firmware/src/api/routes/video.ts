import type { Consultation } from '../../media/consultation.ts';
import type { Recorder } from '../../media/recorder.ts';
import { ApiError } from '../errors.ts';
import { type Route, route } from '../router.ts';
import {
  CameraRequest,
  CameraSelected,
  Captured,
  RecordingRequest,
  RecordingStarted,
  RecordingStopped,
  VideoStarted,
  VideoStopped,
} from '../schemas.ts';

export interface VideoParts {
  recorder: Pick<Recorder, 'state' | 'segments' | 'start' | 'stop'>;
  consultation: Pick<Consultation, 'start' | 'stop' | 'still' | 'previewFrame' | 'selectCamera' | 'state'>;
}

/**
 * The consultation camera and recordings: POST /api/v1/video/start and /stop turn the camera (live
 * out and preview) on and off; POST /api/v1/recordings {"seconds"?: N} records, /recordings/stop
 * ends; POST /api/v1/stills grabs a frame; POST /api/v1/video/camera {"camera": "room" |
 * "document"} shows the other camera (at once while the video runs, else from its start); GET /api/v1/video/preview.jpg is the kiosk's preview,
 * polled a few times a second. On a terminal without video (media.enabled false) each is a 409.
 */
export function videoRoutes(media: VideoParts | null): Route[] {
  const parts = (): VideoParts => {
    if (!media) throw new ApiError(409, 'this terminal runs without video (media.enabled is false)');
    return media;
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/video/preview.jpg',
      handle: async () => ({ bytes: await parts().consultation.previewFrame(), contentType: 'image/jpeg' }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/recordings',
      body: RecordingRequest,
      response: RecordingStarted,
      handle: async ({ body }) => ({ json: await parts().recorder.start(body.seconds ?? null) }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/recordings/stop',
      response: RecordingStopped,
      handle: async () => {
        const { recorder } = parts();
        await recorder.stop();
        return { json: { stopped: true, segments: recorder.segments } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/stills',
      response: Captured,
      handle: async () => ({ json: await parts().consultation.still() }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/video/start',
      response: VideoStarted,
      handle: async () => ({ json: await parts().consultation.start() }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/video/camera',
      body: CameraRequest,
      response: CameraSelected,
      handle: async ({ body }) => {
        const { consultation } = parts();
        await consultation.selectCamera(body.camera);
        return { json: { camera: body.camera, live: consultation.state === 'live' } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/video/stop',
      response: VideoStopped,
      handle: async () => {
        const { recorder, consultation } = parts();
        if (recorder.state !== 'idle') await recorder.stop('video stopped by staff');
        await consultation.stop();
        return { json: { stopped: true } };
      },
    }),
  ];
}
