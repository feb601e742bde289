import dcmjs from 'dcmjs';
import { DicomEncodeError } from './ecg-waveform.ts';
import { JpegError, jpegInfo } from './jpeg-header.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, JPEG_BASELINE, SOP_CLASS } from './sop-classes.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export interface StillInput {
  jpeg: Uint8Array;
  uids: { study: string; series: string; sop: string };
  takenAt: string;
  stationName: string;
  institutionName: string;
  seriesNumber: number;
}

const date = (iso: string) => iso.slice(0, 10).replaceAll('-', '');
const time = (iso: string) => iso.slice(11, 19).replaceAll(':', '');

/**
 * A still as a DICOM VL Photographic Image (PS3.3 A.32.4) in JPEG Baseline: the camera frame's
 * JPEG as the one frame of encapsulated Pixel Data; size and colour from its frame header.
 */
export function encodeVlPhotographic(input: StillInput): Uint8Array {
  let info: ReturnType<typeof jpegInfo>;
  try {
    info = jpegInfo(input.jpeg);
  } catch (error) {
    if (error instanceof JpegError) throw new DicomEncodeError(`still is not a JPEG: ${error.message}`);
    throw error;
  }
  if (!info.baseline) throw new DicomEncodeError('still is not baseline JPEG (SOF0)');
  const colour = info.components === 3;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['ORIGINAL', 'PRIMARY'],
    SOPClassUID: SOP_CLASS.vlPhotographic,
    SOPInstanceUID: input.uids.sop,
    StudyDate: date(input.takenAt),
    StudyTime: time(input.takenAt),
    ContentDate: date(input.takenAt),
    ContentTime: time(input.takenAt),
    AcquisitionDateTime: `${date(input.takenAt)}${time(input.takenAt)}`,
    AccessionNumber: '',
    Modality: 'XC',
    Manufacturer: 'Telemed Terminal',
    InstitutionName: input.institutionName,
    ReferringPhysicianName: '',
    StationName: input.stationName,
    StudyDescription: 'Consultation',
    SeriesDescription: 'Still',
    PatientName: '',
    PatientID: '',
    PatientBirthDate: '',
    PatientSex: '',
    StudyInstanceUID: input.uids.study,
    SeriesInstanceUID: input.uids.series,
    StudyID: '',
    SeriesNumber: String(input.seriesNumber),
    InstanceNumber: '1',
    PatientOrientation: '',
    LossyImageCompression: '01',
    LossyImageCompressionMethod: 'ISO_10918_1',
    SamplesPerPixel: colour ? 3 : 1,
    PhotometricInterpretation: colour ? 'YBR_FULL_422' : 'MONOCHROME2',
    ...(colour ? { PlanarConfiguration: 0 } : {}),
    Rows: info.height,
    Columns: info.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    AcquisitionContextSequence: [],
  };
  const meta = {
    FileMetaInformationVersion: Uint8Array.from([0, 1]).buffer,
    MediaStorageSOPClassUID: SOP_CLASS.vlPhotographic,
    MediaStorageSOPInstanceUID: input.uids.sop,
    TransferSyntaxUID: JPEG_BASELINE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  const elements = DicomMetaDictionary.denaturalizeDataset(dataset);
  const j = input.jpeg;
  elements['7FE00010'] = { vr: 'OB', Value: [j.buffer.slice(j.byteOffset, j.byteOffset + j.byteLength)] };
  dict.dict = elements;
  return new Uint8Array(dict.write({ fragmentMultiframe: false }));
}
