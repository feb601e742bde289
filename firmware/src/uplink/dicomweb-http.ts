/** What the STOW-RS upload, the WADO-RS check and the QIDO-RS probe share: where, as whom, how long. */
export interface StowTarget {
  dicomWebUrl: string;
  username?: string;
  password?: string;
  timeoutMs: number;
}

export const baseUrl = (target: StowTarget) => target.dicomWebUrl.replace(/\/$/, '');

export function requestHeaders(target: StowTarget): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/dicom+json' };
  if (target.username !== undefined) {
    headers['Authorization'] =
      `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
  }
  return headers;
}

/** Why a request got no HTTP answer at all. */
export function unreachable(error: unknown, timeoutMs: number): string {
  const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
  if ((error as Error).name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // An open connection closed under the request (undici's UND_ERR_SOCKET, or a reset): the link
  // or the data centre dropped it mid-upload, and the whole instance goes again.
  if (cause === 'UND_ERR_SOCKET' || cause === 'ECONNRESET' || cause === 'EPIPE')
    return `the connection to the data centre was cut mid-request (${cause})`;
  return `cannot reach the data centre (${cause ?? (error as Error).message})`;
}
