import { Type } from '@sinclair/typebox';

/**
 * The local API's request bodies. Fields not named are ignored (older and newer kiosks share one
 * daemon); a wrong value is a 400 naming it.
 */

/** POST /api/v1/recordings: a length in seconds, or none (until stopped). */
export const RecordingRequest = Type.Object({
  seconds: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 3600,
      errorMessage: 'seconds must be a number between 0 and 3600',
    }),
  ),
});

/** POST /api/v1/scans and /api/v1/document/pages/:id/rescan. */
export const ScanRequestBody = Type.Object(
  {
    pages: Type.Optional(
      Type.Union([Type.Number(), Type.Null()], { errorMessage: 'pages must be a number' }),
    ),
    source: Type.Optional(
      Type.Union([Type.Literal('feeder'), Type.Literal('flatbed'), Type.Null()], {
        errorMessage: "source must be 'feeder' or 'flatbed'",
      }),
    ),
  },
  { errorMessage: 'the body must be a JSON object' },
);

/** PUT /api/v1/document/order: every page id, in the new order. */
export const PageOrder = Type.Object(
  { order: Type.Array(Type.String(), { errorMessage: 'order must be an array of page ids' }) },
  { errorMessage: 'order must be an array of page ids' },
);

/** POST /api/v1/call/controls: any of them. */
export const CallControlsRequest = Type.Object(
  {
    muted: Type.Optional(Type.Boolean({ errorMessage: 'muted must be true or false' })),
    cameraOff: Type.Optional(Type.Boolean({ errorMessage: 'cameraOff must be true or false' })),
    volume: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, errorMessage: 'volume must be a number from 0 to 1' }),
    ),
    camera: Type.Optional(
      Type.Union([Type.Literal('room'), Type.Literal('document')], {
        errorMessage: "camera must be 'room' or 'document'",
      }),
    ),
  },
  {
    additionalProperties: false,
    errorMessage:
      'the body must be {"muted"?: boolean, "cameraOff"?: boolean, "volume"?: 0–1, "camera"?: "room" | "document"}',
  },
);

/** POST /api/v1/video/camera: which camera to show. */
export const CameraRequest = Type.Object(
  {
    camera: Type.Union([Type.Literal('room'), Type.Literal('document')], {
      errorMessage: "camera must be 'room' or 'document'",
    }),
  },
  { errorMessage: 'the body must be {"camera": "room" | "document"}' },
);
export const CameraSelected = Type.Object({
  camera: Type.Union([Type.Literal('room'), Type.Literal('document')]),
  /** Whether the video runs now (false: the choice is used when it starts). */
  live: Type.Boolean(),
});

/** POST /api/v1/call: a room to join, or none (the duty specialist's, from the config). */

export const CallRequest = Type.Object(
  {
    room: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
        errorMessage: 'room must be a positive integer',
      }),
    ),
    /**
     * Echo control for this call (config call.echoControl by default): false when a headset is worn,
     * where there is no echo to take out and the canceller only costs sound.
     */
    echoControl: Type.Optional(Type.Boolean({ errorMessage: 'echoControl must be true or false' })),
  },
  { errorMessage: 'the body must be a JSON object' },
);

/** Answers (beside api/types.ts, whose StatusResponse and ScannerItem answer several routes). */
export const RecordingStarted = Type.Object({ recordingId: Type.Integer(), studyUid: Type.String() });
export const RecordingStopped = Type.Object({ stopped: Type.Literal(true), segments: Type.Integer() });
export const VideoStarted = Type.Object({ studyUid: Type.String() });
export const VideoStopped = Type.Object({ stopped: Type.Literal(true) });
export const Captured = Type.Object({ instanceId: Type.Integer(), contentSha256: Type.String() });
export const DocumentSent = Type.Object({
  instanceId: Type.Integer(),
  pages: Type.Integer(),
  bytes: Type.Integer(),
  contentSha256: Type.String(),
});
export const PatientIdentified = Type.Object({ identified: Type.Literal(true) });
export const StudyClosed = Type.Object({ closed: Type.Boolean() });
