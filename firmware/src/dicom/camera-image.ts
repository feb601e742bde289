import dcmjs from 'dcmjs';
import {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION,
  PRIVATE_CREATOR,
  PRIVATE_TAGS,
} from './sop-classes.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

const date = (iso: string) => iso.slice(0, 10).replaceAll('-', '');
const time = (iso: string) => iso.slice(11, 19).replaceAll(':', '');

/** What every instance the terminal makes of a capture says about its patient, study and series. */
export interface CaptureCommon {
  sopClassUid: string;
  uids: { study: string; series: string; sop: string };
  /** Local time of capture, YYYY-MM-DDTHH:MM:SS. */
  takenAt: string;
  seriesNumber: number;
  instanceNumber: number;
  seriesDescription: string;
  patient: { id: string | null; name: string | null; birthDate: string | null; sex: 'M' | 'F' | 'O' | null };
  stationName: string;
  institutionName: string;
  /** SHA-256 (hex) of the capture as the store received it, carried in the private provenance element. */
  originalSha256: string;
}

/**
 * Patient, General Study, General Series, General Equipment and the SOP Common UIDs, as every
 * capture made on the terminal fills them (camera images, scanned documents); `modality` is the
 * series' (XC, DOC).
 */
export function captureDataset(c: CaptureCommon, modality: string): Record<string, unknown> {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: c.sopClassUid,
    SOPInstanceUID: c.uids.sop,
    StudyDate: date(c.takenAt),
    StudyTime: time(c.takenAt),
    ContentDate: date(c.takenAt),
    ContentTime: time(c.takenAt),
    AcquisitionDateTime: `${date(c.takenAt)}${time(c.takenAt)}`,
    AccessionNumber: '',
    Modality: modality,
    Manufacturer: 'Telemed Terminal',
    InstitutionName: c.institutionName,
    ReferringPhysicianName: '',
    StationName: c.stationName,
    StudyDescription: 'Consultation',
    SeriesDescription: c.seriesDescription,
    PatientName: c.patient.name ?? '',
    PatientID: c.patient.id ?? '',
    PatientBirthDate: c.patient.birthDate ? date(c.patient.birthDate) : '',
    PatientSex: c.patient.sex ?? '',
    StudyInstanceUID: c.uids.study,
    SeriesInstanceUID: c.uids.series,
    StudyID: '',
    SeriesNumber: String(c.seriesNumber),
    InstanceNumber: String(c.instanceNumber),
  };
}

/** What every camera-made instance (video segment, still) says about itself and its study. */
export type CameraImageCommon = CaptureCommon;

/**
 * The modules a VL Photographic or Video Photographic instance shares (PS3.3 A.32.4 / A.32.7):
 * patient, general study, series, equipment, general image, VL image basics. Modality XC
 * (external-camera photography).
 */
export function cameraImageDataset(c: CameraImageCommon): Record<string, unknown> {
  return {
    ...captureDataset(c, 'XC'),
    ImageType: ['ORIGINAL', 'PRIMARY'],
    PatientOrientation: '',
    LossyImageCompression: '01',
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    AcquisitionContextSequence: [],
  };
}

/**
 * The terminal's private provenance block (creator "TELEMED TERMINAL", group 0099): the SHA-256 of
 * the capture as received, so the province (and the rig's kill test) can tell which capture an
 * instance came from and that it arrived unchanged, whatever SOP Instance UID it carries.
 */
export function provenanceElements(originalSha256: string): Record<string, { vr: string; Value: unknown[] }> {
  return {
    [PRIVATE_TAGS.creator]: { vr: 'LO', Value: [PRIVATE_CREATOR] },
    [PRIVATE_TAGS.originalSha256]: { vr: 'LO', Value: [originalSha256] },
  };
}

/** A Part 10 file: file meta for the SOP instance and transfer syntax, then the dataset's elements. */
export function writePart10(
  elements: ReturnType<typeof DicomMetaDictionary.denaturalizeDataset>,
  sopClassUid: string,
  sopUid: string,
  transferSyntaxUid: string,
  options: { fragmentMultiframe?: boolean } = {},
): Uint8Array {
  const meta = {
    FileMetaInformationVersion: Uint8Array.from([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopUid,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = elements;
  return new Uint8Array(dict.write(options));
}

/** Writes a Part 10 file whose Pixel Data is `payload` as one encapsulated fragment. */
export function writeEncapsulated(
  dataset: Record<string, unknown>,
  sopClassUid: string,
  sopUid: string,
  transferSyntaxUid: string,
  payload: Uint8Array,
  originalSha256: string,
): Uint8Array {
  const elements = {
    ...DicomMetaDictionary.denaturalizeDataset(dataset),
    ...provenanceElements(originalSha256),
  };
  elements['7FE00010'] = {
    vr: 'OB',
    Value: [payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength)],
  };
  return writePart10(elements, sopClassUid, sopUid, transferSyntaxUid, { fragmentMultiframe: false });
}
