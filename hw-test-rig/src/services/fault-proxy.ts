import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a data centre does to the next requests, as the rig decides. */
export type DcFault =
  | { mode: 'pass' }
  | { mode: 'http-error'; status: number; body: string; retryAfterS?: number }
  | { mode: 'slow'; delayMs: number }
  /** The TCP connection is cut once part of the request body has arrived: mid-upload. */
  | { mode: 'reset' }
  /** Uploads answered 200 with a body that is not valid DICOM JSON (a broken gateway). */
  | { mode: 'malformed' }
  /** Uploads answered 200 listing another SOP Instance UID as stored (a confused gateway). */
  | { mode: 'other-instance' }
  /** Uploads are stored, then answered 409 "already stored" (0x0111), as after a lost response. */
  | { mode: 'already-stored' }
  /** Uploads answered 409 "already stored" without being stored: a data centre that is wrong. */
  | { mode: 'claims-stored' };

/** STOW-RS's answer for an instance the archive says it has already (PS3.18 §10.5.3, 0x0111). */
function alreadyStoredAnswer(uids: string[]): string {
  return JSON.stringify({
    '00081198': {
      vr: 'SQ',
      Value: uids.map((uid) => ({
        '00081155': { vr: 'UI', Value: [uid] },
        '00081197': { vr: 'US', Value: [0x0111] },
      })),
    },
  });
}

/** SOP Instance UID (0008,0018) of the DICOM inside an upload (explicit VR little endian). */
function sopUidIn(body: Buffer): string | null {
  const at = body.indexOf(Buffer.from([0x08, 0x00, 0x18, 0x00, 0x55, 0x49]));
  if (at < 0) return null;
  const length = body.readUInt16LE(at + 6);
  return body
    .subarray(at + 8, at + 8 + length)
    .toString('latin1')
    .replace(/\0+$/, '');
}

/** The SOP Instance UID an 'other-instance' data centre claims to have stored. */
export const OTHER_INSTANCE_UID = '1.2.826.0.1.3680043.10.1391.999.999';

/**
 * A reverse proxy in front of one Orthanc, so the rig can make a data centre answer 500, reject
 * with 400 and a reason, answer 503 with Retry-After, be slower than the terminal's timeout, or
 * reset connections mid-request — without touching the firmware.
 */
export class FaultProxy {
  fault: DcFault = { mode: 'pass' };
  readonly requests: Array<{ method: string; path: string; answered: string }> = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: () => string): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((req, res) => {
      const fault = proxy.fault;
      const log = (answered: string) =>
        proxy.requests.push({ method: req.method ?? '', path: req.url ?? '', answered });
      /** Passes the request on; `rewrite` may replace the archive's answer (status 2xx) with its own. */
      const forward = (rewrite?: (answer: string) => { status: number; body: string }) => {
        const upstream = new URL(req.url ?? '/', target());
        const out = request(
          upstream,
          {
            method: req.method,
            // An answer to rewrite must come plain, not gzipped.
            headers: rewrite
              ? { ...req.headers, host: upstream.host, 'accept-encoding': 'identity' }
              : { ...req.headers, host: upstream.host },
          },
          (up) => {
            if (!rewrite) {
              log(String(up.statusCode));
              res.writeHead(up.statusCode ?? 502, up.headers);
              up.pipe(res);
              return;
            }
            let answer = '';
            up.setEncoding('utf8');
            up.on('data', (chunk: string) => (answer += chunk));
            up.on('end', () => {
              let replaced: { status: number; body: string };
              try {
                replaced = rewrite(answer);
              } catch (error) {
                replaced = {
                  status: 502,
                  body: `the rig could not rewrite the answer: ${(error as Error).message}`,
                };
              }
              log(`${replaced.status} ${fault.mode}`);
              res.writeHead(replaced.status, { 'content-type': 'application/dicom+json' });
              res.end(replaced.body);
            });
          },
        );
        out.on('error', (error) => {
          log('502');
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`data centre unreachable: ${error.message}`);
        });
        req.pipe(out);
      };
      switch (fault.mode) {
        case 'pass':
          return forward();
        case 'slow':
          setTimeout(forward, fault.delayMs);
          return;
        case 'reset': {
          // Mid-upload: after the first piece of the body (at once for a request without one).
          const cut = () => {
            log('reset');
            req.socket.destroy();
          };
          req.once('data', cut);
          req.once('end', () => !req.socket.destroyed && cut());
          return;
        }
        case 'malformed':
        case 'other-instance':
          // Only uploads get the broken answer; health probes (GET) pass.
          if (req.method !== 'POST') return forward();
          log(`200 ${fault.mode}`);
          req.resume();
          res.writeHead(200, { 'content-type': 'application/dicom+json' });
          res.end(
            fault.mode === 'malformed'
              ? '{"00081199": {"vr": "SQ", "Value": [{"00081155": '
              : JSON.stringify({
                  '00081199': {
                    vr: 'SQ',
                    Value: [{ '00081155': { vr: 'UI', Value: [OTHER_INSTANCE_UID] } }],
                  },
                }),
          );
          return;
        case 'already-stored':
          if (req.method !== 'POST') return forward();
          return forward((answer) => {
            const stored = (
              JSON.parse(answer) as Record<string, { Value?: Array<Record<string, { Value?: string[] }>> }>
            )['00081199'];
            const uids = (stored?.Value ?? []).map((item) => item['00081155']?.Value?.[0] ?? '');
            return { status: 409, body: alreadyStoredAnswer(uids) };
          });
        case 'claims-stored': {
          if (req.method !== 'POST') return forward();
          const chunks: Buffer[] = [];
          req.on('data', (chunk: Buffer) => chunks.push(chunk));
          req.on('end', () => {
            const uid = sopUidIn(Buffer.concat(chunks));
            log(`409 ${fault.mode}`);
            res.writeHead(409, { 'content-type': 'application/dicom+json' });
            res.end(alreadyStoredAnswer(uid ? [uid] : []));
          });
          return;
        }
        case 'http-error':
          log(String(fault.status));
          req.resume();
          res.writeHead(fault.status, {
            'content-type': 'text/plain',
            ...(fault.retryAfterS !== undefined ? { 'retry-after': String(fault.retryAfterS) } : {}),
          });
          res.end(fault.body);
          return;
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
