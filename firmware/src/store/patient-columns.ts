import type { AtRest } from './at-rest.ts';

/** The columns of `studies` that hold patient data: sealed at rest, each bound to its name. */
export const PATIENT_COLUMNS = [
  'patient_id',
  'patient_name',
  'patient_birth_date',
  'patient_sex',
  'accession_number',
] as const;
export type PatientColumn = (typeof PATIENT_COLUMNS)[number];

/** A row of `studies` (or a join with it) with whichever patient columns it has opened. */
export function openPatientColumns<T extends Partial<Record<PatientColumn, string | null>>>(
  atRest: AtRest,
  row: T,
): T {
  const opened = { ...row };
  for (const column of PATIENT_COLUMNS)
    if (column in opened)
      opened[column] = atRest.openField(column, opened[column] ?? null) as T[PatientColumn];
  return opened;
}
