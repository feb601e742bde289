import type { ServerMessage, StatusResponse, StudyItem, VideoItem } from '../../../firmware/src/api/types.ts';
import { callCard } from './call-card.ts';
import { documentCard } from './document-card.ts';
import { type Lang, STRINGS } from './i18n.ts';
import { patientCard } from './patient-card.ts';

declare global {
  interface Window {
    /** Set by the Electron preload; in a plain browser the token comes in the URL fragment. */
    telemed?: { token: string };
  }
}

const token = window.telemed?.token ?? new URLSearchParams(location.hash.slice(1)).get('token');
let lang: Lang = (localStorage.getItem('telemed.lang') as Lang | null) ?? 'zh';
let status: StatusResponse | null = null;
let connected = false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    hour: '2-digit',
    minute: '2-digit',
  });
}

function studyDetail(s: StudyItem): Array<Node | string> {
  const t = STRINGS[lang];
  // Staff read what to do; the technical reason stays beside it, small, for the technician.
  if (s.display === 'attention')
    return [t.attention[s.reasonCode ?? 'unknown'], el('small', { class: 'reason' }, s.reason ?? '')];
  if (s.display === 'delivered') return [t.deliveredTo(s.deliveredTo.map((d) => `DC-${d}`).join(', '))];
  if (s.lastError) return [t.waitingRetry(s.lastError)];
  return [];
}

function videoRow(v: VideoItem): HTMLElement {
  const t = STRINGS[lang].videoState;
  let text: string;
  let ok = false;
  if (v.worker !== 'ready') text = t[v.worker];
  else if (v.encoderState === 'unknown') text = t.choosing;
  else if (v.encoderState === 'none' || !v.encoder) text = t.none;
  else {
    ok = true;
    text = t.ready(v.encoder, v.encoderKind === 'hardware');
  }
  return el(
    'div',
    {
      class: 'row video',
      id: 'video',
      'data-state': ok ? 'ready' : v.encoderState === 'none' ? 'none' : v.worker,
    },
    el('span', { class: `dot ${ok ? 'ok' : v.encoderState === 'none' ? 'bad' : 'idle'}` }),
    el('strong', {}, STRINGS[lang].video),
    el('span', {}, text),
    ...(ok && v.fallbackReason ? [el('small', { class: 'fallback' }, t.fallback)] : []),
  );
}

/**
 * An image kept across renders (status updates rebuild the page) showing frames fetched from the
 * local API with the token a few times a second while `on` (loopback only); cleared when off.
 */
function polledImage(img: HTMLImageElement, path: string): (on: boolean) => void {
  let timer: number | null = null;
  return (on) => {
    if (!on) {
      if (timer !== null) clearInterval(timer);
      timer = null;
      img.removeAttribute('src');
      return;
    }
    if (timer !== null) return;
    timer = window.setInterval(async () => {
      const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
      if (!res?.ok) return;
      const old = img.getAttribute('src');
      img.setAttribute('src', URL.createObjectURL(await res.blob()));
      if (old) URL.revokeObjectURL(old);
    }, 200);
  };
}

/** The camera's small preview, while it runs. */
const preview = el('img', { id: 'preview', width: '320', height: '180' });
const updatePreview = polledImage(preview, '/api/v1/video/preview.jpg');
let actionError = '';

let documentError = '';
/** Page previews fetched with the token, as object URLs, by page id (pages never change in place). */
const previews = new Map<string, string | null>();

function previewUrl(pageId: string, path: string): string | null {
  if (previews.has(pageId)) return previews.get(pageId) ?? null;
  previews.set(pageId, null);
  void fetch(path, { headers: { authorization: `Bearer ${token}` } })
    .then(async (res) => {
      if (!res.ok) return previews.delete(pageId);
      previews.set(pageId, URL.createObjectURL(await res.blob()));
      render();
    })
    .catch(() => previews.delete(pageId));
  return null;
}

function forgetPreviews(current: ReadonlySet<string>): void {
  for (const [id, url] of previews) {
    if (current.has(id)) continue;
    if (url) URL.revokeObjectURL(url);
    previews.delete(id);
  }
}

let patientError = '';
const entryDraft = { idNumber: '', name: '' };

