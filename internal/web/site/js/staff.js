// The staff admin page: inbox, conversation, new conversation, patients.

import { seg } from './api.js';
import { composeForm, firstPage, messageChain, messageItem, replyForm } from './conversation.js';
import { familyCard } from './family.js';
import { birthDate, roleName, short, timeEl, when } from './format.js';
import {
  announce, attempt, boot, busy, checkField, errorBox, h, loadPage, pager, Poller,
  replace, Router, selectField, setWho, showError,
} from './ui.js';

const POLL_MS = 15_000;
const FILTER_KEY = 'pp.staff.filters';

let api;
const state = {
  me: null,
  pools: [],
  members: null,
  filters: { pool: '', status: 'open', unread: false, assigned: false },
  summary: null,     // the last GET /staff/inbox/summary
  baseline: null,    // latestActivityAt (ms) when the inbox list was last loaded
  newCount: 0,       // the badge's number; 0 hides it
  onSummary: null,   // set while the inbox is on screen
  reloadInbox: null, // set while the inbox is on screen
  lastSearch: null,  // {query, items}: kept in memory only, never in the URL
};

boot({
  audience: 'staff',
  appName: 'Staff messages',
  intro: h('p', {}, 'Sign in with your practice account to work the shared inbox.'),
  start,
});

