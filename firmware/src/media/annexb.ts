/**
 * H.264 Annex B byte streams (ITU-T H.264 Annex B): NAL units behind 00 00 01 / 00 00 00 01 start
 * codes. Pure functions over bytes; used to check what a segment holds before it becomes DICOM.
 */

export class AnnexBError extends Error {
  readonly code = 'ANNEXB_INVALID';
}

export interface NalUnit {
  /** nal_unit_type (H.264 Table 7-1): 1 non-IDR slice, 5 IDR slice, 7 SPS, 8 PPS, 9 AUD. */
  type: number;
  offset: number;
  length: number;
}

/** Splits a byte stream into NAL units; bytes before the first start code are an error. */
export function nalUnits(stream: Uint8Array): NalUnit[] {
  const starts: Array<{ at: number; payload: number }> = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push({ at: i > 0 && stream[i - 1] === 0 ? i - 1 : i, payload: i + 3 });
      i += 2;
    }
  }
  if (starts.length === 0) throw new AnnexBError('no start code: not an H.264 Annex B byte stream');
  if (starts[0]!.at !== 0) throw new AnnexBError(`${starts[0]!.at} bytes before the first start code`);
  return starts.map((s, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]!.at : stream.length;
    if (s.payload >= end) throw new AnnexBError(`empty NAL unit at byte ${s.at}`);
    const header = stream[s.payload]!;
    if (header & 0x80) throw new AnnexBError(`NAL unit at byte ${s.at}: forbidden_zero_bit is set`);
    return { type: header & 0x1f, offset: s.payload, length: end - s.payload };
  });
}

export interface StreamSummary {
  frames: number;
  idrFrames: number;
  hasParameterSets: boolean;
}

/**
 * Counts coded pictures: a slice NAL (type 1 or 5) whose first_mb_in_slice is 0 starts a picture.
 * first_mb_in_slice is the first ue(v) of the slice header; ue(v) = 0 is the single bit '1'.
 */
export function summarize(stream: Uint8Array): StreamSummary {
  const units = nalUnits(stream);
  let frames = 0;
  let idrFrames = 0;
  for (const u of units) {
    if ((u.type === 1 || u.type === 5) && u.length > 1 && stream[u.offset + 1]! & 0x80) {
      frames++;
      if (u.type === 5) idrFrames++;
    }
  }
  return {
    frames,
    idrFrames,
    hasParameterSets: units.some((u) => u.type === 7) && units.some((u) => u.type === 8),
  };
}
