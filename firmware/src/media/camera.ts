/**
 * Cameras: what a UVC/V4L2 camera offers (parsed from its GStreamer caps) and which mode to use.
 * Pure functions; the media worker does the discovery with the GStreamer device monitor.
 */

export type CameraMedia = 'raw' | 'mjpeg' | 'h264';

export interface CameraMode {
  media: CameraMedia;
  /** Raw pixel format (YUY2, NV12, …); null for compressed modes. */
  format: string | null;
  width: number;
  height: number;
  /** Frame rates offered, highest first. */
  fps: number[];
}

export class CapsParseError extends Error {
  readonly code = 'CAPS_UNPARSABLE';
}

const MEDIA: Record<string, CameraMedia> = {
  'video/x-raw': 'raw',
  'image/jpeg': 'mjpeg',
  'video/x-h264': 'h264',
};

function field(structure: string, name: string): string | null {
  // name=(type)value where value is a scalar, a { list } or a [ range ].
  const m = new RegExp(`(?:^|,)\\s*${name}=\\([a-z]+\\)(\\{[^}]*\\}|\\[[^\\]]*\\]|[^,]*)`).exec(structure);
  return m ? m[1]!.trim() : null;
}

function fraction(text: string): number {
  const [n, d] = text.trim().split('/').map(Number);
  if (!Number.isFinite(n) || !Number.isFinite(d) || d === 0)
    throw new CapsParseError(`framerate "${text}" is not a fraction`);
  return Math.round((n! / d!) * 100) / 100;
}

function frameRates(text: string): number[] {
  if (text.startsWith('{')) return text.slice(1, -1).split(',').map(fraction);
  if (text.startsWith('[')) {
    const [lo, hi] = text.slice(1, -1).split(',').map(fraction);
    // A range: offer the usual rates inside it.
    return [60, 30, 25, 15, 10, 5].filter((r) => r >= lo! && r <= hi!);
  }
  return [fraction(text)];
}

/**
 * Parses caps text as `gst_caps_to_string` writes it (structures separated by `;`) into modes.
 * Structures that are not camera video (audio, unknown media) are skipped; a video structure
 * without a usable size or rate is an error naming it.
 */
export function parseCameraCaps(text: string): CameraMode[] {
  const modes: CameraMode[] = [];
  for (const raw of text.split(';')) {
    const structure = raw.trim();
    if (!structure) continue;
    const name = structure.split(',')[0]!.trim();
    const media = MEDIA[name];
    if (!media) continue;
    const width = Number(field(structure, 'width'));
    const height = Number(field(structure, 'height'));
    const rate = field(structure, 'framerate');
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || !rate) {
      throw new CapsParseError(`"${structure.slice(0, 80)}": needs a fixed width, height and a framerate`);
    }
    const fps = [...new Set(frameRates(rate))].filter((f) => f > 0).sort((a, b) => b - a);
    if (fps.length === 0) throw new CapsParseError(`"${structure.slice(0, 80)}": no usable frame rate`);
    const format =
      media === 'raw'
        ? (field(structure, 'format')?.replace(/[{}]/g, '').split(',')[0]?.trim() ?? null)
        : null;
    modes.push({ media, format, width, height, fps });
  }
  return modes;
}

/** Bytes per pixel of the raw formats UVC cameras send. */
const BYTES_PER_PIXEL: Record<string, number> = {
  YUY2: 2,
  UYVY: 2,
  NV12: 1.5,
  I420: 1.5,
  GRAY8: 1,
  RGB: 3,
  BGR: 3,
};

/**
 * What a USB 2.0 high-speed isochronous endpoint can carry: 3 × 1024 bytes per 125 µs microframe
 * (USB 2.0 §5.6.4) = 24.576 MB/s. USB 3 is taken as unlimited for these sizes.
 */
export const USB2_BYTES_PER_S = 3 * 1024 * 8000;

export interface ModeTarget {
  width: number;
  height: number;
  fps: number;
  link: 'usb2' | 'usb3';
}

export function rawBytesPerSecond(mode: CameraMode, fps: number): number {
  return mode.width * mode.height * (BYTES_PER_PIXEL[mode.format ?? ''] ?? 2) * fps;
}

/**
 * The best mode for the target: the target's size (or the nearest larger one, else the largest
 * below), then a rate at or above the target's, then raw when it fits the link, MJPEG next, native
 * H.264 last (it must be decoded before our own encode). Null when nothing usable is offered.
 */
export function chooseMode(
  modes: CameraMode[],
  target: ModeTarget,
): { mode: CameraMode; fps: number } | null {
  const usable = modes
    .map((mode) => {
      const fps = [...mode.fps].reverse().find((f) => f >= target.fps) ?? mode.fps[0]!;
      const fits =
        mode.media !== 'raw' || target.link === 'usb3' || rawBytesPerSecond(mode, fps) <= USB2_BYTES_PER_S;
      return { mode, fps, fits };
    })
    .filter((m) => m.fits);
  if (usable.length === 0) return null;
  const area = target.width * target.height;
  const sizeRank = (m: CameraMode) => {
    const a = m.width * m.height;
    // Exact or larger (scaled down) beats smaller; among larger, the smallest; among smaller, the largest.
    return a >= area ? a - area : area + (area - a) * 10;
  };
  const mediaRank: Record<CameraMedia, number> = { raw: 0, mjpeg: 1, h264: 2 };
  usable.sort(
    (a, b) =>
      sizeRank(a.mode) - sizeRank(b.mode) ||
      Number(b.fps >= target.fps) - Number(a.fps >= target.fps) ||
      mediaRank[a.mode.media] - mediaRank[b.mode.media] ||
      b.fps - a.fps,
  );
  const best = usable[0]!;
  return { mode: best.mode, fps: best.fps };
}
