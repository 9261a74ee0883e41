// The staff admin page: inbox, conversation, new conversation, patients.

import { seg } from './api.js';
import { audienceChip, audienceControl, isPrivate } from './audience.js';
import { composeForm, firstPage, messageChain, messageItem, printButton, replyForm } from './conversation.js';
import { downloadControls } from './download.js';
import { familyCard } from './family.js';
import { at, birthDate, duration, roleName, short, timeEl, turnName, when } from './format.js';
import { myTemplatesView, templatePicker } from './templates.js';
import {
  announce, attempt, boot, busy, checkField, errorBox, h, keepFocus, loadList, loadPage, markField, pager, Poller,
  replace, Router, selectField, setWho, showError, textField, validate,
} from './ui.js';

const POLL_MS = 15_000;
const FILTER_KEY = 'pp.staff.filters';

let api;
const state = {
  me: null,
  pools: [],
  members: null,
  filters: { view: 'needs-reply', pool: '', status: 'open', unread: false, assigned: false },
  summary: null,     // the last GET /staff/inbox/summary
  baseline: null,    // latestActivityAt (ms) when the inbox list was last loaded
  newCount: 0,       // the badge's number; 0 hides it
  onSummary: null,   // set while the inbox is on screen
  onFamilyRead: null, // set while a conversation is on screen
  familyReadSeen: 0, // the newest family read (ms) the open conversation has caught up with
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
  state.filters.view = viewOf(state.filters.view).value;
  const routes = {
    inbox: inboxView,
    c: conversationView,
    new: newConversationView,
    patients: patientsView,
    patient: chartView,
    templates: () => myTemplatesView({ api, main: document.getElementById('main') }),
  };
  // Unknown routes show the inbox too.
  const onInbox = () => {
    const first = location.hash.replace(/^#\/?/, '').split('/')[0];
    return !Object.hasOwn(routes, first) || first === 'inbox';
  };
  // The inbox reads a summary with its list. Elsewhere, the first summary
  // sets the baseline, so activity from before the page opened is not
  // "new"; it is asked for with the rest, not after.
  const loaded = await loadPage({ main: ctx.main, box: errorBox(), retry: () => location.reload() }, () => Promise.all([
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
  new Poller(pollSummary, { base: ctx.pollMs || POLL_MS }).start();
}

// ---- inbox ----------------------------------------------------------------

/** The inbox's views: the three queues by whose turn it is, and All. The
 * queues come oldest wait first from the API, Done newest first. */
const VIEWS = [
  { value: 'needs-reply', label: 'Needs reply', order: 'Oldest wait first', empty: 'No conversations need a reply' },
  { value: 'waiting', label: 'Waiting on family', order: 'Oldest wait first', empty: 'No conversations are waiting on a family' },
  { value: 'done', label: 'Done', order: 'Most recently done first', empty: 'No conversations are done' },
  { value: 'all', label: 'All', order: 'Newest activity first', empty: 'No conversations' },
];
const viewOf = (v) => VIEWS.find((x) => x.value === v) || VIEWS[0];

function inboxQuery(f) {
  const all = f.view === 'all';
  return {
    view: f.view,
    pool: f.pool,
    assigned: f.assigned ? 'me' : '',
    // Status and unread narrow All only: the API refuses them with a queue.
    status: all && f.status !== 'all' ? f.status : '',
    unread: all && f.unread ? 'true' : '',
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
  const before = state.summary;
  state.summary = s;
  // Level, not edge: a refresh that failed is tried again on the next
  // summary, until the open conversation has caught up.
  if (before && ms(s.latestFamilyReadAt) > state.familyReadSeen) state.onFamilyRead?.(ms(s.latestFamilyReadAt));
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

/** overdueFlag says in words, not colour alone, that the practice's reply
 * is past the pool's response target; null when it is not. */
function overdueFlag(c) {
  if (!c.overdueAt) return null;
  return h('span', { class: 'flag overdue', title: `Past the response target since ${when(c.overdueAt)}` }, 'Overdue');
}

/** turnLine says whose turn it is and since when, e.g. "Needs reply ·
 * waiting since 9:05 AM (3 hours)"; closed conversations need nothing. */
function turnLine(c) {
  if (c.status === 'closed' || !c.awaiting) return null;
  const since = c.awaitingSince
    ? [timeEl(c.awaitingSince, short(c.awaitingSince)), ` (${duration(c.awaitingSince)})`]
    : [];
  if (c.awaiting === 'staff') {
    return h('span', { class: 'turn turn-staff' }, h('strong', {}, 'Needs reply'), since.length ? [' · waiting since ', ...since] : null);
  }
  if (c.awaiting === 'family') {
    return h('span', { class: 'turn turn-family' }, 'Waiting on family', since.length ? [' since ', ...since] : null);
  }
  return h('span', { class: 'turn turn-none' }, turnName(c.awaiting));
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
        overdueFlag(c),
        turnLine(c)),
      h('div', { class: 'meta' },
        unread ? h('span', { class: 'badge' }, `${c.unread} unread`) : null,
        h('span', { class: 'chip' }, c.pool?.name || ''),
        h('span', { class: `chip ${c.status}` }, c.status === 'closed' ? 'Closed' : 'Open'),
        audienceChip(c, 'staff'),
        h('span', {}, c.assignee ? `Assigned to ${c.assignee.name}` : 'Unassigned'),
        h('span', {}, `${c.messageCount} ${c.messageCount === 1 ? 'message' : 'messages'}`))));
}

/** viewSwitcher is the inbox's choice of view: radio buttons drawn as a
 * row of buttons, so arrow keys move between them as in any radio group. */
function viewSwitcher(value) {
  const el = h('fieldset', { class: 'views' },
    h('legend', { class: 'visually-hidden' }, 'Show'),
    VIEWS.map((v) => {
      const rid = `view-${v.value}`;
      return h('label', { for: rid },
        h('input', { type: 'radio', name: 'view', id: rid, value: v.value, checked: v.value === value }),
        h('span', {}, v.label));
    }));
  return { el, value: () => el.querySelector('input:checked')?.value || VIEWS[0].value };
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
  const views = viewSwitcher(f.view);
  const order = h('p', { class: 'list-order muted small', id: 'inbox-order' });
  // Status and Unread only narrow All; the queues are open conversations
  // by whose turn it is.
  const showAllFilters = () => {
    status.el.hidden = f.view !== 'all';
    unread.el.hidden = f.view !== 'all';
    order.textContent = viewOf(f.view).order;
  };
  showAllFilters();
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
    if (!live() || mine !== epoch) return false; // overtaken: its answer is not the list's
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
    if (!items) {
      const narrowed = f.pool || f.assigned || (f.view === 'all' && (f.status !== 'all' || f.unread));
      list.append(h('li', { class: 'empty' }, `${viewOf(f.view).empty}${narrowed ? ' with these filters' : ''}.`));
    }
    more.button.hidden = !cursor;
  }

  async function reload() {
    await loadList({ box, hide: [listCard] }, () => load(true));
  }

  function onFilter() {
    Object.assign(f, {
      view: views.value(),
      pool: pool.select.value,
      status: status.select.value,
      unread: unread.input.checked,
      assigned: mine.input.checked,
    });
    sessionStorage.setItem(FILTER_KEY, JSON.stringify(f));
    showAllFilters();
    reload();
  }
  for (const el of [views.el, pool.select, status.select, unread.input, mine.input]) el.addEventListener('change', onFilter);
  refresh.addEventListener('click', () => busy(refresh, 'Refreshing…', reload));

  // Shown with the first page and the counts above it, so their arrival
  // moves nothing on screen.
  const listCard = h('div', { class: 'card', hidden: true }, order, list, h('div', { class: 'list-foot' }, more.el));
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
      views.el,
      h('div', { class: 'filters' }, pool.el, mine.el, status.el, unread.el),
      counts),
    box,
    banner,
    listCard);
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
  const summaryBefore = state.summary; // read before the header below
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
  // A conflict or a change made meanwhile is said here, at the top of the
  // side column, and focused so that it is seen and read out.
  const notice = h('div', { class: 'notice warn change-notice', role: 'status', tabindex: '-1', hidden: true });
  const actionBox = errorBox();
  const details = h('div', {});
  const controls = h('div', {});
  const panel = h('aside', { class: 'card side-panel', 'aria-label': 'Conversation details' },
    h('h2', {}, 'Details'), details, actionBox, controls);
  const chainArea = h('div', {});
  const replyArea = h('div', {});

  function receipt(m) {
    if (m.author?.side !== 'staff' || m.automatic) return null;
    const read = conv.portalReadAt && ms(conv.portalReadAt) >= ms(m.createdAt);
    return h('p', { class: `receipt${read ? ' read' : ''}` },
      read ? `Read by family · ${when(conv.portalReadAt)}` : 'Not yet read by family');
  }

  // A family reading the conversation while it is open here: the summary's
  // newest family read moves, and the receipts are redrawn in place. Only
  // the read time is taken from the fresh header, so a change made here
  // still names the version this page shows. The header on screen
  // already shows every read the summary before it counted.
  state.familyReadSeen = ms(summaryBefore?.latestFamilyReadAt);
  let refreshing = false;
  const onFamilyRead = async (upTo) => {
    if (!live()) {
      if (state.onFamilyRead === onFamilyRead) state.onFamilyRead = null;
      return;
    }
    if (refreshing) return;
    refreshing = true;
    let refused = false;
    const d = await firstPage(api, path)
      .catch((e) => { refused = e?.status >= 400 && e.status < 500 && e.status !== 429; return null; })
      .finally(() => { refreshing = false; });
    // A refusal (the conversation moved out of reach, say) is not tried
    // again on every poll; a failure on the way is.
    if (refused) state.familyReadSeen = Math.max(state.familyReadSeen, upTo);
    if (!live() || !d) return;
    state.familyReadSeen = Math.max(state.familyReadSeen, upTo);
    const readAt = d.conversation?.portalReadAt;
    if (!readAt || readAt === conv.portalReadAt) return;
    conv.portalReadAt = readAt;
    await keepFocus(chainArea, () => chain.draw());
    const dd = document.getElementById('family-read');
    if (dd) replace(dd, timeEl(readAt));
    announce('The family has read this conversation.');
  };
  state.onFamilyRead = onFamilyRead;

  let chain;
  function useChain(d) {
    chain = messageChain({
      api,
      path,
      data: d,
      item: (m) => messageItem(m, { selfId: state.me.id, extra: receipt(m) }),
      onHeader: (c) => { conv = c; },
    });
    replace(chainArea, chain.el, chain.more);
  }
  useChain(data);

  // ---- changes, and what happens when someone else got there first ----

  function showNotice(...children) {
    replace(notice, ...children);
    notice.hidden = false;
    notice.focus();
  }
  function clearNotice() {
    notice.hidden = true;
    notice.replaceChildren();
  }

  /** refresh reads the conversation again: header and chain. */
  async function refresh() {
    const d = await firstPage(api, path);
    if (!live()) return;
    conv = d.conversation;
    useChain(d);
    drawAll();
    work.reload();
  }

  /**
   * change PATCHes the header. Every change but a claim names the version
   * this page shows, so the server refuses it when someone else changed
   * the conversation meanwhile; a claim ("Assign to me") is guarded by the
   * server's own check on who holds the conversation, which names them.
   */
  async function change(button, body, done, { claim = false } = {}) {
    clearNotice();
    actionBox.textContent = '';
    work.clearError();
    await busy(button, 'Saving…', async () => {
      try {
        const res = await api.patch(path, claim ? body : { ...body, version: conv.version });
        if (!live()) return;
        conv = res.conversation;
        drawAll();
        work.reload();
        announce(done);
      } catch (e) {
        if (!live()) return;
        if (e.status === 409 && e.problem?.assignee) await claimConflict(e.problem);
        else if (e.status === 409) await changedMeanwhile();
        else showError(button.closest('.work-panel') ? work.errorBox : actionBox, e);
      }
    });
  }

  /** moveAudience moves the conversation between the family and the care
   * team only; a change made meanwhile reloads it and says so. */
  async function moveAudience(body, done) {
    clearNotice();
    actionBox.textContent = '';
    try {
      const res = await api.post(`${path}/audience`, { ...body, version: conv.version });
      if (!live()) return;
      conv = res.conversation;
      drawAll();
      work.reload();
      announce(done);
    } catch (e) {
      if (!live()) return;
      if (e.status === 409 && !e.problem?.detail?.includes('messages')) await changedMeanwhile();
      else throw e;
    }
  }

  /** claimConflict says who took the conversation first and offers to
   * take it over. */
  async function claimConflict(problem) {
    const who = problem.assignee?.name || 'Someone else';
    const since = problem.assignedAt ? ` at ${at(problem.assignedAt)}` : '';
    // The header as it is now, so that Take over names its version.
    await attempt(actionBox, refresh);
    const takeOver = h('button', { class: 'btn small', type: 'button' }, 'Take over');
    const keep = h('button', { class: 'btn secondary small', type: 'button', onclick: clearNotice }, `Leave it with ${who}`);
    takeOver.addEventListener('click', () => change(takeOver, { assigneeId: state.me.id, takeOver: true }, 'You took over this conversation.'));
    showNotice(
      h('p', {}, h('strong', {}, `${who} took this conversation${since}.`)),
      h('p', {}, 'If you take it over, it is assigned to you instead.'),
      h('div', { class: 'actions' }, takeOver, keep));
  }

  /** changedMeanwhile reloads a conversation someone else changed since
   * the page loaded it and says what it shows now. */
  async function changedMeanwhile() {
    const before = conv;
    await attempt(actionBox, refresh);
    const now = differences(before, conv);
    showNotice(
      h('p', {}, h('strong', {}, 'Someone else changed this conversation while you had it open, so your change was not saved.')),
      h('p', {}, now.length ? `It now shows the latest: ${now.join('; ')}.` : 'It now shows the latest version.'),
      h('p', {}, 'Check it, and try again if your change is still needed.'));
  }

  // ---- drawing ----

  function drawHead() {
    replace(head,
      h('h1', { class: 'conv-title' }, conv.subject),
      h('span', { class: `chip ${conv.status}` }, conv.status === 'closed' ? 'Closed' : 'Open'),
      conv.status === 'open' && conv.awaiting ? h('span', { class: 'chip turn' }, turnName(conv.awaiting)) : null,
      audienceChip(conv, 'staff'),
      overdueFlag(conv),
      printButton());
  }

  function drawPanel() {
    const closed = conv.status === 'closed';
    replace(details, h('dl', { class: 'conv-meta' },
      h('dt', {}, 'Patient'), h('dd', {}, h('a', { href: `#/patient/${seg(conv.patient.id)}` }, conv.patient.displayName)),
      h('dt', {}, 'Family'), h('dd', {}, family ? [`${family.portalUserName} (${family.relationship})`, unreachableFlag(family)] : '—'),
      h('dt', {}, 'Who may read'), h('dd', { id: 'conv-audience' }, isPrivate(conv)
        ? 'The patient and the care team only (confidential)' : 'The family: every linked portal user'),
      h('dt', {}, 'Pool'), h('dd', { id: 'conv-pool' }, conv.pool?.name || ''),
      h('dt', {}, 'Turn'), h('dd', { id: 'conv-turn' }, closed ? 'Closed' : (turnLine(conv) || '—')),
      h('dt', {}, 'Assigned'), h('dd', { id: 'conv-assignee' }, conv.assignee
        ? [conv.assignee.name, conv.assignedAt ? h('span', { class: 'muted' }, ` since ${at(conv.assignedAt)}`) : null]
        : 'Nobody'),
      h('dt', {}, 'Started'), h('dd', {}, `${when(conv.createdAt)} by ${conv.startedBy?.name || ''}`),
      h('dt', {}, 'Last activity'), h('dd', {}, when(conv.lastActivityAt)),
      h('dt', {}, 'Family read'), h('dd', { id: 'family-read' }, conv.portalReadAt ? timeEl(conv.portalReadAt) : 'Not yet'),
      h('dt', {}, 'Messages'), h('dd', {}, String(conv.messageCount))));

    const assign = selectField({
      label: 'Assigned to',
      value: conv.assignee?.id || '',
      options: [{ value: '', label: 'Unassigned' },
        ...people.map((p) => ({ value: p.id, label: `${p.displayName} (${roleName(p.role)})` }))],
    });
    const assignBtn = h('button', { class: 'btn secondary small', type: 'button' }, 'Assign');
    const meBtn = conv.assignee?.id === state.me.id ? null
      : h('button', { class: 'btn-link', type: 'button' }, 'Assign to me');
    assignBtn.addEventListener('click', () => {
      const who = assign.select.value;
      if (who === state.me.id) change(assignBtn, { assigneeId: who }, 'Assigned to you.', { claim: true });
      else change(assignBtn, { assigneeId: who }, who ? 'Assigned.' : 'Unassigned.');
    });
    meBtn?.addEventListener('click', () => change(meBtn, { assigneeId: state.me.id }, 'Assigned to you.', { claim: true }));

    let turnBtn = null;
    if (!closed) {
      const none = conv.awaiting === 'staff';
      turnBtn = h('button', { class: 'btn secondary', type: 'button' }, none ? 'No reply needed' : 'Needs reply');
      turnBtn.addEventListener('click', () => change(turnBtn, { awaiting: none ? 'none' : 'staff' },
        none ? 'Marked as no reply needed: it is in Done.' : 'Marked as needing a reply.'));
    }
    const turnHint = closed ? null : h('p', { class: 'hint small muted' }, conv.awaiting === 'staff'
      ? 'No reply needed moves it to Done without writing to the family.'
      : 'Needs reply puts it back in Needs reply.');
    const statusBtn = h('button', { class: 'btn secondary', type: 'button' }, closed ? 'Reopen conversation' : 'Close conversation');
    statusBtn.addEventListener('click', () => change(statusBtn,
      { status: closed ? 'open' : 'closed' }, closed ? 'Conversation reopened.' : 'Conversation closed.'));

    replace(controls,
      h('div', { class: 'field' }, assign.el, h('div', { class: 'actions' }, assignBtn, meBtn)),
      turnBtn ? h('div', { class: 'field' }, h('div', { class: 'actions' }, turnBtn), turnHint) : null,
      h('div', { class: 'actions' }, statusBtn),
      audienceControl({ conv, role: state.me.role, box: actionBox, move: moveAudience }));
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
      say: { conflict: 'This conversation was closed meanwhile, so the reply was not sent. Reload the page and reopen it to reply.' },
      tools: (body) => templatePicker({ api, pid, body, pools: state.pools, poolId: conv.pool?.id }),
      sent: async (res) => {
        ownActivity(res.message?.createdAt);
        // The reply's response may carry only the message; then read the
        // header again for the new counts, turn and version.
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
    work.draw(conv);
    if (!replyArea.firstChild || (conv.status === 'closed') !== Boolean(replyArea.querySelector('.notice'))) drawReply();
  }

  const work = workPanel({ path, live, change, current: () => conv });

  replace(main,
    backLink(),
    head,
    box,
    h('div', { class: 'conv-layout' },
      h('section', { 'aria-label': 'Messages' }, chainArea, replyArea),
      h('div', { class: 'side-column' }, notice, panel, work.el)));
  drawAll();
  work.reload();

  // Opening it is reading it, for the practice side. Not awaited: the
  // screen is ready and the user may already be typing. Reading changes
  // neither the turn nor the version.
  if (conv.unread > 0) {
    // Nothing on screen shows the practice's own read time, so there is
    // nothing to redraw (and no focus to disturb).
    api.post(`${path}/read`, {}).then((res) => {
      if (res?.conversation) conv = res.conversation;
    }, (e) => showError(box, e));
  }
}

/** differences says in words what changed between two versions of a
 * conversation header, for the person whose change was refused. */
function differences(a, b) {
  const out = [];
  if (a.status !== b.status) out.push(b.status === 'closed' ? 'it is closed' : 'it is open again');
  if (a.pool?.id !== b.pool?.id) out.push(`it is now with ${b.pool?.name || 'another pool'}`);
  if ((a.assignee?.id || '') !== (b.assignee?.id || '')) out.push(b.assignee ? `it is assigned to ${b.assignee.name}` : 'nobody is assigned');
  if (a.awaiting !== b.awaiting && b.status === 'open') out.push(`it is marked ${turnName(b.awaiting).toLowerCase()}`);
  const more = (b.messageCount || 0) - (a.messageCount || 0);
  if (more > 0) out.push(`${more} new ${more === 1 ? 'message' : 'messages'}`);
  return out;
}

// ---- internal notes and history (staff only) ------------------------------

const LOG_PAGE = 100;

/** entryWords tells one history entry in plain words. */
function entryWords(e) {
  const by = e.by?.name || 'Someone';
  switch (e.kind) {
    case 'created': return `${by} started the conversation`;
    case 'note': return `${by} added a note`;
    case 'assigned': return `${by} assigned it to ${e.assignee?.name || 'someone'}`;
    case 'unassigned': return `${by} unassigned it`;
    case 'claimed': return `${by} took this conversation`;
    case 'took_over': return `${by} took over${e.previous?.name ? ` from ${e.previous.name}` : ''}`;
    case 'rerouted': return `${by} rerouted to ${e.toPool?.name || 'another pool'}${e.fromPool?.name ? ` from ${e.fromPool.name}` : ''}${e.text ? `: ${e.text}` : ''}`;
    case 'closed': return `${by} closed the conversation`;
    case 'reopened': return `${by} reopened the conversation`;
    case 'no_reply_needed': return `${by} marked it as no reply needed`;
    case 'needs_reply': return `${by} marked it as needing a reply`;
    case 'overdue': return 'Overdue: no reply within the pool’s response target';
    case 'made_confidential': return `${by} made it confidential (patient and care team only)${e.text ? `: ${e.text}` : ''}`;
    case 'shared_with_family': return `${by} shared it with the family${e.text ? `: ${e.text}` : ''}`;
    default: return `${by}: ${String(e.kind || '').replaceAll('_', ' ')}`;
  }
}

function entryItem(e) {
  return h('li', { class: `entry ${e.kind}` },
    h('p', { class: 'what' }, entryWords(e), ' ', timeEl(e.at, short(e.at))),
    e.kind === 'note' ? h('p', { class: 'note-text' }, e.text) : null);
}

/**
 * workPanel is the conversation's staff-only side: moving it to another
 * pool (with a reason), internal notes, and the history of who did what.
 * None of it is ever sent to the family; the panel says so.
 */
function workPanel({ path, live, change, current }) {
  const headingId = 'work-h';
  const errBox = errorBox();
  const history = h('ol', { class: 'history', 'aria-label': 'History, oldest first' });
  const reroute = h('div', {});
  let cursor = null;
  let epoch = 0;
  const more = pager(() => load(false));

  async function load(reset) {
    if (reset) { epoch += 1; more.button.hidden = true; }
    const mine = epoch;
    const res = await api.get(`${path}/log`, { limit: LOG_PAGE, cursor: reset ? '' : cursor });
    if (!live() || mine !== epoch) return false; // overtaken: its answer is not the list's
    if (reset) history.replaceChildren();
    for (const e of res.items || []) history.append(entryItem(e));
    if (!history.firstChild) history.append(h('li', { class: 'empty' }, 'No notes or changes yet.'));
    cursor = res.nextCursor || null;
    more.button.hidden = !cursor;
  }

  // The note form is drawn once, so redrawing never loses what is typed.
  const note = textField({ label: 'Internal note', max: 5000, multiline: true, rows: 3, name: 'text', hint: 'For the care team only. The family never sees notes.' });
  const addNote = h('button', { class: 'btn secondary', type: 'submit' }, 'Add note');
  const noteForm = h('form', { class: 'note-form', novalidate: true, 'aria-label': 'Add an internal note' },
    note.el, h('div', { class: 'actions' }, addNote));
  noteForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!validate(errBox, [note])) return;
    busy(addNote, 'Saving…', async () => {
      try {
        await api.post(`${path}/notes`, { text: note.value() });
        note.reset();
        announce('Note added.');
        await load(true);
      } catch (err) {
        showError(errBox, err);
        markField(err, [note]);
      }
    });
  });

  // The reroute form keeps its field values across redraws too; only its
  // pool choices follow the conversation's pool.
  const pool = selectField({ label: 'Move to pool', name: 'poolId', missing: 'Choose the pool to move it to.', options: [] });
  const reason = textField({ label: 'Reason for moving', max: 500, name: 'reason', hint: 'Staff only. The family sees only the new pool’s name. Moving it unassigns it.' });
  const move = h('button', { class: 'btn secondary', type: 'submit' }, 'Move conversation');
  const rerouteForm = h('form', { class: 'reroute-form', novalidate: true, 'aria-label': 'Move to another pool' },
    pool.el, reason.el, h('div', { class: 'actions' }, move));
  rerouteForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!validate(errBox, [pool, reason])) return;
    const to = state.pools.find((p) => p.id === pool.select.value);
    change(move, { poolId: pool.select.value, reason: reason.value().trim() }, `Moved to ${to?.name || 'the pool'}.`)
      .then(() => { if (current().pool?.id === to?.id) { reason.reset(); pool.select.value = ''; } });
  });
  replace(reroute, rerouteForm);

  function draw(conv) {
    const chosen = pool.select.value;
    const others = state.pools.filter((p) => p.id !== conv.pool?.id);
    pool.select.replaceChildren(
      h('option', { value: '' }, 'Choose a pool'),
      ...others.map((p) => h('option', { value: p.id, selected: p.id === chosen }, p.name)));
  }

  const historyArea = h('div', {}, history, h('div', { class: 'list-foot' }, more.el));
  const el = h('section', { class: 'card work-panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, 'Internal notes and history'),
    h('p', { class: 'staff-only' }, 'Staff only — never shown to the family'),
    errBox,
    h('h3', {}, 'Move to another pool'),
    reroute,
    h('h3', {}, 'Notes'),
    noteForm,
    h('h3', {}, 'History'),
    historyArea);

  return {
    el,
    errorBox: errBox,
    draw,
    clearError() { errBox.textContent = ''; },
    reload() { loadList({ box: errBox, hide: [historyArea] }, () => load(true)); },
  };
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
  return h('p', { class: 'back' }, h('a', { href: '#/inbox' }, '← Back to inbox'));
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
    if (!live() || mine !== epoch) return false; // overtaken: its answer is not the list's
    if (reset) list.replaceChildren();
    for (const c of res.items || []) list.append(convItem(c, { showPatient: false }));
    if (!list.firstChild) list.append(h('li', { class: 'empty' }, 'No conversations in this chart yet.'));
    cursor = res.nextCursor || null;
    more.button.hidden = !cursor;
  }
  const listArea = h('div', {}, list, h('div', { class: 'list-foot' }, more.el));
  const reload = () => loadList({ box, hide: [listArea] }, () => load(true));
  status.select.addEventListener('change', reload);

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
    // What the links mean for confidentiality: a teen's account sharing a
    // guardian's e-mail address, say.
    (patient.warnings || []).length
      ? h('div', { class: 'notice warn', role: 'note' }, patient.warnings.map((w) => h('p', {}, w))) : null,
    h('section', { class: 'card', 'aria-labelledby': 'chart-h' },
      h('div', { class: 'page-head chart-head' }, h('h2', { id: 'chart-h' }, 'Chart history'), status.el),
      box, listArea,
      // Every conversation and message of the chart; the Worklog's notes
      // stay out (README, Download).
      downloadControls(api, `/staff/patients/${seg(p.id)}`)));
  await reload();
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
      `${l.portalUserName} (${l.relationship === 'self' ? 'the patient’s own account' : l.relationship})`);
  });
  // Writing to the patient's own account, staff may keep the conversation
  // from the guardians; the server holds it to the practice's age.
  const own = links.find((l) => l.relationship === 'self');
  const privateChoice = own ? checkField({ label: 'Confidential: only the patient and the care team see it' }) : null;
  const form = composeForm({
    api,
    pid,
    path: `/staff/patients/${seg(pid)}/conversations`,
    pools: state.pools,
    box,
    poolLabel: 'Pool',
    poolPrompt: 'Choose the team for replies',
    poolMissing: 'Choose a pool.',
    intro: h('div', {}, h('fieldset', {}, h('legend', {}, 'To'), h('div', { class: 'radio-list' }, radios)), privateChoice?.el),
    to: (f) => {
      const portalUserId = f.querySelector('input[name="to"]:checked')?.value;
      if (portalUserId && privateChoice?.input.checked) {
        if (portalUserId !== own.portalUserId) {
          box.textContent = `A confidential conversation goes to ${own.portalUserName}'s own account: choose it under To.`;
          return null;
        }
        return { portalUserId, audience: 'confidential' };
      }
      if (portalUserId) return { portalUserId };
      box.textContent = 'Choose who to write to.';
      radios[0].querySelector('input').focus();
      return null;
    },
    sent: (res) => ownActivity(res.conversation?.lastActivityAt),
    tools: (body, pool) => templatePicker({ api, pid, body, pools: state.pools, poolSelect: pool.select }),
  });
  replace(main, ...head, form);
}