async function start(ctx) {
  api = ctx.api;
  try {
    Object.assign(state.filters, JSON.parse(sessionStorage.getItem(FILTER_KEY) || '{}'));
  } catch { /* keep defaults */ }
  const routes = {
    inbox: inboxView,
    c: conversationView,
    new: newConversationView,
    patients: patientsView,
    patient: chartView,
  };
  // Unknown routes show the inbox too.
  const onInbox = () => {
    const first = location.hash.replace(/^#\/?/, '').split('/')[0];
    return !Object.hasOwn(routes, first) || first === 'inbox';
  };
  // The inbox reads a summary with its list. Elsewhere, the first summary
  // sets the baseline, so activity from before the page opened is not
  // "new"; it is asked for with the rest, not after.
  const loaded = await loadPage({ main: ctx.main, box: errorBox() }, () => Promise.all([
    api.get('/staff/me'),
    api.get('/staff/pools'),
    onInbox() ? null : api.get('/staff/inbox/summary').catch(() => null),
  ]));
  if (!loaded) return;
  const [me, pools, summary] = loaded;
  state.me = me;
  state.pools = pools.items || [];
  setWho(`${state.me.displayName} · ${roleName(state.me.role)}`);
  if (summary) applySummary(summary);

  const router = new Router(ctx.main, routes, 'inbox');
  // The Inbox link (and the badge in it) brings the list up to date even
  // when the inbox is already on screen, where the hash does not change.
  document.querySelector('#nav a[data-route="inbox"]').addEventListener('click', (e) => {
    if (state.reloadInbox && onInbox()) {
      e.preventDefault();
      state.reloadInbox();
    }
  });
  router.render();
  new Poller(pollSummary, { base: POLL_MS }).start();
}

// ---- inbox ----------------------------------------------------------------

function inboxQuery(f) {
  return {
    pool: f.pool,
    status: f.status === 'all' ? '' : f.status,
    unread: f.unread ? 'true' : '',
    assigned: f.assigned ? 'me' : '',
  };
}

const ms = (iso) => Date.parse(iso) || 0;

/** pollSummary reads the inbox's counts and newest activity: no message
 * content, so polling it is cheap and writes no audit record. The list
 * itself is fetched only when the user asks for it. */
async function pollSummary() {
  applySummary(await api.get('/staff/inbox/summary'));
}

const latestOf = (s) => ms(s?.latestActivityAt);

/** applySummary shows a summary: the badge when activity is newer than the
 * list on screen, and the counts when the inbox is showing. */
function applySummary(s) {
  state.summary = s;
  if (state.baseline === null) state.baseline = latestOf(s);
  const fresh = latestOf(s) > state.baseline;
  setNewCount(fresh ? s.unread || 0 : 0);
  state.onSummary?.(s, fresh);
}

/** ownActivity keeps the user's own message from counting as news: when
 * nothing newer was waiting, the baseline moves to the message's time. */
function ownActivity(iso) {
  if (state.baseline !== null && latestOf(state.summary) <= state.baseline) {
    state.baseline = Math.max(state.baseline, ms(iso));
  }
}

function setNewCount(n) {
  if (n > state.newCount) announce(`New messages: ${n} ${n === 1 ? 'conversation is' : 'conversations are'} unread.`);
  state.newCount = n;
  const badge = document.getElementById('new-badge');
  badge.hidden = n === 0;
  badge.replaceChildren(String(n), h('span', { class: 'visually-hidden' }, ' unread, new messages'));
  document.title = `${n ? `(${n}) ` : ''}Staff messages`;
}

function convItem(c, { showPatient = true } = {}) {
  const unread = c.unread > 0;
  return h('li', {},
    h('a', { class: `conv${unread ? ' unread' : ''}`, href: `#/c/${seg(c.patient.id)}/${seg(c.id)}` },
      h('div', { class: 'top' },
        showPatient ? h('span', { class: 'patient' }, c.patient.displayName) : null,
        h('span', { class: 'subject' }, c.subject),
        h('time', { class: 'time', datetime: c.lastActivityAt }, short(c.lastActivityAt))),
      c.preview ? h('p', { class: 'preview' }, c.preview) : null,
      h('div', { class: 'meta' },
        unread ? h('span', { class: 'badge' }, `${c.unread} unread`) : null,
        h('span', { class: 'chip' }, c.pool?.name || ''),
        h('span', { class: `chip ${c.status}` }, c.status === 'closed' ? 'Closed' : 'Open'),
        h('span', {}, c.assignee ? `Assigned to ${c.assignee.name}` : 'Unassigned'),
        h('span', {}, `${c.messageCount} ${c.messageCount === 1 ? 'message' : 'messages'}`))));
}

async function inboxView({ live }) {
  const main = document.getElementById('main');
  const f = state.filters;
  const box = errorBox();
  const headingId = 'inbox-h';
  const list = h('ul', { class: 'list', 'aria-labelledby': headingId });
  const counts = h('div', { class: 'counts', id: 'inbox-counts' });
  const banner = h('div', { class: 'notice new-banner', role: 'status', hidden: true });
  let items = 0;
  let cursor = null;

  const pool = selectField({
    label: 'Pool',
    value: f.pool,
    options: [{ value: '', label: 'All pools' }, ...state.pools.map((p) => ({ value: p.id, label: p.name }))],
  });
  const status = selectField({
    label: 'Status',
    value: f.status,
    options: [{ value: 'open', label: 'Open' }, { value: 'closed', label: 'Closed' }, { value: 'all', label: 'Open and closed' }],
  });
  const unread = checkField({ label: 'Unread only', checked: f.unread });
  const mine = checkField({ label: 'Assigned to me', checked: f.assigned });
  const refresh = h('button', { class: 'btn secondary', type: 'button' }, 'Refresh');

  const more = pager(() => load(false));

  /** renderCounts shows the summary's counts, which are of every open
   * conversation in the practice, not of the pages loaded so far. */
  function renderCounts(sum) {
    if (!sum) { counts.replaceChildren(); return; }
    const num = (key, value) => h('strong', { 'data-count': key }, String(value ?? 0));
    // Every pool the user can filter by, with zeros for those the summary
    // leaves out because nothing in them is open.
    const counted = new Map((sum.pools || []).map((p) => [p.id, p]));
    const pools = [
      ...state.pools.map((p) => ({ open: 0, unread: 0, ...counted.get(p.id), id: p.id, name: p.name })),
      ...(sum.pools || []).filter((p) => !state.pools.some((x) => x.id === p.id)),
    ];
    replace(counts,
      h('p', { class: 'count-line' },
        h('span', {}, num('open', sum.open), sum.open === 1 ? ' open conversation' : ' open conversations'),
        h('span', {}, num('unread', sum.unread), ' unread'),
        h('span', {}, num('assignedToMe', sum.assignedToMe), ' assigned to you')),
      pools.length ? h('ul', { class: 'pool-counts', 'aria-label': 'Open conversations by pool' },
        pools.map((p) => h('li', { 'data-pool': p.id },
          h('span', { class: 'pool-name' }, `${p.name || 'Pool'}:`), ' ',
          num('open', p.open), ' open, ', num('unread', p.unread), ' unread'))) : null);
  }

  function showBanner(fresh) {
    banner.hidden = !fresh;
    if (!fresh) return;
    replace(banner,
      h('p', {},
        h('strong', {}, 'New activity since this list was loaded. '),
        h('button', { class: 'btn small', type: 'button', onclick: reload }, 'Show it')));
  }

  let epoch = 0; // bumped by every fresh load, so a slower older answer is dropped
  async function load(reset) {
    if (reset) {
      epoch += 1;
      // The shown cursor belongs to the list being replaced: no Load more
      // until the fresh first page is in.
      more.button.hidden = true;
    }
    const mine = epoch;
    // A fresh list comes with a fresh summary, asked for at the same time,
    // whose newest activity is what this list shows.
    const [res, summary] = await Promise.all([
      api.get('/staff/inbox', { ...inboxQuery(f), limit: 20, cursor: reset ? '' : cursor }),
      reset ? api.get('/staff/inbox/summary').catch(() => null) : null,
    ]);
    if (!live() || mine !== epoch) return;
    const page = res.items || [];
    if (reset) {
      items = 0;
      list.replaceChildren();
      if (summary) {
        state.baseline = latestOf(summary);
        applySummary(summary);
      } else {
        // Without a summary, what is known now counts as seen.
        state.baseline = Math.max(state.baseline ?? 0, latestOf(state.summary), ...page.map((c) => ms(c.lastActivityAt)));
        setNewCount(0);
        showBanner(false);
      }
    }
    items += page.length;
    cursor = res.nextCursor || null;
    for (const c of page) list.append(convItem(c));
    if (!items) list.append(h('li', { class: 'empty' }, 'No conversations match these filters.'));
    more.button.hidden = !cursor;
  }

  async function reload() {
    await attempt(box, () => load(true));
  }

  function onFilter() {
    Object.assign(f, {
      pool: pool.select.value,
      status: status.select.value,
      unread: unread.input.checked,
      assigned: mine.input.checked,
    });
    sessionStorage.setItem(FILTER_KEY, JSON.stringify(f));
    reload();
  }
  for (const el of [pool.select, status.select, unread.input, mine.input]) el.addEventListener('change', onFilter);
  refresh.addEventListener('click', () => busy(refresh, 'Refreshing…', reload));

  state.onSummary = (s, fresh) => {
    if (!live()) { state.onSummary = null; return; }
    renderCounts(s);
    showBanner(fresh);
  };
  state.reloadInbox = () => {
    if (!live()) { state.reloadInbox = null; return; }
    busy(refresh, 'Refreshing…', reload);
  };

  replace(main,
    h('div', { class: 'page-head' }, h('h1', { id: headingId }, 'Inbox'), refresh),
    h('section', { class: 'card', 'aria-label': 'Filters' },
      h('div', { class: 'filters' }, pool.el, status.el, unread.el, mine.el),
      counts),
    box,
    banner,
    h('div', { class: 'card' }, list, h('div', { class: 'list-foot' }, more.el)));
  renderCounts(state.summary);
  await reload();
}

// ---- conversation ---------------------------------------------------------

async function members() {
  if (!state.members) state.members = (await api.get('/staff/members')).items || [];
  return state.members;
}

async function conversationView({ args: [pid, cid], live }) {
  const main = document.getElementById('main');
  const box = errorBox();
  const path = `/staff/patients/${seg(pid)}/conversations/${seg(cid)}`;
  const loaded = await loadPage({ main, box, live, before: [backLink()] }, () => Promise.all([
    firstPage(api, path),
    members(),
    getPatient(pid).catch(() => null),
  ]));
  if (!loaded) return;
  const [data, people, patient] = loaded;

  let conv = data.conversation;
  const family = patient?.links?.find((l) => l.portalUserId === conv.portalUserId);

  const head = h('div', { class: 'page-head' });
  const panel = h('aside', { class: 'card side-panel', 'aria-label': 'Conversation details' });
  const replyArea = h('div', {});

  function receipt(m) {
    if (m.author?.side !== 'staff') return null;
    const read = conv.portalReadAt && ms(conv.portalReadAt) >= ms(m.createdAt);
    return h('p', { class: `receipt${read ? ' read' : ''}` },
      read ? `Read by family · ${when(conv.portalReadAt)}` : 'Not yet read by family');
  }

  const chain = messageChain({
    api,
    path,
    data,
    item: (m) => messageItem(m, { selfId: state.me.id, extra: receipt(m) }),
    onHeader: (c) => { conv = c; },
  });

  function drawHead() {
    replace(head,
      h('h1', { class: 'conv-title' }, conv.subject),
      h('span', { class: `chip ${conv.status}` }, conv.status === 'closed' ? 'Closed' : 'Open'));
  }

  function drawPanel() {
    const assign = selectField({
      label: 'Assigned to',
      value: conv.assignee?.id || '',
      options: [{ value: '', label: 'Unassigned' },
        ...people.map((p) => ({ value: p.id, label: `${p.displayName} (${roleName(p.role)})` }))],
    });
    const panelBox = errorBox();
    const assignBtn = h('button', { class: 'btn secondary small', type: 'button' }, 'Assign');
    const meBtn = conv.assignee?.id === state.me.id ? null
      : h('button', { class: 'btn-link', type: 'button' }, 'Assign to me');
    const closed = conv.status === 'closed';
    const statusBtn = h('button', { class: 'btn secondary', type: 'button' }, closed ? 'Reopen conversation' : 'Close conversation');

    async function patch(button, label, body, done) {
      panelBox.textContent = '';
      await busy(button, label, async () => {
        try {
          conv = (await api.patch(path, body)).conversation;
          drawAll();
          announce(done);
        } catch (e) { showError(panelBox, e); }
      });
    }
    assignBtn.addEventListener('click', () => {
      const who = assign.select.value;
      patch(assignBtn, 'Saving…', { assigneeId: who }, who ? 'Assigned.' : 'Unassigned.');
    });
    meBtn?.addEventListener('click', () => patch(meBtn, 'Saving…', { assigneeId: state.me.id }, 'Assigned to you.'));
    statusBtn.addEventListener('click', () => patch(statusBtn, 'Saving…',
      { status: closed ? 'open' : 'closed' }, closed ? 'Conversation reopened.' : 'Conversation closed.'));

    replace(panel,
      h('h2', {}, 'Details'),
      h('dl', { class: 'conv-meta' },
        h('dt', {}, 'Patient'), h('dd', {}, h('a', { href: `#/patient/${seg(conv.patient.id)}` }, conv.patient.displayName)),
        h('dt', {}, 'Family'), h('dd', {}, family ? [`${family.portalUserName} (${family.relationship})`, unreachableFlag(family)] : '—'),
        h('dt', {}, 'Pool'), h('dd', {}, conv.pool?.name || ''),
        h('dt', {}, 'Started'), h('dd', {}, `${when(conv.createdAt)} by ${conv.startedBy?.name || ''}`),
        h('dt', {}, 'Last activity'), h('dd', {}, when(conv.lastActivityAt)),
        h('dt', {}, 'Family read'), h('dd', { id: 'family-read' }, conv.portalReadAt ? timeEl(conv.portalReadAt) : 'Not yet'),
        h('dt', {}, 'Messages'), h('dd', {}, String(conv.messageCount))),
      panelBox,
      h('div', { class: 'field' }, assign.el, h('div', { class: 'actions' }, assignBtn, meBtn)),
      h('div', { class: 'actions' }, statusBtn));
  }

  function drawReply() {
    if (conv.status === 'closed') {
      replace(replyArea, h('div', { class: 'notice' }, h('p', {}, 'This conversation is closed. Reopen it to reply.')));
      return;
    }
    replace(replyArea, replyForm({
      api,
      path,
      label: 'Reply',
      sent: async (res) => {
        ownActivity(res.message?.createdAt);
        // The reply's response may carry only the message; then read the
        // header again for the new counts and activity time.
        conv = res.conversation || (await api.get(path, { limit: 1 })).conversation;
        chain.add(res.message);
        drawAll();
      },
    }));
  }

  function drawAll() {
    drawHead();
    chain.draw();
    drawPanel();
    if (!replyArea.firstChild || (conv.status === 'closed') !== Boolean(replyArea.querySelector('.notice'))) drawReply();
  }

  replace(main,
    backLink(),
    head,
    box,
    h('div', { class: 'conv-layout' },
      h('section', { 'aria-label': 'Messages' }, chain.el, chain.more, replyArea),
      panel));
  drawAll();

  // Opening it is reading it, for the practice side. Not awaited: the
  // screen is ready and the user may already be typing.
  if (conv.unread > 0) {
    // Nothing on screen shows the practice's own read time, so there is
    // nothing to redraw (and no focus to disturb).
    api.post(`${path}/read`, {}).then((res) => {
      if (res?.conversation) conv = res.conversation;
    }, (e) => showError(box, e));
  }
}

/** unreachableFlag tells staff, in words, that e-mail to this portal user
 * bounced or was refused, so notices by e-mail have stopped; null when it
 * has not. */
function unreachableFlag(link) {
  if (!link?.emailUnreachable) return null;
  return [' ', h('span', { class: 'flag warn' }, "Family can't be reached by e-mail")];
}

function getPatient(pid) {
  return api.get(`/staff/patients/${seg(pid)}`);
}

function backLink() {
  return h('p', {}, h('a', { href: '#/inbox' }, '← Back to inbox'));
}

// ---- patient search, chart and new conversation ---------------------------

/** normalizeQuery accepts a US-style birth date and sends the API's form. */
function normalizeQuery(q) {
  const us = q.trim().match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})$/);
  if (us) return `${us[3]}-${us[1].padStart(2, '0')}-${us[2].padStart(2, '0')}`;
  return q.trim();
}

