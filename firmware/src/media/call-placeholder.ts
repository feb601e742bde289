import type { EncoderEntry } from './encoders.ts';
import { encoderElement, type PipelineSpec } from './pipeline-spec.ts';
import type { Size } from './resolution-ladder.ts';

/** The pipeline that draws the call's placeholder picture, and its encoded tap. */
export const PLACEHOLDER = { pipeline: 'call-placeholder', tap: 'placeholder-tap' } as const;

/** Why the far end sees the placeholder instead of the camera. */
export type PlaceholderReason = 'camera-lost' | 'camera-off';

/** What the placeholder says (the province's specialists read Chinese), by reason. */
export const PLACEHOLDER_TEXT: Record<PlaceholderReason, string> = {
  'camera-lost': '诊室摄像头已断开，正在等待重新连接\n通话仍在进行',
  'camera-off': '诊室已关闭摄像头\n通话仍在进行',
};

/** A still picture changes little: a few frames a second keep the receiver's decoder alive. */
const PLACEHOLDER_FPS = 5;
/** Enough for flat colour and text at any rung of the ladder. */
const PLACEHOLDER_KBPS = 150;

/**
 * The placeholder a call sends while the camera is away or turned off: a calm slate with what is
 * happening written on it, at the size the camera's picture has now (the far end's layout does not
 * jump), encoded by the encoder the camera uses — hardware first, as everything else — at a few
 * frames a second, a key frame every second so a receiver joining sees it at once. It is its own
 * pipeline, fed into the call like the camera's tap (`pump … replace`), so the call's session,
 * SSRC and sequence numbers carry on and the specialist's browser only sees the picture change.
 */
export function placeholderSpec(options: {
  encoder: EncoderEntry;
  size: Size;
  reason: PlaceholderReason;
}): PipelineSpec {
  const { encoder, size, reason } = options;
  // About a twentieth of the picture's height per line: legible on a specialist's screen.
  const fontPx = Math.max(10, Math.round(size.height / 20));
  return {
    name: PLACEHOLDER.pipeline,
    elements: [
      {
        id: 'placeholder-src',
        factory: 'videotestsrc',
        // Slate blue (ARGB), not black: black reads as "broken" to whoever looks at it.
        props: { 'is-live': true, pattern: 'solid-color', 'foreground-color': 0xff2b3a4a },
      },
      {
        id: 'placeholder-text',
        factory: 'textoverlay',
        props: {
          text: PLACEHOLDER_TEXT[reason],
          'font-desc': `Sans ${fontPx}px`,
          valignment: 'center',
          halignment: 'center',
          'line-alignment': 'center',
        },
      },
      { id: 'placeholder-convert', factory: 'videoconvert' },
      encoderElement('placeholder-encoder', encoder, {
        bitrateKbps: PLACEHOLDER_KBPS,
        fps: PLACEHOLDER_FPS,
        keyFrameIntervalS: 1,
      }),
      { id: 'placeholder-parse', factory: 'h264parse', props: { 'config-interval': -1 } },
      {
        id: PLACEHOLDER.tap,
        factory: 'appsink',
        props: { sync: false, async: false, 'max-buffers': 30, drop: true },
      },
    ],
    links: [
      {
        from: 'placeholder-src',
        to: 'placeholder-text',
        caps: `video/x-raw,format=I420,width=${size.width},height=${size.height},framerate=${PLACEHOLDER_FPS}/1`,
      },
      { from: 'placeholder-text', to: 'placeholder-convert' },
      { from: 'placeholder-convert', to: 'placeholder-encoder' },
      { from: 'placeholder-encoder', to: 'placeholder-parse', caps: encoder.outputCaps },
      {
        from: 'placeholder-parse',
        to: PLACEHOLDER.tap,
        caps: 'video/x-h264,stream-format=byte-stream,alignment=au',
      },
    ],
    taps: [{ element: PLACEHOLDER.tap, media: 'video' }],
  };
}
