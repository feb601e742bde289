import type { ScannerItem } from '../../../firmware/src/api/types.ts';
import { type Lang, STRINGS } from './i18n.ts';

type El = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, string>,
  ...children: Array<Node | string>
) => HTMLElementTagNameMap[K];

export interface DocumentCardContext {
  lang: Lang;
  el: El;
  /** Sends a request to the local API and re-renders; the error (if any) is shown on the card. */
  act(method: string, path: string, body?: object): void;
  error: string;
  /** Page previews as object URLs, fetched once per page id (they need the bearer token). */
  previewUrl(pageId: string, path: string): string | null;
}

/**
 * The scanner card: the scanner's state, a scan's progress, and the draft document's pages with
 * their previews, re-scan, delete and move-up buttons, then save-and-send.
 */
export function documentCard(s: ScannerItem, c: DocumentCardContext): HTMLElement {
  const t = STRINGS[c.lang].scanner;
  const { el } = c;
  const busy = s.job !== 'idle';
  const button = (id: string, label: string, enabled: boolean, run: () => void) => {
    const b = el('button', { id, type: 'button', class: 'action' }, label);
    if (!enabled) b.setAttribute('disabled', '');
    b.addEventListener('click', run);
    return b;
  };
  const stateText =
    s.state === 'ready'
      ? t.state.ready(s.device ? `${s.device.vendor} ${s.device.model}` : '')
      : t.state[s.state];
  const job =
    s.job === 'scanning' && s.progress
      ? t.scanning(s.progress.page, Math.round(s.progress.fraction * 100))
      : s.job === 'cancelling'
        ? t.cancelling
        : s.job === 'sending'
          ? t.sending
          : t.pages(s.pages.length);
  const pages = el('ol', { id: 'scan-pages', class: 'pages' });
  s.pages.forEach((page, i) => {
    const src = c.previewUrl(page.id, page.preview);
    pages.append(
      el(
        'li',
        { 'data-page': page.id },
        src
          ? el('img', { src, alt: t.page(page.number), width: '120' })
          : el('span', {}, t.page(page.number)),
        el('span', {}, t.page(page.number)),
        button(`rescan-${i + 1}`, t.actions.rescan, !busy && s.state === 'ready', () =>
          c.act('POST', `/api/v1/document/pages/${encodeURIComponent(page.id)}/rescan`),
        ),
        button(`remove-${i + 1}`, t.actions.remove, !busy, () =>
          c.act('DELETE', `/api/v1/document/pages/${encodeURIComponent(page.id)}`),
        ),
        button(`earlier-${i + 1}`, t.actions.earlier, !busy && i > 0, () => {
          const order = s.pages.map((p) => p.id);
          [order[i - 1], order[i]] = [order[i] as string, order[i - 1] as string];
          c.act('PUT', '/api/v1/document/order', { order });
        }),
      ),
    );
  });
  return el(
    'section',
    { id: 'scanner', class: 'card', 'data-state': s.state, 'data-job': s.job },
    el('h2', {}, t.card),
    el(
      'div',
      { class: 'row' },
      el('span', { class: `dot ${s.state === 'ready' ? 'ok' : s.state === 'unknown' ? 'idle' : 'bad'}` }),
      el('span', { id: 'scanner-state' }, stateText),
    ),
    el('p', { id: 'scan-job' }, job),
    ...(s.job === 'scanning' && s.progress
      ? [el('progress', { max: '100', value: String(Math.round(s.progress.fraction * 100)) })]
      : []),
    pages,
    el(
      'div',
      { class: 'actions' },
      s.job === 'scanning'
        ? button('scan-cancel', t.actions.cancel, true, () => c.act('POST', '/api/v1/scans/cancel'))
        : button(
            'scan-feeder',
            s.feeder ? t.actions.feeder : t.actions.flatbed,
            !busy && s.state !== 'failed',
            () => c.act('POST', '/api/v1/scans', { source: s.feeder ? 'feeder' : 'flatbed' }),
          ),
      ...(s.feeder
        ? [
            button('scan-flatbed', t.actions.flatbed, !busy && s.state === 'ready', () =>
              c.act('POST', '/api/v1/scans', { source: 'flatbed' }),
            ),
          ]
        : []),
      button('document-send', t.actions.send, !busy && s.pages.length > 0, () =>
        c.act('POST', '/api/v1/document/send'),
      ),
      button('document-discard', t.actions.discard, !busy && s.pages.length > 0, () =>
        c.act('POST', '/api/v1/document/discard'),
      ),
    ),
    ...(s.lastError ? [el('small', { class: 'reason', id: 'scan-error' }, s.lastError)] : []),
    ...(c.error ? [el('div', { class: 'banner error', role: 'alert', id: 'document-error' }, c.error)] : []),
  );
}
