import { AnnexBError, summarize } from '../media/annexb.ts';
import { Mp4Error, mp4TrackHandlers } from '../media/mp4-boxes.ts';
import { type CameraImageCommon, cameraImageDataset, writeEncapsulated } from './camera-image.ts';
import { DicomEncodeError } from './ecg-waveform.ts';
import { H264_HIGH_PROFILE_41, SOP_CLASS } from './sop-classes.ts';

export interface VideoSegmentInput extends Omit<CameraImageCommon, 'sopClassUid'> {
  /** The segment's video as an H.264 Annex B byte stream: checked and counted, not sent. */
  stream: Uint8Array;
  /** The same video (and its sound, if any) in an MP4 container: the instance's Pixel Data. */
  container: Uint8Array;
  width: number;
  height: number;
  fps: number;
}

/**
 * One recording segment as a DICOM Video Photographic Image (PS3.3 A.32.7) in the MPEG-4 AVC/H.264
 * transfer syntax: the whole MP4 file in one fragment of encapsulated Pixel Data (the non-
 * fragmentable syntax requires one; PS3.5 §8.2.8 names MPEG-TS or MP4 as the container, and AAC
 * for any sound in it, §8.2.12), YBR_PARTIAL_420, frame count taken from the video stream itself.
 */
export function encodeVideoPhotographic(input: VideoSegmentInput): Uint8Array {
  let summary: ReturnType<typeof summarize>;
  try {
    summary = summarize(input.stream);
  } catch (error) {
    if (error instanceof AnnexBError) throw new DicomEncodeError(`segment is not H.264: ${error.message}`);
    throw error;
  }
  let tracks: string[];
  try {
    tracks = mp4TrackHandlers(input.container);
  } catch (error) {
    if (error instanceof Mp4Error) throw new DicomEncodeError(`segment container: ${error.message}`);
    throw error;
  }
  if (!tracks.includes('vide')) throw new DicomEncodeError('segment container has no video track');
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
    input.container,
    input.originalSha256,
  );
}
