import { CallError } from '../call/call-service.ts';
import { ScanError } from '../documents/document-scanner.ts';
import { VideoError } from '../media/consultation.ts';
import { StoreError } from '../store/types.ts';

/** A refusal with its HTTP status and a message staff or a script can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const SCAN_STATUS: Record<ScanError['code'], number> = {
  NO_SCANNER: 503,
  BUSY: 409,
  BAD_REQUEST: 400,
  NO_PAGES: 409,
  NOT_FOUND: 404,
  DISABLED: 409,
};

const VIDEO_STATUS: Record<VideoError['code'], number> = {
  BUSY: 409,
  NOT_RECORDING: 409,
  NOT_RUNNING: 409,
  NO_SPACE: 507,
  NO_ENCODER: 503,
  NO_CAMERA: 503,
  PIPELINE: 503,
};

const CALL_STATUS: Record<CallError['code'], number> = {
  NOT_CONFIGURED: 409,
  BUSY: 409,
  NOT_IN_CALL: 409,
  UNREACHABLE: 503,
  MEDIA: 503,
  BAD_CONTROL: 400,
};

const STORE_STATUS: Record<StoreError['code'], number> = {
  DISK_LOW: 507,
  REFUSED: 503,
  WRITE_FAILED: 500,
  NOT_FOUND: 500,
  CORRUPTED: 500,
  BAD_TRANSITION: 500,
};

/**
 * The one place where what went wrong becomes an HTTP status. `expected` is false for anything
 * the terminal did not foresee: the API logs those, and answers 500 with the message.
 */
export function httpStatusOf(error: unknown): { status: number; message: string; expected: boolean } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError) return { status: error.status, message, expected: true };
  if (error instanceof ScanError) return { status: SCAN_STATUS[error.code], message, expected: true };
  if (error instanceof VideoError) return { status: VIDEO_STATUS[error.code], message, expected: true };
  if (error instanceof CallError) return { status: CALL_STATUS[error.code], message, expected: true };
  if (error instanceof StoreError) {
    const status = STORE_STATUS[error.code];
    return { status, message, expected: status !== 500 };
  }
  return { status: 500, message, expected: false };
}
