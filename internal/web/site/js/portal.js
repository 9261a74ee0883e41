// The portal pages: Messages (per Current Patient), a conversation's whole
// chain, and Write Message.

import { seg, Submission } from './api.js';
import { birthDate, short } from './format.js';
import {
  announce, boot, busy, errorBox, go, h, markField, messageItem, pager, replace, Router,
  selectField, setWho, showError, textField, validate,
} from './ui.js';

const PATIENT_KEY = 'pp.portal.patient';
const CHAIN_PAGE = 50; // messages per page of a conversation's chain

let api;
let auth;
const state = {
  patients: [],
  current: null,   // the Current Patient
  unreadOf: {},    // patientId -> true when its first page has unread conversations
  pools: null,
};

boot({
  audience: 'portal',
  appName: 'Messages',
  intro: h('div', {},
    h('p', {}, 'Sign in to read messages from the office and write to the care team.'),
    emergencyNotice()),
  start,
});

function emergencyNotice() {
  return h('div', { class: 'notice emergency', role: 'note' },
    h('p', {}, h('strong', {}, 'Not for emergencies. '),
      'Messages are read during office hours and may take a business day to answer. If your child needs urgent care, call 911 or go to the nearest emergency room.'));
}

async function start(ctx) {
  api = ctx.api;
  auth = ctx.auth;
  setWho(auth.session()?.name || '');
  const box = errorBox();
  try {
    state.patients = (await api.get('/portal/patients')).items || [];
  } catch (e) {
    replace(ctx.main, box);
    showError(box, e);
    return;
  }
  if (!state.patients.length) {
    replace(ctx.main, h('h1', {}, 'Messages'),
      h('div', { class: 'notice' }, h('p', {}, 'No patients are linked to your account yet. Please call the office to have your child added.')));
    return;
  }
  const saved = sessionStorage.getItem(PATIENT_KEY);
  state.current = state.patients.find((p) => p.id === saved) || state.patients[0];
  drawPatientBar();
  markUnreadSiblings();

  new Router(ctx.main, { messages: messagesView, c: conversationView, write: writeView }, 'messages').render();
}

// ---- Current Patient --------------------------------------------------------

function setCurrent(id) {
  const p = state.patients.find((x) => x.id === id);
  if (!p || p.id === state.current?.id) return false;
  state.current = p;
  sessionStorage.setItem(PATIENT_KEY, p.id);
  drawPatientBar();
  return true;
}

let patientSelect = null;

/** drawPatientBar builds the Current Patient selector once, then only
 * updates it, so a refresh never steals focus from someone using it. */
function drawPatientBar() {
  if (!patientSelect) {
    const bar = document.getElementById('patient-bar');
    bar.hidden = false;
    patientSelect = h('select', { id: 'current-patient' });
    patientSelect.addEventListener('change', () => {
      if (setCurrent(patientSelect.value)) {
        announce(`Now showing messages for ${state.current.displayName}.`);
        go('#/messages');
      }
    });
    replace(bar, h('div', { class: 'inner' }, h('label', { for: 'current-patient' }, 'Current patient'), patientSelect));
  }
  const opts = state.patients.map((p) => {
    const news = state.unreadOf[p.id] && p.id !== state.current.id;
    return h('option', { value: p.id, selected: p.id === state.current.id }, `${p.displayName}${news ? ' — new messages' : ''}`);
  });
  const same = patientSelect.options.length === opts.length
    && opts.every((o, i) => patientSelect.options[i].textContent === o.textContent && patientSelect.options[i].value === o.value);
  if (!same) patientSelect.replaceChildren(...opts);
  patientSelect.value = state.current.id;
}

/** markUnreadSiblings flags other linked patients with unread messages in
 * the selector, so a parent of two sees the sibling's news too. */
async function markUnreadSiblings() {
  const others = state.patients.filter((p) => p.id !== state.current.id);
  const results = await Promise.allSettled(others.map((p) => api.get(`/portal/patients/${seg(p.id)}/conversations`, { limit: 20 })));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') state.unreadOf[others[i].id] = (r.value.items || []).some((c) => c.unread > 0);
  });
  if (Object.values(state.unreadOf).some(Boolean)) drawPatientBar();
}

