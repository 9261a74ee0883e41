// The portal pages: Messages (per Current Patient), a conversation's whole
// chain, Write Message, and Notifications (how the family is told a message
// is waiting). A content-free summary, polled, puts each child's unread
// count in the Current Patient control, the navigation and the title, and
// brings the open list or conversation up to date in place.

import { seg } from './api.js';
import { audienceChip, careTeamChoice, isPrivate } from './audience.js';
import { composeForm, firstPage, messageChain, messageItem, printButton, replyForm } from './conversation.js';
import { downloadControls } from './download.js';
import { birthDate, short } from './format.js';
import { notificationsView } from './notifications.js';
import {
  announce, boot, errorBox, go, h, keepFocus, loadList, loadPage, pager, Poller, replace, Router, setWho, showError, storedSession,
} from './ui.js';

const PATIENT_KEY = 'pp.portal.patient';
// The practice's name, phone and hours: public facts, kept for this tab so
// the signed-out and session-expired screens can name the practice too.
const PRACTICE_KEY = 'pp.portal.practice';
// Families need news within minutes, not seconds; each poll is audited.
const POLL_MS = 30_000;

let api;
let auth;
const state = {
  patients: [],
  current: null,   // the Current Patient
  news: {},        // patientId -> {unread, unreadMessages, stamp} from GET /portal/summary
  onNews: null,    // the open view's hook: (patientId) => bring it up to date
  practice: cachedPractice(),
  pools: null,
};

function cachedPractice() {
  try { return JSON.parse(sessionStorage.getItem(PRACTICE_KEY) || 'null'); } catch { return null; }
}

// Drawn before the first answer, so the header and the Current Patient
// bar do not push the page down when it comes.
drawPractice();
reservePatientBar();

boot({
  audience: 'portal',
  appName: 'Messages',
  intro: h('div', {},
    h('p', {}, 'Sign in to read messages from the office and write to the care team.'),
    emergencyNotice()),
  start,
});

/** phoneLink is the practice's number as a link a phone can call. */
function phoneLink(phone) {
  const digits = String(phone || '').replace(/[^0-9+]/g, '');
  return digits ? h('a', { href: `tel:${digits}`, class: 'tel' }, phone) : null;
}

function emergencyNotice() {
  const p = state.practice;
  return h('div', { class: 'notice emergency', role: 'note' },
    h('p', {}, h('strong', {}, 'Not for emergencies. '),
      p ? `${p.name} reads messages during office hours (${p.officeHours}), and an answer may take a business day. `
        : 'Messages are read during office hours and may take a business day to answer. ',
      p?.phone ? ['For a question that cannot wait, call ', phoneLink(p.phone), '. '] : null,
      'If your child needs urgent care, call 911 or go to the nearest emergency room.'));
}

/** reservePatientBar keeps the Current Patient bar's place while the
 * patients load, in a tab that holds a session. */
function reservePatientBar() {
  if (!storedSession('portal')) return;
  const line = document.getElementById('practice');
  if (line && !state.practice) { line.hidden = false; line.classList.add('pending'); }
  const bar = document.getElementById('patient-bar');
  if (!bar || location.hash.startsWith('#/notifications')) return;
  bar.hidden = false;
  bar.classList.add('pending');
}

/** drawPractice names the practice in the header: name, phone, hours. */
function drawPractice() {
  const p = state.practice;
  const el = document.getElementById('practice');
  if (!el || !p) return;
  replace(el, h('span', { class: 'name' }, p.name),
    p.phone ? h('span', {}, 'Phone ', phoneLink(p.phone)) : null,
    p.officeHours ? h('span', {}, `Office hours ${p.officeHours}`) : null);
  el.hidden = false;
  el.classList.remove('pending');
}

async function start(ctx) {
  api = ctx.api;
  auth = ctx.auth;
  // On the return from sign-in the session is new, so nothing was held at
  // load; held now, in the task that shows the navigation, the practice
  // line cannot push the navigation down under a first tap.
  reservePatientBar();
  setWho(auth.session()?.name || '');
  // The summary is news, not the page: without it the page still works.
  const loaded = await loadPage({ main: ctx.main, box: errorBox(), retry: () => location.reload() }, () => Promise.all([
    api.get('/portal/patients'),
    api.get('/portal/summary').catch(() => null),
  ]));
  if (!loaded) {
    document.getElementById('patient-bar').hidden = true;
    if (!state.practice) document.getElementById('practice').hidden = true;
    return;
  }
  const [list, summary] = loaded;
  state.patients = list.items || [];
  if (list.practice) {
    state.practice = list.practice;
    sessionStorage.setItem(PRACTICE_KEY, JSON.stringify(list.practice));
  }
  drawPractice();
  if (!state.practice) document.getElementById('practice').hidden = true;
  if (summary) applyNews(summary, { quiet: true });
  const notifications = notificationsView(() => api);
  if (!state.patients.length) {
    document.getElementById('patient-bar').hidden = true;
    // Nothing to read or write yet, but the account's own settings work.
    const p = state.practice;
    const none = () => replace(ctx.main, h('h1', {}, 'Messages'),
      h('div', { class: 'notice' }, h('p', {}, 'No patients are linked to your account yet. ',
        p ? ['Please call ', p.name, p.phone ? [' at ', phoneLink(p.phone)] : null, p.officeHours ? ` (${p.officeHours})` : null, ' to have your child added.']
          : 'Please call the office to have your child added.')),
      emergencyNotice());
    new Router(ctx.main, { messages: none, notifications }, 'messages').render();
    return;
  }
  // Right after signing in, the child with news comes first; a reload
  // keeps the child the parent chose.
  const saved = sessionStorage.getItem(PATIENT_KEY);
  const withNews = state.patients.find((p) => unreadOf(p.id) > 0);
  state.current = (ctx.signedIn && withNews) || state.patients.find((p) => p.id === saved) || withNews || state.patients[0];
  sessionStorage.setItem(PATIENT_KEY, state.current.id);
  drawPatientBar();
  new Poller(pollNews, { base: ctx.pollMs || POLL_MS }).start();

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
    bar.classList.remove('pending');
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
    const n = unreadOf(p.id);
    return h('option', { value: p.id, selected: p.id === state.current.id }, `${p.displayName}${n ? ` (${n} unread)` : ''}`);
  });
  const same = patientSelect.options.length === opts.length
    && opts.every((o, i) => patientSelect.options[i].textContent === o.textContent && patientSelect.options[i].value === o.value);
  if (!same) patientSelect.replaceChildren(...opts);
  patientSelect.value = state.current.id;
}

