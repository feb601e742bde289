import { createHash } from 'node:crypto';
import dcmjs from 'dcmjs';
import type { ScpLead, ScpRecord } from '#device-drivers';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION,
  PRIVATE_CREATOR,
  PRIVATE_TAGS,
  SOP_CLASS,
} from './sop-classes.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export interface EcgInstanceInput {
  record: ScpRecord;
  original: Uint8Array;
  originalName: string | null;
  uids: { study: string; series: string; sop: string };
  instanceNumber: number;
  seriesNumber: number;
  stationName: string;
  institutionName: string;
  /** When the terminal received the record (used when the cart gave no acquisition time). */
  receivedAt: Date;
}

export class DicomEncodeError extends Error {
  readonly code = 'DICOM_ENCODE';
  readonly retryable = false;
}

const TWELVE = new Set(['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']);

/**
 * The IOD follows the recording's shape (PS3.3 A.34): 12-lead ECG for exactly the 12 standard leads
 * at 200–1000 Hz and ≤ 16384 samples; General ECG for other lead sets at 200–1000 Hz; Ambulatory
 * ECG (50–1000 Hz) for slow handheld recorders such as the 150 Hz Healforce.
 */
export function chooseSopClass(leads: ScpLead[]): string {
  const rate = leads[0]!.sampleRateHz;
  const maxSamples = Math.max(...leads.map((l) => l.samples.length));
  const names = new Set(leads.map((l) => l.name));
  if (rate >= 200 && rate <= 1000) {
    if (leads.length === 12 && [...TWELVE].every((n) => names.has(n)) && maxSamples <= 16384) {
      return SOP_CLASS.twelveLeadEcg;
    }
    if (leads.length <= 24) return SOP_CLASS.generalEcg;
  }
  if (rate >= 50 && rate <= 1000 && leads.length <= 12) return SOP_CLASS.ambulatoryEcg;
  throw new DicomEncodeError(`${leads.length} leads at ${rate} Hz fit no DICOM ECG waveform IOD`);
}

function dicomDate(iso: string): string {
  return iso.slice(0, 10).replaceAll('-', '');
}

function dicomTime(iso: string): string {
  return iso.slice(11, 19).replaceAll(':', '');
}

/** Splits a cart's local ISO time with optional offset into DICOM DT (YYYYMMDDHHMMSS&ZZXX). */
function dicomDateTime(iso: string): string {
  const zone = /([+-]\d{2}):(\d{2})$/.exec(iso);
  return `${dicomDate(iso)}${dicomTime(iso)}${zone ? `${zone[1]}${zone[2]}` : ''}`;
}

