// The portal pages: Messages (per Current Patient), a conversation's whole
// chain, Write Message, and Notifications (how the family is told a message
// is waiting).

import { seg } from './api.js';
import { audienceChip, careTeamChoice, isPrivate } from './audience.js';
import { composeForm, firstPage, messageChain, messageItem, printButton, replyForm } from './conversation.js';
import { downloadControls } from './download.js';
import { birthDate, short } from './format.js';
import { notificationsView } from './notifications.js';
import {
  announce, boot, errorBox, go, h, loadList, loadPage, pager, replace, Router, setWho, showError,
} from './ui.js';

const PATIENT_KEY = 'pp.portal.patient';

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
  const patients = await loadPage({ main: ctx.main, box: errorBox(), retry: () => location.reload() }, async () => (await api.get('/portal/patients')).items || []);
  if (!patients) return;
  state.patients = patients;
  const notifications = notificationsView(() => api);
  if (!state.patients.length) {
    // Nothing to read or write yet, but the account's own settings work.
    const none = () => replace(ctx.main, h('h1', {}, 'Messages'),
      h('div', { class: 'notice' }, h('p', {}, 'No patients are linked to your account yet. Please call the office to have your child added.')));
    new Router(ctx.main, { messages: none, notifications }, 'messages').render();
    return;
  }
  const saved = sessionStorage.getItem(PATIENT_KEY);
  state.current = state.patients.find((p) => p.id === saved) || state.patients[0];
  drawPatientBar();
  markUnreadSiblings();

  // The Current Patient selector is for the screens about one child; the
  // account's notification settings cover them all.
  const withBar = (show, view) => (route) => {
    document.getElementById('patient-bar').hidden = !show;
    return view(route);
  };
  new Router(ctx.main, {
    messages: withBar(true, messagesView),
    c: withBar(true, conversationView),
    write: withBar(true, writeView),
    notifications: withBar(false, notifications),
  }, 'messages').render();
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
          audienceChip(c, 'portal'),
          c.status === 'closed' ? h('span', { class: 'chip closed' }, 'Closed') : null),
        c.preview ? h('p', { class: 'preview' }, c.preview) : null,
        h('a', { class: 'more', href: `#/c/${seg(p.id)}/${seg(c.id)}`, 'aria-describedby': subjectId }, 'Details / Read More')));
  }

  const card = h('div', { class: 'card' }, list, h('div', { class: 'list-foot' }, more.el));
  replace(main,
    h('div', { class: 'page-head' },
      h('h1', { id: 'messages-h' }, `Messages about ${p.displayName}`),
      h('a', { class: 'btn', href: '#/write' }, 'Write Message')),
    box,
    card,
    h('section', { class: 'card', 'aria-labelledby': 'copy-h' },
      h('h2', { id: 'copy-h' }, 'Your copy'),
      h('p', {}, `Every message about ${p.displayName} you can read here: a page to read or print, or a FHIR file for other health apps.`),
      downloadControls(api, `/portal/patients/${seg(p.id)}`)));
  await loadList({ box, hide: [card] }, () => load(true));
}

// ---- conversation -------------------------------------------------------------

async function conversationView({ args: [pid, cid], live }) {
  const main = document.getElementById('main');
  // A link to another linked patient's conversation switches the selector.
  setCurrent(pid);
  const box = errorBox();
  const path = `/portal/patients/${seg(pid)}/conversations/${seg(cid)}`;
  const back = h('p', { class: 'back' }, h('a', { href: '#/messages' }, '← All messages'));
  const data = await loadPage({ main, box, live, before: [back] }, () => firstPage(api, path));
  if (!data) return;
  let conv = data.conversation;
  const selfId = auth.session()?.sub || '';

  const chain = messageChain({
    api,
    path,
    data,
    item: (m) => messageItem(m, { selfId }),
    onHeader: (c) => { conv = c; },
  });

  let reply;
  if (conv.status === 'closed') {
    reply = h('div', { class: 'notice' }, h('p', {},
      'The office has closed this conversation. To ask something new, ',
      h('a', { href: '#/write' }, 'write a new message'), '.'));
  } else {
    reply = replyForm({
      api,
      path,
      label: 'Your reply',
      hint: 'Not for emergencies: call 911.',
      // A reply refused as a conflict: the office closed it meanwhile.
      say: { conflict: 'The office closed this conversation, so the reply was not sent. Copy your words, then write a new message.' },
      sent: (res) => {
        if (res.conversation) conv = res.conversation;
        chain.add(res.message);
        chain.draw();
      },
    });
  }

  replace(main,
    back,
    h('div', { class: 'page-head' }, h('h1', {}, conv.subject), printButton()),
    h('p', { class: 'muted' }, `About ${conv.patient?.displayName || state.current.displayName} · To: ${conv.pool?.name || ''}`,
      conv.status === 'closed' ? ' · Closed' : '', isPrivate(conv) ? ' · Only you and your care team see this' : ''),
    box,
    chain.el, chain.more, reply);
  chain.draw();

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
  const pools = await loadPage({ main, box, live }, async () => {
    if (!state.pools) state.pools = (await api.get('/portal/pools')).items || [];
    return state.pools;
  });
  if (!pools) return;

  // The patient's own account, from the practice's age: "only my care
  // team sees this", for the pools the practice allows.
  const privatePools = p.confidentialPools || [];
  let choice = null;
  const form = composeForm({
    api,
    pid: p.id,
    path: `/portal/patients/${seg(p.id)}/conversations`,
    pools,
    box,
    poolLabel: 'To',
    poolPrompt: 'Choose who should read this',
    poolMissing: 'Choose who should read this message.',
    intro: h('p', {}, 'About ', h('strong', {}, p.displayName), `, born ${birthDate(p.dateOfBirth)}. `,
      h('span', { class: 'muted' }, 'To write about someone else, change Current patient above.')),
    actions: h('a', { class: 'btn secondary', href: '#/messages' }, 'Cancel'),
    tools: privatePools.length ? (_body, pool) => {
      choice = careTeamChoice({
        poolIds: privatePools,
        poolNames: pools.filter((x) => privatePools.includes(x.id)).map((x) => x.name),
        poolSelect: pool.select,
      });
      return choice.el;
    } : null,
    to: () => (choice ? choice.payload() : {}),
  });

  replace(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Write Message')),
    emergencyNotice(),
    form);
}
