import type { CallItem } from '../../../firmware/src/api/types.ts';
import type { DocumentCardContext } from './document-card.ts';
import { STRINGS } from './i18n.ts';

/**
 * The call's quality as staff should hear of it, from the link both ways and the picture that
 * arrives: poor when a tenth of the packets are lost or the picture nearly stops, fair when the
 * link forced the sending rate down or the specialist's picture into a smaller size, or loss or
 * delay grow, else good. Null before it is measured.
 */
export function callQuality(call: CallItem): 'good' | 'fair' | 'poor' | null {
  const l = call.link;
  if (!l || call.state !== 'in-call') return null;
  const loss = Math.max(l.sendLossPercent ?? 0, l.receiveLossPercent ?? 0);
  const fps = call.received?.fps ?? null;
  if (loss >= 10 || (l.rttMs ?? 0) >= 400 || (fps !== null && fps < 8)) return 'poor';
  if (
    loss >= 2 ||
    (l.rttMs ?? 0) >= 200 ||
    (fps !== null && fps < 20) ||
    l.counters.stepsDown > l.counters.stepsUp ||
    l.counters.layersDown > l.counters.layersUp
  )
    return 'fair';
  return 'good';
}

/**
 * The call card: one button calls the duty specialist; while in the call, the specialist's
 * picture (large), what is received, and the button that ends it. The picture comes as frames
 * from the local API a few times a second (see docs/design/calls.md for the board's overlay).
 */
export function callCard(
  call: CallItem,
  c: Omit<DocumentCardContext, 'previewUrl'> & {
    farEnd: HTMLImageElement;
    /** Both cameras run (room and document): the switch between them is offered. */
    switchable?: boolean;
  },
): HTMLElement {
  const t = STRINGS[c.lang].call;
  const { el } = c;
  const button = (id: string, label: string, method: string, enabled: boolean) => {
    const b = el('button', { id, type: 'button', class: 'action' }, label);
    if (!enabled) b.setAttribute('disabled', '');
    b.addEventListener('click', () => c.act(method, '/api/v1/call', method === 'POST' ? {} : undefined));
    return b;
  };
  const inCall = call.state !== 'idle';
  const r = call.received;
  const quality = callQuality(call);
  /**
   * In-call controls: mute, camera off, the other camera (room or document, where there are two),
   * and the loudspeaker a quarter louder or softer.
   */
  const control = (id: string, label: string, body: object, pressed?: boolean) => {
    const b = el('button', { id, type: 'button', class: 'action' }, label);
    if (pressed !== undefined) b.setAttribute('aria-pressed', pressed ? 'true' : 'false');
    b.addEventListener('click', () => c.act('POST', '/api/v1/call/controls', body));
    return b;
  };
  const { muted, cameraOff, volume, camera } = call.controls;
  const other = camera === 'document' ? 'room' : 'document';
  const pictureNote = call.picture ? t.picture[call.picture] : null;
  const step = (v: number) => ({ volume: Math.round(Math.min(1, Math.max(0, v)) * 100) / 100 });
  const controls =
    call.state === 'in-call'
      ? [
          control('call-mute', muted ? t.unmute : t.mute, { muted: !muted }, muted),
          control('call-camera', cameraOff ? t.cameraOn : t.cameraOff, { cameraOff: !cameraOff }, cameraOff),
          ...(c.switchable ? [control('call-switch-camera', t.show[other], { camera: other })] : []),
          control('call-quieter', t.quieter, step(volume - 0.25)),
          el('span', { id: 'call-volume', class: 'muted' }, t.volume(Math.round(volume * 100))),
          control('call-louder', t.louder, step(volume + 0.25)),
        ]
      : [];
  return el(
    'section',
    { id: 'call', class: 'card', 'data-state': call.state, 'data-remote': call.remote ? 'yes' : 'no' },
    el('h2', {}, t.title),
    ...(call.remote
      ? [
          call.farEndDisplay.kind === 'overlay'
            ? overlayHole(call.farEndDisplay.rectangle, t.overlay, c)
            : c.farEnd,
        ]
      : []),
    el(
      'p',
      { id: 'call-state' },
      call.state === 'in-call'
        ? call.remote
          ? t.withRemote(call.remote.display, call.server ?? '')
          : t.waitingRemote(call.server ?? '')
        : t.state[call.state],
    ),
    ...(r && call.remote
      ? [
          el(
            'p',
            { id: 'call-received', class: 'muted' },
            t.received(r.width, r.height, r.fps, r.audioSeconds > 0),
          ),
        ]
      : []),
    ...(quality ? [el('p', { id: 'call-quality', 'data-quality': quality }, t.quality[quality])] : []),
    ...(call.farEndDisplay.kind === 'kiosk' && call.farEndDisplay.overlayFailure
      ? [el('p', { id: 'call-display', class: 'muted' }, t.overlayFailed)]
      : []),
    ...(pictureNote
      ? [el('p', { id: 'call-picture', 'data-picture': call.picture ?? '' }, pictureNote)]
      : []),
    ...(call.lastError && call.state !== 'in-call' ? [el('small', { class: 'reason' }, call.lastError)] : []),
    el(
      'div',
      { class: 'actions' },
      ...controls,
      inCall
        ? button('call-end', t.end, 'DELETE', call.state !== 'leaving')
        : button('call-start', t.start, 'POST', true),
    ),
    ...(c.error ? [el('p', { class: 'error', role: 'alert', id: 'call-error' }, c.error)] : []),
  );
}

/**
 * Where the board's overlay plane shows the specialist (config call.farEndDisplay): the kiosk
 * leaves that part of the screen clear (transparent, so the plane under the kiosk shows through)
 * and draws no frames of its own. Placed through the CSSOM: the local API's CSP allows no inline
 * styles.
 */
function overlayHole(
  r: { x: number; y: number; width: number; height: number },
  label: string,
  c: Pick<DocumentCardContext, 'el'>,
): HTMLElement {
  const hole = c.el('div', { id: 'far-end-overlay', role: 'img', 'aria-label': label });
  Object.assign(hole.style, {
    left: `${r.x}px`,
    top: `${r.y}px`,
    width: `${r.width}px`,
    height: `${r.height}px`,
  });
  return hole;
}
