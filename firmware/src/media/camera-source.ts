import type { CameraMode } from './camera.ts';
import type { ElementSpec, LinkSpec } from './pipeline-spec.ts';

/**
 * Where a camera's frames come from. On the board: a V4L2 device (found by bus path or serial, never
 * by /dev name alone). In the rig: a chain of GStreamer elements (a moving test pattern with a
 * clock overlay) declared in configuration — the same pipeline after it either way.
 */
export type CameraSource =
  | { kind: 'v4l2'; devicePath: string; mode: CameraMode; fps: number }
  | { kind: 'elements'; elements: ElementSpec[] };

export interface SourceChain {
  elements: ElementSpec[];
  links: LinkSpec[];
  /** The id of the last element: raw video, ready for convert/scale/encode. */
  tail: string;
}

/** Source elements up to raw video, each id prefixed (`cam-…`) so a pipeline can hold several. */
export function sourceChain(source: CameraSource, prefix = 'cam'): SourceChain {
  const id = (name: string) => `${prefix}-${name}`;
  if (source.kind === 'elements') {
    if (source.elements.length === 0) throw new RangeError('an element camera needs at least one element');
    const elements = source.elements.map((e) => ({ ...e, id: id(e.id) }));
    const links = elements.slice(1).map((e, i) => ({ from: elements[i]!.id, to: e.id }));
    return { elements, links, tail: elements.at(-1)!.id };
  }
  const { mode, fps } = source;
  const base: ElementSpec[] = [
    { id: id('src'), factory: 'v4l2src', props: { device: source.devicePath, 'do-timestamp': true } },
  ];
  const size = `width=${mode.width},height=${mode.height},framerate=${fps}/1`;
  switch (mode.media) {
    case 'raw':
      return {
        elements: [
          ...base,
          {
            id: id('caps'),
            factory: 'capsfilter',
            props: { caps: `video/x-raw,format=${mode.format},${size}` },
          },
        ],
        links: [{ from: id('src'), to: id('caps') }],
        tail: id('caps'),
      };
    case 'mjpeg':
      return {
        elements: [...base, { id: id('dec'), factory: 'jpegdec' }],
        links: [{ from: id('src'), to: id('dec'), caps: `image/jpeg,${size}` }],
        tail: id('dec'),
      };
    case 'h264':
      return {
        elements: [
          ...base,
          { id: id('parse'), factory: 'h264parse' },
          { id: id('dec'), factory: 'avdec_h264' },
        ],
        links: [
          { from: id('src'), to: id('parse'), caps: `video/x-h264,${size}` },
          { from: id('parse'), to: id('dec') },
        ],
        tail: id('dec'),
      };
  }
}