// ---- Messages -----------------------------------------------------------------

async function messagesView({ live }) {
  const main = document.getElementById('main');
  const p = state.current;
  const box = errorBox();
  const list = h('ul', { class: 'list', 'aria-labelledby': 'messages-h' });
  let cursor = null;
  const more = pager(() => load(false));

  async function load(reset) {
    const res = await api.get(`/portal/patients/${seg(p.id)}/conversations`, { limit: 20, cursor: reset ? '' : cursor });
    const items = res.items || [];
    if (reset) {
      // Kept even when the user has already switched patient, so the
      // selector still flags this one's news.
      const news = items.some((c) => c.unread > 0);
      const changed = Boolean(state.unreadOf[p.id]) !== news;
      state.unreadOf[p.id] = news;
      if (changed && p.id !== state.current.id) drawPatientBar();
    }
    if (!live()) return;
    if (reset) list.replaceChildren();
    for (const c of items) list.append(item(c));
    if (reset && !items.length) list.append(h('li', { class: 'empty' }, `No messages about ${p.displayName} yet.`));
    cursor = res.nextCursor || null;
    more.button.hidden = !cursor;
  }

  function item(c) {
    const unread = c.unread > 0;
    const subjectId = `subj-${c.id}`;
    return h('li', { class: 'portal-conv' },
      h('div', { class: `conv${unread ? ' unread' : ''}` },
        h('div', { class: 'top' },
          h('h2', { class: 'subject', id: subjectId }, c.subject),
          h('time', { class: 'time', datetime: c.lastActivityAt }, short(c.lastActivityAt))),
        h('div', { class: 'meta' },
          unread ? h('span', { class: 'badge new' }, `${c.unread} new`) : null,
          h('span', {}, `To: ${c.pool?.name || ''}`),
          c.status === 'closed' ? h('span', { class: 'chip closed' }, 'Closed') : null),
        c.preview ? h('p', { class: 'preview' }, c.preview) : null,
        h('a', { class: 'more', href: `#/c/${seg(p.id)}/${seg(c.id)}`, 'aria-describedby': subjectId }, 'Details / Read More')));
  }

  replace(main,
    h('div', { class: 'page-head' },
      h('h1', { id: 'messages-h' }, `Messages about ${p.displayName}`),
      h('a', { class: 'btn', href: '#/write' }, 'Write Message')),
    box,
    h('div', { class: 'card' }, list, h('div', { class: 'list-foot' }, more.el)));
  try { await load(true); } catch (e) { showError(box, e); }
}

// ---- conversation -------------------------------------------------------------