function localIso(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function multiplexGroups(leads: ScpLead[]): ScpLead[][] {
  const groups = new Map<string, ScpLead[]>();
  for (const lead of leads) {
    const key = `${lead.samples.length}/${lead.sampleRateHz}`;
    groups.set(key, [...(groups.get(key) ?? []), lead]);
  }
  return [...groups.values()];
}

function waveformItem(group: ScpLead[], label: string): Record<string, unknown> {
  return {
    MultiplexGroupTimeOffset: '0',
    WaveformOriginality: 'ORIGINAL',
    NumberOfWaveformChannels: group.length,
    NumberOfWaveformSamples: group[0]!.samples.length,
    SamplingFrequency: String(group[0]!.sampleRateHz),
    MultiplexGroupLabel: label,
    ChannelDefinitionSequence: group.map((lead) => ({
      ChannelSourceSequence: [
        {
          CodeValue: `5.6.3-9-${lead.code}`,
          CodingSchemeDesignator: 'SCPECG',
          CodingSchemeVersion: '1.3',
          CodeMeaning: `Lead ${lead.name}`,
        },
      ],
      ChannelSensitivity: String(lead.amplitudeNv / 1000),
      ChannelSensitivityUnitsSequence: [
        {
          CodeValue: 'uV',
          CodingSchemeDesignator: 'UCUM',
          CodingSchemeVersion: '1.4',
          CodeMeaning: 'microvolt',
        },
      ],
      ChannelSensitivityCorrectionFactor: '1',
      ChannelBaseline: '0',
      ChannelTimeSkew: '0',
      WaveformBitsStored: 16,
    })),
    WaveformBitsAllocated: 16,
    WaveformSampleInterpretation: 'SS',
  };
}

/** OW elements of a waveform item; dcmjs's dictionary says "OB or OW", so they are added by hand. */
function waveformBinary(group: ScpLead[]): Record<string, { vr: string; Value: unknown[] }> {
  const samples = group[0]!.samples.length;
  const data = new Int16Array(samples * group.length);
  group.forEach((lead, channel) => {
    for (let t = 0; t < samples; t++) {
      const v = lead.samples[t]!;
      if (v < -32768 || v > 32767) {
        throw new DicomEncodeError(`lead ${lead.name} sample ${t} = ${v} does not fit 16 bits`);
      }
      data[t * group.length + channel] = v;
    }
  });
  return {
    '5400100A': { vr: 'OW', Value: [Uint8Array.from([0x00, 0x80]).buffer] },
    '54001010': { vr: 'OW', Value: [data.buffer] },
  };
}

/**
 * Builds the DICOM ECG waveform instance for one SCP-ECG record (PS3.3 A.34.3/A.34.4): samples
 * exactly as decoded, sensitivity in µV, lead codes from the SCPECG scheme, patient from Section 1,
 * and the cart's original file in a private element.
 */
export function encodeEcgWaveform(input: EcgInstanceInput): { bytes: Uint8Array; sopClassUid: string } {
  const { record } = input;
  if (record.leads.length === 0) throw new DicomEncodeError('the record holds no leads');
  const sopClassUid = chooseSopClass(record.leads);
  const acquired = record.acquiredAt ?? localIso(input.receivedAt);
  const groups = multiplexGroups(record.leads);
  const name = [record.patient.lastName, record.patient.firstName].filter((p) => p !== null);
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: sopClassUid,
    SOPInstanceUID: input.uids.sop,
    StudyDate: dicomDate(acquired),
    StudyTime: dicomTime(acquired),
    ContentDate: dicomDate(acquired),
    ContentTime: dicomTime(acquired),
    AcquisitionDateTime: dicomDateTime(acquired),
    AccessionNumber: '',
    Modality: 'ECG',
    Manufacturer: record.device.manufacturer ?? '',
    InstitutionName: input.institutionName,
    ReferringPhysicianName: '',
    StationName: input.stationName,
    StudyDescription: 'ECG',
    SeriesDescription: `ECG ${record.leads.length} leads`,
    ManufacturerModelName: record.device.model ?? '',
    PatientName: name.length > 0 ? name.join('^') : '',
    PatientID: record.patient.id ?? '',
    PatientBirthDate: record.patient.birthDate ? dicomDate(record.patient.birthDate) : '',
    PatientSex:
      record.patient.sex === 'M' || record.patient.sex === 'F'
        ? record.patient.sex
        : record.patient.sex
          ? 'O'
          : '',
    DeviceSerialNumber: record.device.serialNumber ?? '',
    SoftwareVersions: record.device.softwareVersion ?? '',
    StudyInstanceUID: input.uids.study,
    SeriesInstanceUID: input.uids.series,
    StudyID: '',
    SeriesNumber: String(input.seriesNumber),
    InstanceNumber: String(input.instanceNumber),
    AcquisitionContextSequence: [],
    WaveformSequence: groups.map((group, i) => waveformItem(group, i === 0 ? 'RHYTHM' : `RHYTHM ${i + 1}`)),
  };
  const meta = {
    FileMetaInformationVersion: Uint8Array.from([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: input.uids.sop,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  const elements = DicomMetaDictionary.denaturalizeDataset(dataset);
  const waveforms = elements['54000100']!.Value as Array<Record<string, { vr: string; Value: unknown[] }>>;
  waveforms.forEach((item, i) => {
    Object.assign(item, waveformBinary(groups[i]!));
  });
  const original = input.original;
  elements[PRIVATE_TAGS.creator] = { vr: 'LO', Value: [PRIVATE_CREATOR] };
  elements[PRIVATE_TAGS.originalScp] = {
    vr: 'OB',
    Value: [original.buffer.slice(original.byteOffset, original.byteOffset + original.byteLength)],
  };
  elements[PRIVATE_TAGS.originalName] = { vr: 'LO', Value: [input.originalName ?? ''] };
  elements[PRIVATE_TAGS.originalSha256] = {
    vr: 'LO',
    Value: [createHash('sha256').update(original).digest('hex')],
  };
  dict.dict = elements;
  return { bytes: new Uint8Array(dict.write()), sopClassUid };
}