// ---- news ----------------------------------------------------------------------

/** unreadOf is how many of a child's conversations hold unread messages. */
const unreadOf = (pid) => state.news[pid]?.unread || 0;

/** pollNews reads the summary: counts and times, no content. */
async function pollNews() {
  applyNews(await api.get('/portal/summary'));
}

/** refreshNews reads the summary after the family's own message, so that
 * its own activity is not taken for news. */
function refreshNews() {
  api.get('/portal/summary').then((s) => applyNews(s, { quiet: true }), () => {});
}

/**
 * applyNews takes a summary: it redraws the counts and, unless quiet, says
 * when messages arrived and lets the open view catch up with each child
 * whose conversations changed (a message, or the office reading one).
 */
function applyNews(s, { quiet = false } = {}) {
  const changed = [];
  let arrived = 0;
  for (const n of s.patients || []) {
    const stamp = `${n.latestActivityAt || ''}|${n.latestReadAt || ''}`;
    const old = state.news[n.patientId];
    if (old && old.stamp !== stamp) changed.push(n.patientId);
    if (old) arrived += Math.max(0, n.unreadMessages - old.unreadMessages);
    state.news[n.patientId] = { unread: n.unread, unreadMessages: n.unreadMessages, stamp };
  }
  drawCounts();
  if (quiet) return;
  if (arrived) announce(arrived === 1 ? 'A new message from the office.' : `${arrived} new messages from the office.`);
  for (const pid of changed) state.onNews?.(pid);
}

/** readLocally counts a conversation the family just opened as read. */
function readLocally(pid, messages) {
  const n = state.news[pid];
  if (!n) return;
  n.unread = Math.max(0, n.unread - 1);
  n.unreadMessages = Math.max(0, n.unreadMessages - messages);
  drawCounts();
}

/** drawCounts puts the unread counts in the Current Patient control, the
 * Messages link and the page title. */
function drawCounts() {
  const total = state.patients.reduce((sum, p) => sum + unreadOf(p.id), 0);
  if (patientSelect) drawPatientBar();
  const badge = document.getElementById('unread-badge');
  if (badge) {
    badge.hidden = total === 0;
    badge.replaceChildren(String(total), h('span', { class: 'visually-hidden' }, ` unread ${total === 1 ? 'conversation' : 'conversations'}`));
  }
  document.title = `${total ? `(${total}) ` : ''}Messages${state.practice ? ` · ${state.practice.name}` : ''}`;
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
    if (!live()) return false;
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

  // Both cards come with the first page, so the list arriving does not
  // push the download card down under a reader.
  const card = h('div', { class: 'card', hidden: true }, list, h('div', { class: 'list-foot' }, more.el));
  const copy = h('section', { class: 'card', 'aria-labelledby': 'copy-h', hidden: true },
    h('h2', { id: 'copy-h' }, 'Your copy'),
    h('p', {}, `Every message about ${p.displayName} you can read here: a page to read or print, or a FHIR file for other health apps.`),
    downloadControls(api, `/portal/patients/${seg(p.id)}`));
  replace(main,
    h('div', { class: 'page-head' },
      h('h1', { id: 'messages-h' }, `Messages about ${p.displayName}`),
      h('a', { class: 'btn', href: '#/write' }, 'Write Message')),
    box,
    card,
    copy);
  // News about this child redraws the first page where it is, keeping
  // the keyboard on the link it was on.
  state.onNews = (pid) => {
    if (!live() || pid !== p.id) return;
    // A list whose first load failed comes through loadList, so it shows
    // up (and its error goes) when news brings it; one on screen is
    // refreshed quietly, and stays if the refresh fails.
    if (card.hidden) loadList({ box, hide: [card, copy] }, () => load(true));
    else keepFocus(list, () => load(true)).catch(() => {});
  };
  await loadList({ box, hide: [card, copy] }, () => load(true));
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
        refreshNews();
        // The chain again, for the status line the office's pace gives
        // the new message ("Received by the nurse line · usually …").
        keepFocus(chain.el, async () => { const c = await chain.reload(); if (live() && c) conv = c; }).catch(() => {});
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
  const markRead = () => {
    const n = conv.unread;
    if (n > 0) api.post(`${path}/read`, {}).then(() => readLocally(pid, n), (e) => showError(box, e));
  };
  markRead();

  // A reply from the office, or the office reading the family's message,
  // is drawn in place; the reply being typed stays as it is.
  state.onNews = async (npid) => {
    if (!live() || npid !== pid) return;
    let fresh = null;
    await keepFocus(chain.el, async () => { fresh = await chain.reload(); }).catch(() => {});
    if (!fresh || !live()) return;
    conv = fresh;
    markRead();
  };
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
