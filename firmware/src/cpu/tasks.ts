import {
  decodeScp,
  isScpDecodeError,
  PnmError,
  parsePnm,
  type ScpRecord,
  type VendorProfile,
} from '#device-drivers';
import { DicomEncodeError, type EcgInstanceInput, encodeEcgWaveform } from '../dicom/ecg-waveform.ts';
import { type EncapsulatedPdfInput, encodeEncapsulatedPdf } from '../dicom/encapsulated-pdf.ts';
import { encodeVideoPhotographic, type VideoSegmentInput } from '../dicom/video-photographic.ts';
import { encodeVlPhotographic, type StillInput } from '../dicom/vl-photographic.ts';
import { type PageImages, pageImages } from '../documents/page-image.ts';

/**
 * The CPU-heavy work the daemon hands to its worker threads (cpu-pool.ts): decoding a cart's
 * SCP-ECG record, encoding DICOM and JPEG: tens of milliseconds each for a 10 s 12-lead ECG,
 * more for a video segment of several MB or a 200 dpi A4 page. Pure functions of their arguments; everything crosses the
 * thread boundary by structured clone (typed arrays included).
 */
export const CPU_TASKS = {
  'scp-decode': (a: { bytes: Uint8Array; profile: 'auto' | VendorProfile }): ScpRecord =>
    decodeScp(a.bytes, { profile: a.profile }),
  'ecg-waveform': (a: EcgInstanceInput): Uint8Array => encodeEcgWaveform(a).bytes,
  'video-photographic': (a: VideoSegmentInput): Uint8Array => encodeVideoPhotographic(a),
  'vl-photographic': (a: StillInput): Uint8Array => encodeVlPhotographic(a),
  'encapsulated-pdf': (a: EncapsulatedPdfInput): Uint8Array => encodeEncapsulatedPdf(a),
  /** A scanned page (PNM from scanimage) as the JPEG page and the kiosk's preview. */
  'page-images': (a: { pnm: Uint8Array }): PageImages => pageImages(parsePnm(a.pnm)),
} as const;

export type CpuTaskName = keyof typeof CPU_TASKS;
export type CpuTaskArgs<T extends CpuTaskName> = Parameters<(typeof CPU_TASKS)[T]>[0];
export type CpuTaskResult<T extends CpuTaskName> = ReturnType<(typeof CPU_TASKS)[T]>;

/** How a task failed, as it crosses back: the capture's fault (undecodable, unencodable) or a bug. */
export type CpuFailureKind = 'undecodable' | 'unencodable' | 'failed';

export function failureKind(error: unknown): CpuFailureKind {
  if (isScpDecodeError(error) || error instanceof PnmError) return 'undecodable';
  if (error instanceof DicomEncodeError) return 'unencodable';
  return 'failed';
}
