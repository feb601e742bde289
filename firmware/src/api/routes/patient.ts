import type { PatientDesk } from '../../patient/patient-desk.ts';
import { identityFromEntry } from '../../patient/patient-label.ts';
import { ApiError } from '../errors.ts';
import { type Route, route } from '../router.ts';
import { PatientIdentified, StudyClosed } from '../schemas.ts';

/**
 * The kiosk's manual entry of a patient ({ idNumber, name, sex?, birthDate? }; its decoder reports
 * every problem at once), and the patient leaving (their study closed).
 */
export function patientRoutes(desk: Pick<PatientDesk, 'identify' | 'closeStudy'>, now: () => Date): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/patient',
      response: PatientIdentified,
      handle: async ({ body }) => {
        const result = desk.identify(identityFromEntry(body, now()), 'manual', 'kiosk');
        if (!result.ok) throw new ApiError(400, result.problems.join('; '));
        return { json: { identified: true } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/study/close',
      response: StudyClosed,
      handle: async () => ({ json: { closed: desk.closeStudy() } }),
    }),
  ];
}
