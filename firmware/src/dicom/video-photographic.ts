import { AnnexBError, summarize } from '../media/annexb.ts';
import { type CameraImageCommon, cameraImageDataset, writeEncapsulated } from './camera-image.ts';
import { DicomEncodeError } from './ecg-waveform.ts';
import { H264_HIGH_PROFILE_41, SOP_CLASS } from './sop-classes.ts';

export interface VideoSegmentInput extends Omit<CameraImageCommon, 'sopClassUid'> {
  /** The segment's H.264 Annex B byte stream (demuxed from the MP4 the recorder wrote). */
  stream: Uint8Array;
  width: number;
  height: number;
  fps: number;
}

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
  const dataset = {
    ...cameraImageDataset({ ...input, sopClassUid: SOP_CLASS.videoPhotographic }),
    LossyImageCompressionMethod: 'ISO_14496_10',
    CineRate: String(Math.round(input.fps)),
    FrameTime: (1000 / input.fps).toFixed(3),
    NumberOfFrames: String(summary.frames),
    // (0018,1063) Frame Time: frames are equally spaced (PS3.3 C.7.6.6 Multi-frame Module).
    FrameIncrementPointer: 0x00181063,
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'YBR_PARTIAL_420',
    PlanarConfiguration: 0,
    Rows: input.height,
    Columns: input.width,
  };
  return writeEncapsulated(
    dataset,
    SOP_CLASS.videoPhotographic,
    input.uids.sop,
    H264_HIGH_PROFILE_41,
    input.stream,
  );
}
