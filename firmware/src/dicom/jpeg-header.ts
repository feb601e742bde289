/** A JPEG that cannot be described, naming the marker or byte at fault. */
export class JpegError extends Error {
  readonly code = 'JPEG_INVALID';
}

export interface JpegInfo {
  width: number;
  height: number;
  components: number;
  /** SOF0 (baseline) is what the JPEG Baseline transfer syntax may carry. */
  baseline: boolean;
}

/** Reads the frame header (SOFn, ITU-T T.81 B.2.2) of a JPEG; pure, over bytes. */
export function jpegInfo(bytes: Uint8Array): JpegInfo {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new JpegError('no SOI marker: not a JPEG');
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new JpegError(`byte ${at}: expected a marker`);
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2) throw new JpegError(`marker 0x${marker.toString(16)} at byte ${at}: length ${length}`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (at + 4 + 6 > bytes.length) throw new JpegError('frame header cut short');
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      const components = bytes[at + 9]!;
      if (width === 0 || height === 0) throw new JpegError(`frame header gives ${width}×${height}`);
      return { width, height, components, baseline: marker === 0xc0 };
    }
    if (marker === 0xda || marker === 0xd9) break;
    at += 2 + length;
  }
  throw new JpegError('no frame header (SOF) before the image data');
}
