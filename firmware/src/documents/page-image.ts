import jpeg from 'jpeg-js';
import type { Raster } from '#device-drivers';

/** A scanned page as the document keeps it: the full page and a small preview, both JPEG. */
export interface PageImages {
  /** The page for the PDF: JPEG baseline, quality {@link PAGE_QUALITY}. */
  jpeg: Uint8Array;
  /** A preview for the kiosk, at most {@link PREVIEW_WIDTH} pixels wide. */
  preview: Uint8Array;
  width: number;
  height: number;
}

/**
 * Quality 75 keeps printed and handwritten text sharp at 200 dpi; with the paper whitened
 * ({@link whitenPaper}) a full A4 page of text is a few hundred KB and a typical letter less.
 */
export const PAGE_QUALITY = 75;
export const PREVIEW_WIDTH = 240;

/** Expands grey or RGB samples to the RGBA jpeg-js encodes. */
function rgba(raster: Raster): Buffer {
  const pixels = raster.width * raster.height;
  const out = Buffer.allocUnsafe(pixels * 4);
  const d = raster.data;
  if (raster.channels === 1) {
    for (let p = 0; p < pixels; p++) {
      const v = d[p] as number;
      out[4 * p] = v;
      out[4 * p + 1] = v;
      out[4 * p + 2] = v;
      out[4 * p + 3] = 255;
    }
  } else {
    for (let p = 0; p < pixels; p++) {
      out[4 * p] = d[3 * p] as number;
      out[4 * p + 1] = d[3 * p + 1] as number;
      out[4 * p + 2] = d[3 * p + 2] as number;
      out[4 * p + 3] = 255;
    }
  }
  return out;
}

/** Box-filter reduction to `width` pixels wide (area average: text stays legible, no aliasing). */
export function downscale(raster: Raster, width: number): Raster {
  if (raster.width <= width) return raster;
  const scale = raster.width / width;
  const height = Math.max(1, Math.round(raster.height / scale));
  const c = raster.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * scale);
    const y1 = Math.min(raster.height, Math.max(y0 + 1, Math.floor((y + 1) * scale)));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * scale);
      const x1 = Math.min(raster.width, Math.max(x0 + 1, Math.floor((x + 1) * scale)));
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let sy = y0; sy < y1; sy++)
          for (let sx = x0; sx < x1; sx++) sum += raster.data[(sy * raster.width + sx) * c + ch] as number;
        out[(y * width + x) * c + ch] = Math.round(sum / ((y1 - y0) * (x1 - x0)));
      }
    }
  }
  return { width, height, channels: c, data: out };
}

const encode = (raster: Raster, quality: number) =>
  new Uint8Array(
    jpeg.encode({ data: rgba(raster), width: raster.width, height: raster.height }, quality).data,
  );

/**
 * Paper is not white to a scanner: it comes back as 230–250 with sensor noise, and JPEG spends
 * most of a text page's bytes on that noise. Grey levels at or above this are made white (the
 * "background removal" of office scanners); ink, stamps and pencil are far darker.
 */
export const PAPER_WHITE = 230;

export function whitenPaper(raster: Raster): Raster {
  if (raster.channels !== 1) return raster;
  const data = new Uint8Array(raster.data);
  for (let i = 0; i < data.length; i++) if ((data[i] as number) >= PAPER_WHITE) data[i] = 255;
  return { ...raster, data };
}

export function pageImages(scanned: Raster): PageImages {
  const raster = whitenPaper(scanned);
  return {
    jpeg: encode(raster, PAGE_QUALITY),
    preview: encode(downscale(raster, PREVIEW_WIDTH), 70),
    width: raster.width,
    height: raster.height,
  };
}