function searchForm({ live, actions }) {
  const inputId = 'patient-q';
  const input = h('input', { id: inputId, type: 'search', autocomplete: 'off', 'aria-describedby': 'patient-q-hint', value: state.lastSearch?.query || '' });
  const box = errorBox();
  const results = h('ul', { class: 'list results', 'aria-label': 'Matching patients' });
  const go = h('button', { class: 'btn', type: 'submit' }, 'Search');

  function draw(items) {
    replace(results, items.length ? items.map((p) => h('li', { class: 'result' },
      h('span', { class: 'name' }, p.displayName),
      h('span', { class: 'muted' }, `Born ${birthDate(p.dateOfBirth)}`),
      h('span', { class: 'actions' }, actions(p))))
      : h('li', { class: 'empty' }, 'No patients match.'));
  }

  const form = h('form', { class: 'card', role: 'search', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: inputId }, 'Patient name or date of birth'),
      h('p', { class: 'hint', id: 'patient-q-hint' }, 'For example “Rivera”, or a birth date as YYYY-MM-DD or MM/DD/YYYY.'),
      input),
    h('div', { class: 'actions' }, go));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const query = normalizeQuery(input.value);
    if (!query) { box.textContent = 'Enter a name or a date of birth.'; input.focus(); return; }
    box.textContent = '';
    busy(go, 'Searching…', async () => {
      try {
        const res = await api.post('/staff/patients/search', { query });
        if (!live()) return;
        state.lastSearch = { query: input.value, items: res.items || [] };
        draw(state.lastSearch.items);
        announce(`${state.lastSearch.items.length} matching patients.`);
      } catch (err) { showError(box, err); }
    });
  });
  if (state.lastSearch) draw(state.lastSearch.items);
  return h('div', {}, form, box, h('div', { class: 'card' }, results));
}

