// Staff quick-reply templates: a picker that resolves a template for the
// patient on the server and puts the text in the reply box to be edited
// (nothing is sent from here), and the "My templates" editor.

import { seg } from './api.js';
import {
  announce, attempt, busy, errorBox, h, replace, showError, textField,
} from './ui.js';

/** The variables a template body may use, as the server resolves them. */
export const VARIABLES = [
  ['childFirstName', "the patient's first name"],
  ['officeHours', "the practice's office hours"],
  ['nurseLine', "the practice's nurse line"],
  ['practiceName', "the practice's name"],
];

let cache = null; // the last GET /staff/templates, until an edit

function load(api) {
  if (!cache) cache = api.get('/staff/templates').then((r) => r.items || [], (e) => { cache = null; throw e; });
  return cache;
}

function forget() { cache = null; }

/**
 * templatePicker lets staff pick a practice, pool or personal template and
 * insert it, resolved for patient pid, into body (a textField). poolId
 * limits pool templates to that pool (a conversation's); pools names the
 * pools for the group labels; poolSelect, on the new-conversation form,
 * follows the pool chosen there.
 */
export function templatePicker({ api, pid, body, pools = [], poolId = '', poolSelect = null }) {
  const selId = `tpl-${Math.random().toString(36).slice(2)}`;
  const select = h('select', { id: selId, name: 'template', 'aria-describedby': `${selId}-hint` });
  const insert = h('button', { class: 'btn small secondary', type: 'button' }, 'Insert');
  const box = errorBox();
  const note = h('p', { class: 'hint', id: `${selId}-hint` }, 'Inserts the text for this patient; edit it before you send.');
  const poolName = (id) => pools.find((p) => p.id === id)?.name || id;
  let items = [];

  function draw() {
    const pool = poolSelect ? poolSelect.value : poolId;
    const groups = [
      ['Practice', items.filter((t) => t.scope === 'practice')],
      ...[...new Set(items.filter((t) => t.scope === 'pool' && (!pool || t.poolId === pool)).map((t) => t.poolId))]
        .map((id) => [`Pool: ${poolName(id)}`, items.filter((t) => t.scope === 'pool' && t.poolId === id)]),
      ['Mine', items.filter((t) => t.scope === 'mine')],
    ].filter(([, list]) => list.length);
    replace(select,
      h('option', { value: '' }, items.length ? 'Choose a template' : 'No templates yet'),
      groups.map(([label, list]) => h('optgroup', { label }, list.map((t) => h('option', { value: t.id }, t.title)))));
    insert.disabled = !items.length;
  }

  insert.addEventListener('click', () => {
    if (!select.value) {
      box.textContent = 'Choose a template first.';
      select.focus();
      return;
    }
    busy(insert, 'Inserting…', () => attempt(box, async () => {
      const res = await api.post(`/staff/patients/${seg(pid)}/templates/${seg(select.value)}/preview`, {});
      const ta = body.input;
      ta.value = ta.value.trim() ? `${ta.value.replace(/\s+$/, '')}\n\n${res.text}` : res.text;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      ta.focus();
      const missing = res.unresolved || [];
      note.textContent = missing.length
        ? `Inserted. Fill in ${missing.map((v) => `{${v}}`).join(', ')} before you send: the practice has no value for it.`
        : 'Inserted. Edit it before you send.';
      announce(note.textContent);
    }));
  });
  if (poolSelect) poolSelect.addEventListener('change', draw);

  draw();
  load(api).then((list) => { items = list; draw(); }, (e) => showError(box, e));
  return h('div', { class: 'field templates' },
    h('label', { for: selId }, 'Templates'),
    box,
    h('div', { class: 'actions' }, select, insert),
    note);
}

/** myTemplatesView is the "My templates" screen: the caller's own
 * templates, created, edited and deleted here. */
export async function myTemplatesView({ api, main }) {
  const box = errorBox();
  const list = h('ul', { class: 'template-list' });
  const title = textField({ label: 'Title', max: 80, name: 'title' });
  const body = textField({
    label: 'Text', max: 2000, multiline: true, rows: 6, name: 'body',
    hint: `Variables: ${VARIABLES.map(([v, what]) => `{${v}} (${what})`).join(', ')}.`,
  });
  const save = h('button', { class: 'btn', type: 'submit' }, 'Save template');
  const cancel = h('button', { class: 'btn secondary', type: 'button', hidden: true }, 'Cancel');
  const heading = h('h2', {}, 'New template');
  let editing = null;

  function reset() {
    editing = null;
    title.input.value = '';
    body.input.value = '';
    title.input.dispatchEvent(new Event('input'));
    body.input.dispatchEvent(new Event('input'));
    heading.textContent = 'New template';
    cancel.hidden = true;
  }

  async function refresh() {
    forget();
    const mine = (await load(api)).filter((t) => t.scope === 'mine');
    replace(list, mine.length ? mine.map((t) => h('li', { class: 'card' },
      h('h3', {}, t.title),
      h('p', { class: 'template-body' }, t.body),
      h('div', { class: 'actions' },
        h('button', {
          class: 'btn small secondary', type: 'button', 'aria-label': `Edit ${t.title}`,
          onclick: () => {
            editing = t;
            title.input.value = t.title;
            body.input.value = t.body;
            title.input.dispatchEvent(new Event('input'));
            body.input.dispatchEvent(new Event('input'));
            heading.textContent = `Edit "${t.title}"`;
            cancel.hidden = false;
            title.input.focus();
          },
        }, 'Edit'),
        h('button', {
          class: 'btn small secondary', type: 'button', 'aria-label': `Delete ${t.title}`,
          onclick: (e) => busy(e.currentTarget, 'Deleting…', () => attempt(box, async () => {
            await api.request('DELETE', `/staff/templates/${seg(t.id)}`);
            if (editing?.id === t.id) reset();
            announce(`Template ${t.title} deleted.`);
            await refresh();
          })),
        }, 'Delete')))) : h('li', {}, 'You have no templates of your own yet.'));
  }

  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Template' },
    heading, title.el, body.el, h('div', { class: 'actions' }, save, cancel));
  cancel.addEventListener('click', reset);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const problem = title.problem() || body.problem();
    if (problem) {
      box.textContent = problem;
      return;
    }
    busy(save, 'Saving…', () => attempt(box, async () => {
      const payload = { title: title.value().trim(), body: body.value() };
      if (editing) await api.put(`/staff/templates/${seg(editing.id)}`, payload);
      else await api.post('/staff/templates', payload);
      announce(editing ? 'Template saved.' : 'Template created.');
      reset();
      await refresh();
    }, { conflict: 'You already have the most templates you can keep. Delete one you no longer use, then save again.' }));
  });

  replace(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'My templates')),
    h('p', {}, 'Quick replies of your own. Practice and team templates come from the practice directory; pick any of them from a reply box.'),
    box, form, h('h2', {}, 'Yours'), list);
  await attempt(box, refresh);
}
