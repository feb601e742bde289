import type { IncomingMessage } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ApiError } from './errors.ts';

/** Request bodies are small JSON objects (page orders, scan settings, a patient's entry). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The request's JSON body, or null when it has none. Too large is a 413 (the rest is not read);
 * not JSON is a 400.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new ApiError(413, `the request body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'the body is not JSON');
  }
}

/**
 * The body checked against its schema, every problem reported at once and named by its field.
 * A schema may carry `errorMessage`, the sentence used when that value is wrong. A missing body
 * is taken as `{}`, so that a schema whose fields are all optional accepts it.
 */
export function decodeBody<S extends TSchema>(schema: S, body: unknown): Static<S> {
  const value = body ?? {};
  if (Value.Check(schema, value)) return value;
  const problems = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const custom = (error.schema as { errorMessage?: unknown }).errorMessage;
    problems.add(
      typeof custom === 'string'
        ? custom
        : `${error.path.slice(1).replaceAll('/', '.') || 'body'}: ${error.message}`,
    );
  }
  throw new ApiError(400, [...problems].join('; '));
}
