import { createHash } from 'node:crypto';
import { baseUrl, requestHeaders, type StowTarget, unreachable } from './dicomweb-http.ts';
import type { StowOutcome } from './stow-client.ts';

/** Where an instance sits at a data centre, and the capture hash its provenance element carries. */
export interface InstanceAddress {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  /** SHA-256 (hex) of the capture, in the instance's private provenance element (0099,1003). */
  captureSha256: string;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/**
 * The body of the first part of a multipart/related message (RFC 2046 §5.1; WADO-RS answers one
 * part per instance, PS3.18 §8.7). Pure; throws MultipartError naming what is wrong.
 */
export function firstMultipartPart(body: Uint8Array, contentType: string): Uint8Array {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const name = boundary?.[1] ?? boundary?.[2];
  if (!name) throw new MultipartError(`no boundary in the content type "${contentType.slice(0, 100)}"`);
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${name}`, 'latin1');
  const start = buffer.indexOf(delimiter);
  if (start < 0) throw new MultipartError('the body has no part (its boundary never appears)');
  const headersEnd = buffer.indexOf('\r\n\r\n', start + delimiter.length, 'latin1');
  if (headersEnd < 0) throw new MultipartError('the first part has no end to its headers');
  const content = headersEnd + 4;
  const end = buffer.indexOf(Buffer.from(`\r\n--${name}`, 'latin1'), content);
  if (end < 0) throw new MultipartError('the first part is not closed by its boundary (cut off?)');
  return new Uint8Array(buffer.subarray(content, end));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A data centre said it already has the instance (failure reason 0x0111): true only if what it
 * holds under that SOP Instance UID is ours (issue 5: "409/already-stored treated as delivered
 * when the stored instance matches"). WADO-RS retrieves its copy: the same bytes, or (an archive
 * that rewrote the header) our capture's hash in the provenance element, is a match. Anything
 * else is another object under our UID, which a person must sort out: rejected, never delivered.
 * A copy that cannot be fetched now is a retry.
 */
export async function verifyAlreadyStored(
  target: StowTarget,
  dicom: Uint8Array,
  at: InstanceAddress,
  httpStatus: number,
): Promise<StowOutcome> {
  const url = `${baseUrl(target)}/studies/${at.studyUid}/series/${at.seriesUid}/instances/${at.sopUid}`;
  let response: Response;
  let body: Uint8Array;
  try {
    response = await fetch(url, {
      headers: { ...requestHeaders(target), Accept: 'multipart/related; type="application/dicom"' },
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    body = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return {
      kind: 'retry',
      reason: `already stored, but its copy could not be checked: ${unreachable(error, target.timeoutMs)}`,
    };
  }
  if (response.status === 404)
    return {
      kind: 'retry',
      reason: 'the data centre says the instance is already stored but does not have it (WADO-RS 404)',
      httpStatus,
    };
  if (!response.ok)
    return {
      kind: 'retry',
      reason: `already stored, but its copy could not be checked: WADO-RS HTTP ${response.status}`,
      httpStatus,
    };
  let theirs: Uint8Array;
  try {
    theirs = firstMultipartPart(body, response.headers.get('content-type') ?? '');
  } catch (error) {
    return {
      kind: 'retry',
      reason: `already stored, but its copy could not be read: ${(error as Error).message}`,
      httpStatus,
    };
  }
  if (sha256(theirs) === sha256(dicom)) return { kind: 'stored', httpStatus, alreadyStored: true };
  if (Buffer.from(theirs).includes(at.captureSha256, 0, 'latin1'))
    return { kind: 'stored', httpStatus, alreadyStored: true };
  return {
    kind: 'rejected',
    reason: `the data centre holds a different instance under SOP Instance UID ${at.sopUid} (not this capture): a technician must compare the two`,
    httpStatus,
  };
}