/** A request to the local API; resolves with the error text ('' when it succeeded). */
async function apiRequest(method: string, path: string, body?: object): Promise<string> {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  }).catch((error: Error) => ({ ok: false, json: async () => ({ error: error.message }) }));
  return res.ok ? '' : (((await res.json()) as { error?: string }).error ?? '');
}

async function documentAction(method: string, path: string, body?: object): Promise<void> {
  documentError = await apiRequest(method, path, body);
  render();
}

async function patientAction(method: string, path: string, body?: object): Promise<void> {
  patientError = await apiRequest(method, path, body);
  if (!patientError && path === '/api/v1/patient') Object.assign(entryDraft, { idNumber: '', name: '' });
  render();
}

let callError = '';
async function callAction(method: string, path: string, body?: object): Promise<void> {
  callError = await apiRequest(method, path, body);
  render();
}

/** The specialist's picture, while it is received. */
const farEnd = el('img', { id: 'far-end', width: '640', height: '360', alt: '' });
const updateFarEnd = polledImage(farEnd, '/api/v1/call/far-end.jpg');

async function videoAction(path: string, body?: object): Promise<void> {
  const res = await fetch(path, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  }).catch((error: Error) => ({ ok: false, json: async () => ({ error: error.message }) }));
  actionError = res.ok ? '' : (((await res.json()) as { error?: string }).error ?? '');
  render();
}

function consultationCard(v: VideoItem): HTMLElement {
  const t = STRINGS[lang];
  const live = v.camera.state === 'live';
  updatePreview(live);
  const button = (id: string, label: string, path: string, enabled: boolean, body?: object) => {
    const b = el('button', { id, type: 'button', class: 'action' }, label);
    if (!enabled) b.setAttribute('disabled', '');
    b.addEventListener('click', () => void videoAction(path, body));
    return b;
  };
  const ready = v.encoderState === 'ready';
  // The other camera, where the terminal has a document camera: switched at once while both run.
  const other = v.camera.active === 'document' ? 'room' : 'document';
  const switchCamera = v.camera.documentCamera
    ? [
        button('camera-switch', t.videoActions.show[other], '/api/v1/video/camera', true, {
          camera: other,
        }),
      ]
    : [];
  const recording = v.recording.state;
  return el(
    'section',
    { id: 'consultation', class: 'card', 'data-camera': v.camera.state, 'data-recording': recording },
    el('h2', {}, t.consultation),
    preview,
    el(
      'p',
      { id: 'camera-state' },
      v.camera.state === 'live' ? t.camera.live(v.camera.name ?? '') : (t.camera[v.camera.state] as string),
      ' · ',
      recording === 'recording'
        ? t.recordingState.recording(v.recording.segments, v.recording.holds === 'call')
        : (t.recordingState[recording] as string),
    ),
    ...(live ? [el('p', { id: 'microphone' }, t.microphone(v.camera.microphone))] : []),
    ...(v.camera.lastError && !live ? [el('small', { class: 'reason' }, v.camera.lastError)] : []),
    ...(live && v.live.transport !== 'none' && v.live.state !== 'off'
      ? [
          el(
            'p',
            { id: 'live-state', 'data-state': v.live.state },
            v.live.state === 'live'
              ? t.liveState.live(v.live.bitrateKbps, v.live.resolution)
              : (t.liveState[v.live.state] as string),
          ),
        ]
      : []),
    el(
      'div',
      { class: 'actions' },
      live || v.camera.state === 'waiting'
        ? button('video-stop', t.videoActions.stop, '/api/v1/video/stop', true)
        : button(
            'video-start',
            t.videoActions.start,
            '/api/v1/video/start',
            ready && v.camera.state === 'off',
          ),
      recording === 'idle'
        ? button('record', t.videoActions.record, '/api/v1/recordings', ready)
        : button(
            'record-stop',
            t.videoActions.stopRecord,
            '/api/v1/recordings/stop',
            recording === 'recording',
          ),
      button('still', t.videoActions.still, '/api/v1/stills', live),
      ...switchCamera,
    ),
    ...(actionError
      ? [el('div', { class: 'banner error', role: 'alert', id: 'video-error' }, actionError)]
      : []),
  );
}

