import type { CallService } from '../../call/call-service.ts';
import type { Documents } from '../../documents/documents.ts';
import type { PatientDesk } from '../../patient/patient-desk.ts';
import type { Route } from '../router.ts';
import type { StatusResponse } from '../types.ts';
import { callRoutes } from './call.ts';
import { documentRoutes } from './documents.ts';
import { patientRoutes } from './patient.ts';
import { statusRoutes } from './status.ts';
import { type VideoParts, videoRoutes } from './video.ts';

/** The local API's route table: one file per domain. */
export function localApiRoutes(parts: {
  status(): StatusResponse;
  media: (VideoParts & { call: CallService }) | null;
  documents: Documents;
  desk: PatientDesk;
  now(): Date;
}): Route[] {
  return [
    ...statusRoutes(() => parts.status()),
    ...videoRoutes(parts.media),
    ...callRoutes(parts.media?.call ?? null),
    ...documentRoutes(parts.documents),
    ...patientRoutes(parts.desk, () => parts.now()),
  ];
}
