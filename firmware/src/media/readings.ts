/*
 * Readings the media worker passes on as GStreamer's own text (a structure or caps serialised),
 * parsed here: pure functions over strings, tested on any text.
 */

/** A `level` element's message: the loudest channel's RMS in dBFS and the span it covers. */
export interface LevelReading {
  rmsDb: number;
  durationS: number;
}

/** The numbers of a `(GValueArray)< a, b >` or `(double){ a, b }` field. */
function numbers(text: string, field: string): number[] | null {
  const match = new RegExp(`(?:^|[ ,])${field}=\\([A-Za-z]+\\)[<{]([^>}]*)[>}]`).exec(text);
  if (!match) return null;
  const values = match[1]!
    .split(',')
    // GStreamer prints silence as -inf (printf's spelling, not JavaScript's).
    .map((v) => (v.trim() === '-inf' ? Number.NEGATIVE_INFINITY : Number(v.trim())))
    .filter((v) => !Number.isNaN(v));
  return values.length > 0 ? values : null;
}

function unsigned(text: string, field: string): number | null {
  const match = new RegExp(`(?:^|[ ,])${field}=\\(guint64\\)(\\d+)`).exec(text);
  return match ? Number(match[1]) : null;
}

/** A level message's text, or null when it is not one (or is cut). Silence is -Infinity dB, kept as -200. */
export function parseLevel(text: string): LevelReading | null {
  if (!text.startsWith('level,')) return null;
  const rms = numbers(text, 'rms');
  const duration = unsigned(text, 'duration');
  if (!rms || duration === null) return null;
  const loudest = Math.max(...rms.map((v) => (Number.isFinite(v) ? v : -200)));
  return { rmsDb: Math.max(-200, Math.min(0, loudest)), durationS: duration / 1e9 };
}

/** Picture size and frame rate from raw video caps (`video/x-raw, width=(int)640, …`), or null. */
export function parseVideoCaps(caps: string): { width: number; height: number; fps: number | null } | null {
  if (!caps.startsWith('video/')) return null;
  const int = (field: string) => {
    const m = new RegExp(`(?:^|[ ,])${field}=\\(int\\)(\\d+)`).exec(caps);
    return m ? Number(m[1]) : null;
  };
  const width = int('width');
  const height = int('height');
  if (width === null || height === null || width === 0 || height === 0) return null;
  const rate = /(?:^|[ ,])framerate=\(fraction\)(\d+)\/(\d+)/.exec(caps);
  // 0/1 is "variable": no rate to report.
  const fps = rate && Number(rate[1]) > 0 && Number(rate[2]) > 0 ? Number(rate[1]) / Number(rate[2]) : null;
  return { width, height, fps };
}
