import type { StatusResponse } from '../../../firmware/src/api/types.ts';
import type { DocumentCardContext } from './document-card.ts';
import { type Lang, STRINGS } from './i18n.ts';

/**
 * The patient card: who the open study is for (masked ID number), the ID card readers and barcode
 * scanners, manual entry when no card or label is at hand, and "patient leaves" (closes the study).
 */
export function patientCard(
  status: StatusResponse,
  c: Omit<DocumentCardContext, 'previewUrl'> & {
    /** What staff typed so far: kept across renders (the page is rebuilt on every status push). */
    draft: { idNumber: string; name: string };
  },
): HTMLElement {
  const t = STRINGS[c.lang as Lang];
  const { el } = c;
  const card = el('section', { id: 'patient', class: 'card' }, el('h2', {}, t.patientCard));
  const p = status.study?.patient ?? status.patient;
  card.append(
    p
      ? el(
          'p',
          { id: 'patient-identity', 'data-verification': p.verification, 'data-source': p.source },
          el('strong', {}, p.name || t.nameUnknown),
          ` · ${t.sex[p.sex] ?? p.sex} · ${p.birthDate} · ${p.idNumberMasked} · ${t.verification[p.verification] ?? p.verification}`,
        )
      : el('p', { class: 'muted' }, t.noPatient),
  );
  for (const reader of status.idReaders) {
    card.append(
      el(
        'div',
        { class: 'row', 'data-reader': reader.id, 'data-state': reader.state },
        el('span', {
          class: `dot ${reader.state === 'connected' || reader.state === 'reading' ? 'ok' : 'bad'}`,
        }),
        el('span', {}, t.idReaderState[reader.state] ?? reader.state),
      ),
    );
  }
  for (const scanner of status.hidScanners) {
    card.append(
      el(
        'div',
        { class: 'row', 'data-hid-scanner': scanner.id, 'data-state': scanner.state },
        el('span', { class: `dot ${scanner.state === 'connected' ? 'ok' : 'bad'}` }),
        el('span', {}, t.hidScannerState[scanner.state] ?? scanner.state),
      ),
    );
  }
  const idInput = el('input', {
    id: 'entry-id',
    maxlength: '18',
    placeholder: t.entry.idNumber,
    autocomplete: 'off',
  });
  const nameInput = el('input', {
    id: 'entry-name',
    maxlength: '64',
    placeholder: t.entry.name,
    autocomplete: 'off',
  });
  const submit = el('button', { id: 'entry-submit', type: 'button', class: 'action' }, t.entry.submit);
  idInput.value = c.draft.idNumber;
  nameInput.value = c.draft.name;
  idInput.addEventListener('input', () => {
    c.draft.idNumber = idInput.value;
  });
  nameInput.addEventListener('input', () => {
    c.draft.name = nameInput.value;
  });
  submit.addEventListener('click', () =>
    c.act('POST', '/api/v1/patient', { idNumber: idInput.value.trim(), name: nameInput.value.trim() }),
  );
  const leave = el('button', { id: 'study-close', type: 'button', class: 'action' }, t.entry.close);
  if (!status.study) leave.setAttribute('disabled', '');
  leave.addEventListener('click', () => c.act('POST', '/api/v1/study/close'));
  card.append(el('div', { class: 'actions entry' }, idInput, nameInput, submit, leave));
  if (c.error) card.append(el('div', { class: 'banner error', role: 'alert', id: 'patient-error' }, c.error));
  return card;
}
