import jpeg from 'jpeg-js';
import { readMark, rgbaLuma, unwrapMark } from './time-mark.ts';

/** The one-way delay a far-end picture shows: when the terminal showed it minus its time mark. */
export function frameDelay(jpegBytes: Uint8Array, shownAt: number): number | null {
  const image = jpeg.decode(jpegBytes, { useTArray: true, formatAsRGBA: true });
  const mark = readMark(rgbaLuma(image.data, image.width), image.width, image.height);
  return mark === null ? null : shownAt - unwrapMark(mark, shownAt);
}

/**
 * Samples the specialist's pictures as the terminal shows them (GET /api/v1/call/far-end.jpg, whose
 * X-Shown-At says when), every `everyMs` until `signal` aborts, and gives the delays read from their
 * time marks; a frame fetched twice counts once.
 */
export async function sampleFarEndDelays(
  api: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  everyMs = 200,
): Promise<number[]> {
  const delays: number[] = [];
  const seen = new Set<string>();
  while (!signal.aborted) {
    const response = await fetch(`${api}/api/v1/call/far-end.jpg`, { headers }).catch(() => null);
    const shownAt = Number(response?.headers.get('x-shown-at') ?? Number.NaN);
    if (response?.ok && Number.isFinite(shownAt) && !seen.has(String(shownAt))) {
      seen.add(String(shownAt));
      const delay = frameDelay(new Uint8Array(await response.arrayBuffer()), shownAt);
      if (delay !== null) delays.push(delay);
    } else await response?.arrayBuffer().catch(() => null);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return delays;
}
