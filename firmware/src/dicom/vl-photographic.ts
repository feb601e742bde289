import { type CameraImageCommon, cameraImageDataset, writeEncapsulated } from './camera-image.ts';
import { DicomEncodeError } from './ecg-waveform.ts';
import { JpegError, jpegInfo } from './jpeg-header.ts';
import { JPEG_BASELINE, SOP_CLASS } from './sop-classes.ts';

export interface StillInput
  extends Omit<CameraImageCommon, 'sopClassUid' | 'instanceNumber' | 'seriesDescription'> {
  jpeg: Uint8Array;
}

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
  const dataset = {
    ...cameraImageDataset({
      ...input,
      sopClassUid: SOP_CLASS.vlPhotographic,
      instanceNumber: 1,
      seriesDescription: 'Still',
    }),
    LossyImageCompressionMethod: 'ISO_10918_1',
    SamplesPerPixel: colour ? 3 : 1,
    PhotometricInterpretation: colour ? 'YBR_FULL_422' : 'MONOCHROME2',
    ...(colour ? { PlanarConfiguration: 0 } : {}),
    Rows: info.height,
    Columns: info.width,
  };
  return writeEncapsulated(
    dataset,
    SOP_CLASS.vlPhotographic,
    input.uids.sop,
    JPEG_BASELINE,
    input.jpeg,
    input.originalSha256,
  );
}