async function patientsView({ live }) {
  replace(document.getElementById('main'),
    h('div', { class: 'page-head' }, h('h1', {}, 'Patients')),
    searchForm({
      live,
      actions: (p) => [
        h('a', { class: 'btn secondary small', href: `#/patient/${seg(p.id)}` }, 'Chart history'),
        h('a', { class: 'btn small', href: `#/new/${seg(p.id)}` }, 'New conversation'),
      ],
    }));
}

async function chartView({ args: [pid], live }) {
  const main = document.getElementById('main');
  const box = errorBox();
  const patient = await loadPage({ main, box, live }, () => getPatient(pid));
  if (!patient) return;
  const p = patient.patient;
  const list = h('ul', { class: 'list', 'aria-label': 'Conversations, newest first' });
  const status = selectField({
    label: 'Show',
    value: 'all',
    options: [{ value: 'all', label: 'All conversations' }, { value: 'open', label: 'Open' }, { value: 'closed', label: 'Closed' }],
  });
  let cursor = null;
  const more = pager(() => load(false));

  let epoch = 0;
  async function load(reset) {
    if (reset) {
      epoch += 1;
      // The shown cursor belongs to the list being replaced: no Load more
      // until the fresh first page is in.
      more.button.hidden = true;
    }
    const mine = epoch;
    const q = { limit: 20, status: status.select.value === 'all' ? '' : status.select.value, cursor: reset ? '' : cursor };
    const res = await api.get(`/staff/patients/${seg(pid)}/conversations`, q);
    if (!live() || mine !== epoch) return;
    if (reset) list.replaceChildren();
    for (const c of res.items || []) list.append(convItem(c, { showPatient: false }));
    if (!list.firstChild) list.append(h('li', { class: 'empty' }, 'No conversations in this chart yet.'));
    cursor = res.nextCursor || null;
    more.button.hidden = !cursor;
  }
  status.select.addEventListener('change', () => attempt(box, () => load(true)));

  const links = patient.links || [];
  replace(main,
    h('p', {}, h('a', { href: '#/patients' }, '← Patients')),
    h('div', { class: 'page-head' },
      h('h1', {}, p.displayName),
      h('a', { class: 'btn', href: `#/new/${seg(p.id)}` }, 'New conversation')),
    h('div', { class: 'card' }, h('p', {}, `Born ${birthDate(p.dateOfBirth)}`)),
    // Admins (by their directory role, which the server checks again) also
    // get the controls that link and unlink family members.
    familyCard({ api, patient: p, links, isAdmin: state.me.role === 'admin', flag: unreachableFlag }),
    h('section', { class: 'card', 'aria-labelledby': 'chart-h' },
      h('div', { class: 'page-head chart-head' }, h('h2', { id: 'chart-h' }, 'Chart history'), status.el),
      box, list, h('div', { class: 'list-foot' }, more.el)));
  await attempt(box, () => load(true));
}