/**
 * The page is rebuilt on every status push. A push landing between a finger going down and coming
 * up would replace the button under it and the tap would be lost (seen in CI: a scan that never
 * started), so rebuilding waits while a pointer is down and runs once right after the click.
 */
let pointerDown = false;
let renderDeferred = false;
document.addEventListener(
  'pointerdown',
  () => {
    pointerDown = true;
  },
  true,
);
for (const type of ['pointerup', 'pointercancel'] as const)
  document.addEventListener(
    type,
    () => {
      pointerDown = false;
      if (renderDeferred) {
        renderDeferred = false;
        setTimeout(render, 0); // after the click this pointerup belongs to
      }
    },
    true,
  );

function render(): void {
  if (pointerDown) {
    renderDeferred = true;
    return;
  }
  // The page is rebuilt; the field staff are typing in keeps its focus and caret.
  const active = document.activeElement instanceof HTMLInputElement ? document.activeElement : null;
  const caret = active ? { id: active.id, at: active.selectionStart } : null;
  build();
  if (caret?.id) {
    const again = document.getElementById(caret.id);
    if (again instanceof HTMLInputElement) {
      again.focus();
      if (caret.at !== null) again.setSelectionRange(caret.at, caret.at);
    }
  }
}

function build(): void {
  const t = STRINGS[lang];
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t.title;
  const root = document.getElementById('app')!;
  root.replaceChildren();
  const toggle = el('button', { id: 'lang', type: 'button' }, t.language);
  toggle.addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('telemed.lang', lang);
    render();
  });
  root.append(
    el('header', {}, el('h1', {}, t.title), el('span', { class: 'device' }, status?.device.id ?? ''), toggle),
  );
  if (!token) {
    root.append(el('div', { class: 'banner error', role: 'alert' }, t.noToken));
    return;
  }
  if (!connected)
    root.append(el('div', { class: 'banner error', role: 'alert', id: 'disconnected' }, t.disconnected));
  if (!status) return;
  if (status.panel.power !== 'normal')
    root.append(el('div', { class: 'banner error', role: 'alert', id: 'power' }, t.powerBanner));

  const carts = el('section', { id: 'carts', class: 'card' }, el('h2', {}, t.carts));
  for (const cart of status.carts) {
    carts.append(
      el(
        'div',
        { class: `row cart cart-${cart.state}`, 'data-cart': cart.id, 'data-state': cart.state },
        el('span', {
          class: `dot ${cart.state === 'connected' || cart.state === 'receiving' ? 'ok' : 'bad'}`,
        }),
        el('strong', {}, cart.id),
        el('span', { class: 'cart-state' }, t.cartState[cart.state]),
      ),
    );
  }
  if (status.video) carts.append(videoRow(status.video));
  for (const usb of status.usbDevices) {
    carts.append(
      el(
        'div',
        {
          class: 'row usb',
          'data-usb': `${usb.vendorId}:${usb.productId}`,
          'data-present': String(usb.present),
        },
        el('span', { class: `dot ${usb.present ? 'ok' : 'bad'}` }),
        el('span', {}, `${usb.name}${usb.nodes.length ? ` (${usb.nodes.join(', ')})` : ''}`),
        el('span', { class: 'muted' }, usb.present ? t.usbPresent : t.usbGone(time(usb.lastSeen))),
      ),
    );
  }
  const dcs = el('section', { id: 'dcs', class: 'card' }, el('h2', {}, t.dataCentres));
  for (const dc of status.dataCentres) {
    dcs.append(
      el(
        'div',
        { class: `row dc dc-${dc.state}`, 'data-dc': dc.id, 'data-state': dc.state },
        el('span', { class: `dot ${dc.state === 'up' ? 'ok' : dc.state === 'down' ? 'bad' : 'idle'}` }),
        el('strong', {}, `DC-${dc.id} ${dc.name}${dc.home ? ` (${t.home})` : ''}`),
        el('span', { class: 'dc-state' }, t.dcState[dc.state]),
        dc.active ? el('span', { class: 'dc-active' }, t.dcActive) : '',
        el('span', { class: 'muted' }, t.deliveredCount(dc.delivered)),
      ),
    );
  }
  dcs.append(
    el(
      'div',
      { class: `row noc noc-${status.telemetry}`, id: 'noc', 'data-state': status.telemetry },
      el('span', {
        class: `dot ${status.telemetry === 'online' ? 'ok' : status.telemetry === 'offline' ? 'bad' : 'idle'}`,
      }),
      el('strong', {}, t.noc),
      el('span', {}, t.nocState[status.telemetry]),
    ),
  );
  const table = el(
    'table',
    { id: 'studies' },
    el(
      'thead',
      {},
      el('tr', {}, ...[t.time, t.patient, t.type, t.state, t.detail].map((h) => el('th', {}, h))),
    ),
  );
  const body = el('tbody');
  for (const s of status.studiesToday) {
    body.append(
      el(
        'tr',
        { 'data-instance': String(s.instanceId), 'data-display': s.display },
        el('td', {}, time(s.receivedAt)),
        el('td', {}, s.patientName ?? s.patientId ?? '—'),
        el(
          'td',
          {},
          s.kind === 'video'
            ? t.videoSegment(s.segment)
            : s.kind === 'still'
              ? t.still
              : s.kind === 'document'
                ? t.document
                : t.ecg,
        ),
        el('td', {}, el('span', { class: `badge ${s.display}` }, t.display[s.display])),
        el('td', { class: 'detail' }, ...studyDetail(s)),
      ),
    );
  }
  if (status.studiesToday.length === 0)
    body.append(el('tr', {}, el('td', { colspan: '5', class: 'muted' }, t.none)));
  table.append(body);
  const studies = el(
    'section',
    { class: 'card wide' },
    el('h2', {}, t.studiesToday),
    el('p', { id: 'queue' }, t.queue(status.queueDepth)),
    table,
  );
  const notices = el('section', { id: 'notices', class: 'card wide' }, el('h2', {}, t.notices));
  const recent = status.notices
    .filter((n) => n.level !== 'info')
    .slice(-5)
    .reverse();
  if (recent.length === 0) notices.append(el('p', { class: 'muted' }, t.noNotices));
  for (const n of recent) {
    notices.append(
      el(
        'div',
        { class: `notice ${n.level}`, 'data-code': n.code },
        el('span', {}, `${time(n.at)} ${t.notice[n.code] ?? n.code}`),
        el('small', {}, n.message),
      ),
    );
  }
  const consultation = status.video ? [consultationCard(status.video)] : [];
  // Frames are fetched only for the kiosk to draw: on the board's overlay they would be wasted work.
  updateFarEnd(
    status.call?.remote !== null &&
      status.call?.remote !== undefined &&
      status.call.farEndDisplay.kind === 'kiosk',
  );
  const call = status.call
    ? [
        callCard(status.call, {
          lang,
          el,
          act: (method, path, body) => void callAction(method, path, body),
          error: callError,
          farEnd,
          switchable: (status.video?.camera.available.length ?? 0) > 1,
        }),
      ]
    : [];
  const patient = patientCard(status, {
    lang,
    el,
    act: (method, path, body) => void patientAction(method, path, body),
    error: patientError,
    draft: entryDraft,
  });
  forgetPreviews(new Set(status.scanner.pages.map((page) => page.id)));
  const scanner = status.scanner.enabled
    ? [
        documentCard(status.scanner, {
          lang,
          el,
          act: (method, path, body) => void documentAction(method, path, body),
          error: documentError,
          previewUrl,
        }),
      ]
    : [];
  root.append(el('main', {}, patient, ...call, carts, dcs, ...consultation, ...scanner, studies, notices));
}

function connect(): void {
  if (!token) {
    render();
    return;
  }
  const socket = new WebSocket(`ws://${location.host}/api/v1/events?token=${encodeURIComponent(token)}`);
  socket.addEventListener('open', () => {
    connected = true;
  });
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as ServerMessage;
    if (message.type === 'status') {
      status = message.status;
      connected = true;
      render();
    }
  });
  socket.addEventListener('close', () => {
    connected = false;
    render();
    setTimeout(connect, 2000);
  });
}

render();
connect();