async function conversationView({ args: [pid, cid], live }) {
  const main = document.getElementById('main');
  // A link to another linked patient's conversation switches the selector.
  setCurrent(pid);
  const box = errorBox();
  const path = `/portal/patients/${seg(pid)}/conversations/${seg(cid)}`;
  const back = h('p', {}, h('a', { href: '#/messages' }, '← All messages'));
  let data;
  try {
    data = await api.get(path, { limit: CHAIN_PAGE });
  } catch (e) {
    if (!live()) return;
    replace(main, back, box);
    showError(box, e);
    return;
  }
  if (!live()) return;
  let conv = data.conversation;
  const messages = [...(data.messages || [])];
  let cursor = data.nextCursor || null;
  const selfId = auth.session()?.sub || '';

  const chain = h('ol', { class: 'chain', 'aria-label': 'Messages, oldest first' });
  const more = pager(async () => {
    const res = await api.get(path, { limit: CHAIN_PAGE, cursor });
    // Only the first page carries the header; later pages keep the one we have.
    conv = res.conversation || conv;
    messages.push(...(res.messages || []));
    cursor = res.nextCursor || null;
    drawChain();
  });
  function drawChain() {
    replace(chain, messages.map((m) => messageItem(m, { selfId })));
    more.button.hidden = !cursor;
  }

  let reply;
  if (conv.status === 'closed') {
    reply = h('div', { class: 'notice' }, h('p', {},
      'The office has closed this conversation. To ask something new, ',
      h('a', { href: '#/write' }, 'write a new message'), '.'));
  } else {
    const body = textField({ label: 'Your reply', max: 5000, multiline: true, name: 'body', hint: 'Not for emergencies: call 911.' });
    const formBox = errorBox();
    const send = h('button', { class: 'btn', type: 'submit' }, 'Send reply');
    const sub = new Submission();
    reply = h('form', { class: 'card', 'aria-label': 'Reply', novalidate: true }, formBox, body.el, h('div', { class: 'actions' }, send));
    reply.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!validate(formBox, [body])) return;
      const payload = { body: body.value() };
      busy(send, 'Sending…', async () => {
        try {
          const res = await api.create(`${path}/messages`, payload, sub.keyFor(payload));
          sub.done();
          if (res.conversation) conv = res.conversation;
          if (!cursor) messages.push(res.message);
          body.reset();
          drawChain();
          announce('Reply sent.');
        } catch (err) {
          showError(formBox, err);
          markField(err, [body]);
        }
      });
    });
  }

  replace(main,
    back,
    h('div', { class: 'page-head' }, h('h1', {}, conv.subject)),
    h('p', { class: 'muted' }, `About ${conv.patient?.displayName || state.current.displayName} · To: ${conv.pool?.name || ''}`,
      conv.status === 'closed' ? ' · Closed' : ''),
    box,
    chain, more.el, reply);
  drawChain();

  // Opening the chain is reading it: tell the office. Not awaited, so the
  // screen is ready at once.
  if (conv.unread > 0) {
    api.post(`${path}/read`, {}).then(() => { state.unreadOf[pid] = false; }, (e) => showError(box, e));
  }
}

// ---- Write Message ------------------------------------------------------------

async function writeView({ live }) {
  const main = document.getElementById('main');
  const p = state.current;
  const box = errorBox();
  try {
    if (!state.pools) state.pools = (await api.get('/portal/pools')).items || [];
  } catch (e) {
    if (!live()) return;
    replace(main, box);
    showError(box, e);
    return;
  }
  if (!live()) return;

  const pool = selectField({
    label: 'To',
    name: 'poolId',
    options: [{ value: '', label: 'Choose who should read this' }, ...state.pools.map((x) => ({ value: x.id, label: x.name }))],
  });
  const subject = textField({ label: 'Subject', max: 200, name: 'subject' });
  const body = textField({ label: 'Message', max: 5000, multiline: true, rows: 8, name: 'body' });
  const send = h('button', { class: 'btn', type: 'submit' }, 'Send message');
  const sub = new Submission();
  const form = h('form', { class: 'card', novalidate: true },
    box,
    h('p', {}, 'About ', h('strong', {}, p.displayName), `, born ${birthDate(p.dateOfBirth)}. `,
      h('span', { class: 'muted' }, 'To write about someone else, change Current patient above.')),
    pool.el, subject.el, body.el,
    h('div', { class: 'actions' }, send, h('a', { class: 'btn secondary', href: '#/messages' }, 'Cancel')));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!pool.select.value) { box.textContent = 'Choose who should read this message.'; pool.select.focus(); return; }
    if (!validate(box, [subject, body])) return;
    const payload = { poolId: pool.select.value, subject: subject.value().trim(), body: body.value() };
    busy(send, 'Sending…', async () => {
      try {
        const res = await api.create(`/portal/patients/${seg(p.id)}/conversations`, payload, sub.keyFor(payload));
        sub.done();
        announce('Message sent.');
        go(`#/c/${seg(p.id)}/${seg(res.conversation.id)}`);
      } catch (err) {
        showError(box, err);
        markField(err, [subject, body]);
        if (err.field === 'poolId') pool.select.focus();
      }
    });
  });

  replace(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Write Message')),
    emergencyNotice(),
    form);
}
