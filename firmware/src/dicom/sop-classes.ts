export const SOP_CLASS = {
  twelveLeadEcg: '1.2.840.10008.5.1.4.1.1.9.1.1',
  generalEcg: '1.2.840.10008.5.1.4.1.1.9.1.2',
  ambulatoryEcg: '1.2.840.10008.5.1.4.1.1.9.1.3',
  videoPhotographic: '1.2.840.10008.5.1.4.1.1.77.1.4.1',
  vlPhotographic: '1.2.840.10008.5.1.4.1.1.77.1.4',
  encapsulatedPdf: '1.2.840.10008.5.1.4.1.1.104.1',
} as const;

/**
 * MPEG-4 AVC/H.264 High Profile / Level 4.1 (PS3.5 §8.2.8): the terminal's constrained-baseline and
 * main-profile streams are subsets of High Profile, and at ≤ 1080p30 within Level 4.1.
 */
export const H264_HIGH_PROFILE_41 = '1.2.840.10008.1.2.4.102';

/** JPEG Baseline (Process 1), PS3.5 §8.2.1: stills. */
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** This firmware's implementation class UID, under the project's root. */
export const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1391.1';
export const IMPLEMENTATION_VERSION = 'TELEMED_0_1';

/**
 * The private block that carries the cart's original SCP-ECG file inside the waveform instance,
 * so the province can always retrieve the exact bytes the cart produced (design.md).
 */
export const PRIVATE_CREATOR = 'TELEMED TERMINAL 1.0';
export const PRIVATE_TAGS = {
  creator: '00990010',
  originalScp: '00991001',
  originalName: '00991002',
  originalSha256: '00991003',
} as const;
