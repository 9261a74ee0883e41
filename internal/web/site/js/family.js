// The patient's family with portal access on the staff patient view and,
// for practice admins, the controls that link and unlink them. The server
// decides who may change links (the admin role of the directory record);
// the page only leaves the controls out for everyone else.

import { seg } from './api.js';
import { announce, busy, errorBox, h, replace, selectField, showError } from './ui.js';

const RELATIONSHIPS = [
  { value: 'parent', label: 'Parent' },
  { value: 'guardian', label: 'Guardian' },
  { value: 'self', label: 'Self (the patient’s own login)' },
];

/**
 * familyCard lists the portal users linked to patient. With isAdmin it
 * also lets the user find a portal user by name or e-mail (a POST, so
 * nothing typed reaches a URL), link them with a relationship, and unlink
 * after a confirmation.
 */
export function familyCard({ api, patient, links, isAdmin, flag }) {
  const path = `/staff/patients/${seg(patient.id)}`;
  const headingId = 'family-h';
  const heading = h('h2', { id: headingId, tabindex: '-1' }, 'Family with portal access');
  const list = h('ul', { class: 'family', 'aria-labelledby': headingId });
  const empty = h('p', { class: 'muted' }, 'Nobody is linked to this patient yet.');
  const box = errorBox();
  let current = links || [];
  let found = null; // the last search's accounts, redrawn after each change

  function draw() {
    replace(list, current.map(linkRow));
    empty.hidden = current.length > 0;
    if (found) drawResults();
  }

  async function reload() {
    current = (await api.get(path)).links || [];
    draw();
  }

  function linkRow(l) {
    const li = h('li', { 'data-portal-user': l.portalUserId }, `${l.portalUserName} (${l.relationship})`, flag(l));
    if (!isAdmin) return li;
    const unlink = h('button', { class: 'btn-link', type: 'button' }, 'Unlink');
    unlink.setAttribute('aria-label', `Unlink ${l.portalUserName}`);
    unlink.addEventListener('click', () => confirmUnlink(li, l, unlink));
    li.append(' ', unlink);
    return li;
  }

  function confirmUnlink(li, l, unlink) {
    const yes = h('button', { class: 'btn small danger', type: 'button' }, 'Remove access');
    const no = h('button', { class: 'btn secondary small', type: 'button' }, 'Cancel');
    const ask = h('div', { class: 'notice warn confirm', role: 'group', 'aria-label': `Unlink ${l.portalUserName}?` },
      h('p', {}, `Remove ${l.portalUserName}’s portal access to ${patient.displayName}? `
        + 'From their next request they can no longer read or send messages about this patient.'),
      h('div', { class: 'actions' }, yes, no));
    unlink.hidden = true;
    li.append(ask);
    no.addEventListener('click', () => {
      ask.remove();
      unlink.hidden = false;
      unlink.focus();
    });
    yes.addEventListener('click', () => busy(yes, 'Removing…', async () => {
      box.textContent = '';
      try {
        await api.request('DELETE', `${path}/links/${seg(l.portalUserId)}`);
        await reload();
        heading.focus();
        announce(`${l.portalUserName} no longer has portal access to ${patient.displayName}.`);
      } catch (e) { showError(box, e); }
    }));
    yes.focus();
  }

  const card = h('section', { class: 'card', 'aria-labelledby': headingId }, heading, list, empty, box);
  draw();
  if (!isAdmin) return card;

  // ---- admins: find and link a portal user ----
  const inputId = 'portal-user-q';
  const input = h('input', { id: inputId, type: 'search', autocomplete: 'off', 'aria-describedby': 'portal-user-q-hint' });
  const find = h('button', { class: 'btn secondary', type: 'submit' }, 'Find portal user');
  const results = h('ul', { class: 'list results', id: 'portal-user-results', 'aria-label': 'Matching portal users' });
  const searchBox = errorBox();
  const form = h('form', { class: 'link-form', role: 'search', novalidate: true, 'aria-labelledby': 'link-h' },
    h('h3', { id: 'link-h' }, 'Link a family member'),
    h('div', { class: 'field' },
      h('label', { for: inputId }, 'Portal user’s name or e-mail'),
      h('p', { class: 'hint', id: 'portal-user-q-hint' }, 'For example “Rivera”, or the e-mail address their portal account uses.'),
      input),
    h('div', { class: 'actions' }, find));

  function drawResults() {
    replace(results, found.length ? found.map(resultRow) : h('li', { class: 'empty' }, 'No portal users match.'));
  }

  function resultRow(u) {
    const here = current.find((l) => l.portalUserId === u.id);
    const others = (u.links || []).filter((l) => l.patientId !== patient.id).length;
    const rel = selectField({ label: `Relationship of ${u.displayName}`, options: RELATIONSHIPS, value: here?.relationship || 'parent' });
    const link = h('button', { class: 'btn small', type: 'button' }, here ? 'Change relationship' : 'Link');
    link.setAttribute('aria-label', `${here ? 'Change relationship of' : 'Link'} ${u.displayName}`);
    const status = here ? `Linked to this patient as ${here.relationship}`
      : others ? `Linked to ${others} other ${others === 1 ? 'patient' : 'patients'}` : 'No linked patients';
    link.addEventListener('click', () => busy(link, 'Linking…', async () => {
      searchBox.textContent = '';
      const relationship = rel.select.value;
      try {
        await api.put(`${path}/links/${seg(u.id)}`, { relationship });
        await reload();
        // The row was drawn anew: keep the keyboard where it was.
        results.querySelector(`li[data-portal-user="${CSS.escape(u.id)}"] button`)?.focus();
        announce(`${u.displayName} linked to ${patient.displayName} as ${relationship}.`);
      } catch (e) { showError(searchBox, e); }
    }));
    return h('li', { class: 'result', 'data-portal-user': u.id },
      h('span', { class: 'name' }, u.displayName),
      h('span', { class: 'muted' }, u.maskedEmail || 'No e-mail on file'),
      u.active ? null : h('span', { class: 'flag warn' }, 'Account disabled'),
      h('span', { class: 'status' }, status),
      rel.el,
      h('span', { class: 'actions' }, link));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const query = input.value.trim();
    if (!query) { searchBox.textContent = 'Enter a name or an e-mail address.'; input.focus(); return; }
    searchBox.textContent = '';
    busy(find, 'Finding…', async () => {
      try {
        found = (await api.post('/staff/portal-users/search', { query })).items || [];
        drawResults();
        announce(`${found.length} matching portal ${found.length === 1 ? 'user' : 'users'}.`);
      } catch (err) { showError(searchBox, err); }
    });
  });
  card.append(form, searchBox, results);
  return card;
}
