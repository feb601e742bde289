import { randomBytes } from 'node:crypto';
import { baseUrl, requestHeaders, type StowTarget, unreachable } from './dicomweb-http.ts';
import { type InstanceAddress, verifyAlreadyStored } from './wado-retrieve.ts';

export type { StowTarget } from './dicomweb-http.ts';

/**
 * What one STOW-RS attempt means for one instance (PS3.18 §10.5.3):
 * - stored: the response lists the SOP Instance UID among the referenced (stored) instances;
 * - retry: nothing is known to be stored and trying again may succeed (network, 5xx, 429,
 *   out of resources, or a response that does not mention the instance);
 * - rejected: the server refused this instance for good (4xx, or a failure reason that will not
 *   change): the instance is quarantined with the server's reason.
 */
export type StowOutcome =
  | { kind: 'stored'; httpStatus: number; alreadyStored: boolean }
  | { kind: 'retry'; reason: string; retryAfterMs?: number; httpStatus?: number }
  | { kind: 'rejected'; reason: string; httpStatus: number };

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

/** Failure Reason (0008,1197) values that a later retry can cure (PS3.4 Annex GG / C.4.2.1.4). */
const RETRYABLE_FAILURES = new Set([0xa700, 0xa701, 0xa702, 0x0110, 0x0213, 0xc000]);
const DUPLICATE = 0x0111;

function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sopItems(body: DicomJson | undefined, tag: string): Array<DicomJson> {
  return (body?.[tag]?.Value as DicomJson[] | undefined) ?? [];
}

function uidOf(item: DicomJson): string | undefined {
  return item['00081155']?.Value?.[0] as string | undefined;
}

export function interpretStowResponse(
  status: number,
  body: DicomJson | undefined,
  sopUid: string,
  text: string,
): StowOutcome {
  const stored = sopItems(body, '00081199').some((i) => uidOf(i) === sopUid);
  const failed = sopItems(body, '00081198').find((i) => uidOf(i) === sopUid);
  const failure = failed?.['00081197']?.Value?.[0] as number | undefined;
  if (stored && (status === 200 || status === 202))
    return { kind: 'stored', httpStatus: status, alreadyStored: false };
  if (failure === DUPLICATE) return { kind: 'stored', httpStatus: status, alreadyStored: true };
  if (failure !== undefined) {
    const reason = `data centre refused the instance: failure reason 0x${failure.toString(16).padStart(4, '0')}`;
    return RETRYABLE_FAILURES.has(failure)
      ? { kind: 'retry', reason, httpStatus: status }
      : { kind: 'rejected', reason, httpStatus: status };
  }
  if (status === 200 || status === 202) {
    // A success that does not name this instance is not its delivery (PS3.18 §10.5.3: only the
    // Referenced SOP Sequence says what was stored).
    const others = sopItems(body, '00081199')
      .map(uidOf)
      .filter((u): u is string => u !== undefined);
    return {
      kind: 'retry',
      reason:
        body === undefined
          ? `HTTP ${status} but the response is not DICOM JSON: ${text.trim().slice(0, 80) || 'empty'}`
          : others.length > 0
            ? `HTTP ${status} lists another instance as stored (${others.slice(0, 2).join(', ')}), not this one`
            : `HTTP ${status} but the instance is not listed as stored`,
      httpStatus: status,
    };
  }
  const detail = text.trim().slice(0, 300) || 'no reason given';
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', reason: `HTTP ${status}: ${detail}`, httpStatus: status };
  }
  if (status === 401 || status === 403) {
    // Credentials are the terminal's problem, not the instance's: keep it queued and alarm.
    return {
      kind: 'retry',
      reason: `HTTP ${status}: the data centre refused the terminal's credentials`,
      httpStatus: status,
    };
  }
  return { kind: 'rejected', reason: `HTTP ${status}: ${detail}`, httpStatus: status };
}

/**
 * The health probe: a QIDO-RS query for one study, with the upload's credentials. Resolves null
 * when the data centre's archive answered, else why not.
 */
export async function probeDataCentre(target: StowTarget): Promise<string | null> {
  const timeoutMs = Math.min(target.timeoutMs, 10_000);
  try {
    const response = await fetch(`${baseUrl(target)}/studies?limit=1`, {
      headers: requestHeaders(target),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.ok ? null : `health probe: HTTP ${response.status}`;
  } catch (error) {
    return `health probe: ${unreachable(error, timeoutMs)}`;
  }
}

/** Waits until `bytes` more of the body may go on the link (the uplink's rate limiter). */
export type Pace = (bytes: number) => Promise<void>;

/** The body in 16 KiB chunks, each sent only when the pace allows. */
async function* paced(body: Buffer, pace: Pace): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < body.length; at += PACE_CHUNK) {
    const chunk = body.subarray(at, at + PACE_CHUNK);
    await pace(chunk.length);
    yield chunk;
  }
}
const PACE_CHUNK = 16_384;

/** Stores one instance with DICOMweb STOW-RS (multipart/related; type="application/dicom"). */
export async function stowInstance(
  target: StowTarget,
  dicom: Uint8Array,
  sopUid: string,
  /** Where to check the data centre's copy when it says it has the instance already. */
  address?: Omit<InstanceAddress, 'sopUid'>,
  /** The uplink's share of the link; none: as fast as the link takes it. */
  pace?: Pace,
): Promise<StowOutcome> {
  const boundary = `telemed-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const multipart = Buffer.concat([head, dicom, tail]);
  let response: Response;
  try {
    response = await fetch(`${baseUrl(target)}/studies`, {
      method: 'POST',
      headers: {
        ...requestHeaders(target),
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        // Sized, not chunked, also when paced: every STOW-RS server takes a Content-Length.
        'Content-Length': String(multipart.length),
      },
      body: pace ? paced(multipart, pace) : multipart,
      ...(pace ? { duplex: 'half' as const } : {}),
      signal: AbortSignal.timeout(target.timeoutMs),
    } as RequestInit);
  } catch (error) {
    return { kind: 'retry', reason: unreachable(error, target.timeoutMs) };
  }
  let text = '';
  try {
    text = await response.text();
  } catch {
    return {
      kind: 'retry',
      reason: `HTTP ${response.status}: the response was cut off`,
      httpStatus: response.status,
    };
  }
  let body: DicomJson | undefined;
  try {
    body = text ? (JSON.parse(text) as DicomJson) : undefined;
  } catch {
    body = undefined;
  }
  const outcome = interpretStowResponse(response.status, body, sopUid, text);
  if (outcome.kind === 'stored' && outcome.alreadyStored && address)
    return verifyAlreadyStored(target, dicom, { ...address, sopUid }, outcome.httpStatus);
  if (outcome.kind === 'retry') {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  }
  return outcome;
}
