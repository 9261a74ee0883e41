// Who may read a conversation, in both apps: the badge on a conversation
// only the patient and the care team see, the teen's "only my care team"
// choice in Write Message, and the staff control that moves a
// conversation between the family and the care team only.

import { h } from './dom.js';
import { busy, checkField, showError, textField, validate } from './ui.js';

/** isPrivate reports whether c is a conversation only the patient and the
 * care team see. */
export const isPrivate = (c) => c?.audience === 'confidential';

/** audienceChip marks such a conversation, in the words of whoever reads
 * it; null for the family's. */
export function audienceChip(c, side) {
  if (!isPrivate(c)) return null;
  return h('span', { class: 'chip private' }, side === 'staff' ? 'Confidential: patient and care team only' : 'Only you and your care team');
}

/** RELATIONS names a portal author's relationship to the patient. */
const RELATIONS = { self: 'Patient', parent: 'Parent', guardian: 'Guardian' };

/** authorRole is what a message says about its author: the relationship
 * for a family member (the patient themselves, or a parent), else the
 * staff role as fallback(role) words it. */
export function authorRole(author, fallback) {
  if (author?.side === 'portal' && RELATIONS[author.relationship]) return RELATIONS[author.relationship];
  return fallback(author?.role);
}

/**
 * careTeamChoice is the patient's own "only my care team sees this" choice
 * in Write Message, for the pools the practice allows (poolIds); it follows
 * the chosen pool in poolSelect. payload() is the audience to send.
 */
export function careTeamChoice({ poolIds, poolNames, poolSelect }) {
  const check = checkField({ label: 'Only my care team sees this' });
  const explain = h('p', { class: 'hint' },
    'Your parents or guardians will not see this conversation or be told about it. ',
    `Only the doctors, nurses and office staff who help you read it. You can choose this when writing to ${poolNames.join(' or ')}.`);
  const note = h('p', { class: 'hint small', 'aria-live': 'polite' });
  const follow = () => {
    const ok = poolIds.includes(poolSelect.value);
    check.input.disabled = !ok;
    if (!ok) check.input.checked = false;
    note.textContent = !poolSelect.value || ok ? '' : 'This recipient does not take conversations only the care team sees.';
  };
  poolSelect.addEventListener('change', follow);
  follow();
  return {
    el: h('div', { class: 'care-team-choice' }, check.el, explain, note),
    payload: () => (check.input.checked ? { audience: 'confidential' } : {}),
  };
}

/**
 * audienceControl lets staff move a conversation to the care team only
 * (with a reason the history keeps) or, for a doctor or nurse, share it
 * with the family again. move(body, done) sends the change; it is the
 * page's, which reloads what changed.
 */
export function audienceControl({ conv, role, box, move }) {
  const toPrivate = !isPrivate(conv);
  if (!toPrivate && role !== 'doctor' && role !== 'nurse') {
    return h('p', { class: 'hint small muted' }, 'Only a doctor or a nurse can share this conversation with the family.');
  }
  const reason = textField({ label: toPrivate ? 'Why only the care team' : 'Why share it with the family', max: 500, name: 'reason' });
  const button = h('button', { class: 'btn secondary', type: 'submit' }, toPrivate ? 'Make confidential' : 'Share with the family');
  const form = h('form', { class: 'audience-form', novalidate: true, 'aria-label': 'Who may read this conversation' },
    h('p', { class: 'hint small' }, toPrivate
      ? 'The family’s guardians will no longer see it; the patient and the care team keep it.'
      : 'The patient’s guardians will see the whole conversation.'),
    reason.el, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!validate(box, [reason])) return;
    busy(button, 'Saving…', () => move({ audience: toPrivate ? 'confidential' : 'family', reason: reason.value().trim() },
      toPrivate ? 'Only the patient and the care team see this conversation now.' : 'The family sees this conversation now.'))
      .catch((err) => showError(box, err));
  });
  return form;
}
