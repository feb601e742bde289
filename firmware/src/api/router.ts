import type { Static, TSchema } from '@sinclair/typebox';
import { ApiError } from './errors.ts';

/** What a route answers: JSON (status 200 unless given), or bytes of a content type (and headers). */
export type ApiReply =
  | { json: object; status?: number }
  | { bytes: Uint8Array; contentType: string; headers?: Record<string, string> };

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * One entry of the route table. `path` may hold `:name` segments, given to `handle` as params;
 * with a `body` schema, the JSON body is decoded and checked against it before `handle` runs
 * (without one, `handle` gets the parsed JSON, or null, to decode itself).
 * Handlers throw what their domain throws: api/errors.ts turns it into a status.
 */
export interface Route<S extends TSchema | undefined = TSchema | undefined> {
  method: Method;
  path: string;
  body?: S;
  /** The schema its JSON answer keeps to (api/types.ts, api/schemas.ts); the server checks it. */
  response?: TSchema;
  handle(request: {
    params: Record<string, string>;
    body: S extends TSchema ? Static<S> : unknown;
  }): Promise<ApiReply>;
}

/** Builds a route with its body's type inferred from its schema. */
export function route<S extends TSchema | undefined = undefined>(r: Route<S>): Route {
  return r as unknown as Route;
}

export type RouteMatch = { route: Route; params: Record<string, string> };

/** A path segment as sent, decoded; a malformed escape (`/%`) is the client's mistake, a 400. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, `the path segment '${segment.slice(0, 64)}' is not valid percent-encoding`);
  }
}

function matchPath(pattern: readonly string[], got: readonly string[]): Record<string, string> | null {
  if (pattern.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as string;
    const segment = got[i] as string;
    if (want.startsWith(':')) {
      if (!segment) return null;
      params[want.slice(1)] = decodeSegment(segment);
    } else if (want !== segment) return null;
  }
  return params;
}

/** The API's one route table. */
export class Router {
  private readonly table: Array<{ route: Route; segments: string[] }>;

  constructor(routes: readonly Route[]) {
    this.table = routes.map((r) => ({ route: r, segments: r.path.split('/') }));
    const seen = new Set<string>();
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) throw new Error(`two routes for ${key}`);
      seen.add(key);
    }
  }

  /** The route for a request, or a 404 (no such path) or 405 (the path, another method). */
  match(method: string, pathname: string): RouteMatch {
    const segments = pathname.split('/');
    let otherMethod = false;
    for (const { route: r, segments: pattern } of this.table) {
      const params = matchPath(pattern, segments);
      if (!params) continue;
      if (r.method === method) return { route: r, params };
      otherMethod = true;
    }
    if (otherMethod) throw new ApiError(405, `${method} is not allowed on ${pathname}`);
    throw new ApiError(404, `no route ${method} ${pathname}`);
  }
}
