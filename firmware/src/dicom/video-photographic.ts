import dcmjs from 'dcmjs';
import { AnnexBError, summarize } from '../media/annexb.ts';
import { DicomEncodeError } from './ecg-waveform.ts';
import {
  H264_HIGH_PROFILE_41,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION,
  SOP_CLASS,
} from './sop-classes.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export interface VideoSegmentInput {
  /** The segment's H.264 Annex B byte stream (demuxed from the MP4 the recorder wrote). */
  stream: Uint8Array;
  width: number;
  height: number;
  fps: number;
  uids: { study: string; series: string; sop: string };
  /** Position of the segment in the recording (1-based): one series per recording. */
  instanceNumber: number;
  seriesNumber: number;
  /** Local time the segment started, YYYY-MM-DDTHH:MM:SS. */
  startedAt: string;
  patient: { id: string | null; name: string | null; birthDate: string | null; sex: 'M' | 'F' | 'O' | null };
  stationName: string;
  institutionName: string;
  seriesDescription: string;
}

const date = (iso: string) => iso.slice(0, 10).replaceAll('-', '');
const time = (iso: string) => iso.slice(11, 19).replaceAll(':', '');

/**
 * One recording segment as a DICOM Video Photographic Image (PS3.3 A.32.7) in the MPEG-4 AVC/H.264
 * transfer syntax: the whole byte stream in one fragment of encapsulated Pixel Data (the non-
 * fragmentable syntax requires it), YBR_PARTIAL_420, frame count taken from the stream itself.
 */
export function encodeVideoPhotographic(input: VideoSegmentInput): Uint8Array {
  let summary: ReturnType<typeof summarize>;
  try {
    summary = summarize(input.stream);
  } catch (error) {
    if (error instanceof AnnexBError) throw new DicomEncodeError(`segment is not H.264: ${error.message}`);
    throw error;
  }
  if (summary.frames === 0) throw new DicomEncodeError('segment holds no coded pictures');
  if (!summary.hasParameterSets)
    throw new DicomEncodeError('segment has no SPS/PPS: it cannot be decoded on its own');
  const frameTimeMs = 1000 / input.fps;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['ORIGINAL', 'PRIMARY'],
    SOPClassUID: SOP_CLASS.videoPhotographic,
    SOPInstanceUID: input.uids.sop,
    StudyDate: date(input.startedAt),
    StudyTime: time(input.startedAt),
    ContentDate: date(input.startedAt),
    ContentTime: time(input.startedAt),
    AcquisitionDateTime: `${date(input.startedAt)}${time(input.startedAt)}`,
    AccessionNumber: '',
    Modality: 'XC',
    Manufacturer: 'Telemed Terminal',
    InstitutionName: input.institutionName,
    ReferringPhysicianName: '',
    StationName: input.stationName,
    StudyDescription: 'Consultation',
    SeriesDescription: input.seriesDescription,
    PatientName: input.patient.name ?? '',
    PatientID: input.patient.id ?? '',
    PatientBirthDate: input.patient.birthDate ? date(input.patient.birthDate) : '',
    PatientSex: input.patient.sex ?? '',
    StudyInstanceUID: input.uids.study,
    SeriesInstanceUID: input.uids.series,
    StudyID: '',
    SeriesNumber: String(input.seriesNumber),
    InstanceNumber: String(input.instanceNumber),
    PatientOrientation: '',
    LossyImageCompression: '01',
    LossyImageCompressionMethod: 'ISO_14496_10',
    CineRate: String(Math.round(input.fps)),
    FrameTime: frameTimeMs.toFixed(3),
    NumberOfFrames: String(summary.frames),
    // (0018,1063) Frame Time: frames are equally spaced (PS3.3 C.7.6.6 Multi-frame Module).
    FrameIncrementPointer: 0x00181063,
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'YBR_PARTIAL_420',
    PlanarConfiguration: 0,
    Rows: input.height,
    Columns: input.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    AcquisitionContextSequence: [],
  };
  const meta = {
    FileMetaInformationVersion: Uint8Array.from([0, 1]).buffer,
    MediaStorageSOPClassUID: SOP_CLASS.videoPhotographic,
    MediaStorageSOPInstanceUID: input.uids.sop,
    TransferSyntaxUID: H264_HIGH_PROFILE_41,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  const elements = DicomMetaDictionary.denaturalizeDataset(dataset);
  const s = input.stream;
  elements['7FE00010'] = { vr: 'OB', Value: [s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength)] };
  dict.dict = elements;
  return new Uint8Array(dict.write({ fragmentMultiframe: false }));
}