async function newConversationView({ args: [pid], live }) {
  const main = document.getElementById('main');
  if (!pid) {
    replace(main,
      h('div', { class: 'page-head' }, h('h1', {}, 'New conversation')),
      h('p', {}, 'First find the patient the conversation is about.'),
      searchForm({ live, actions: (p) => h('a', { class: 'btn small', href: `#/new/${seg(p.id)}` }, 'Choose') }));
    return;
  }
  const box = errorBox();
  const patient = await loadPage({ main, box, live }, () => getPatient(pid));
  if (!patient) return;
  const p = patient.patient;
  const links = patient.links || [];
  const head = [
    h('p', {}, h('a', { href: '#/new' }, '← Choose another patient')),
    h('div', { class: 'page-head' }, h('h1', {}, 'New conversation')),
    h('p', {}, 'About ', h('strong', {}, p.displayName), `, born ${birthDate(p.dateOfBirth)}.`),
  ];
  if (!links.length) {
    replace(main, ...head, h('div', { class: 'notice warn' },
      h('p', {}, 'No family member has portal access for this patient, so there is nobody to write to. An office admin can link a portal user.')));
    return;
  }

  const radios = links.map((l, i) => {
    const rid = `to-${i}`;
    return h('label', { for: rid },
      h('input', { type: 'radio', name: 'to', id: rid, value: l.portalUserId, checked: links.length === 1 }),
      `${l.portalUserName} (${l.relationship})`);
  });
  const form = composeForm({
    api,
    pid,
    path: `/staff/patients/${seg(pid)}/conversations`,
    pools: state.pools,
    box,
    poolLabel: 'Pool',
    poolPrompt: 'Choose the team for replies',
    poolMissing: 'Choose a pool.',
    intro: h('fieldset', {}, h('legend', {}, 'To'), h('div', { class: 'radio-list' }, radios)),
    to: (f) => {
      const portalUserId = f.querySelector('input[name="to"]:checked')?.value;
      if (portalUserId) return { portalUserId };
      box.textContent = 'Choose who to write to.';
      radios[0].querySelector('input').focus();
      return null;
    },
    sent: (res) => ownActivity(res.conversation?.lastActivityAt),
  });
  replace(main, ...head, form);
}
