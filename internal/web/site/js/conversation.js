// Conversation pieces both apps share: a message, the chain of messages
// paged oldest first, the reply form under it, and the form that starts a
// new conversation.

import { seg } from './api.js';
import { authorRole } from './audience.js';
import { files as messageFiles, picker as filePicker, sendable } from './attachments.js';
import { keepDraft } from './drafts.js';
import { roleName, timeEl } from './format.js';
import {
  announce, createOnSubmit, errorBox, go, h, pager, replace, selectField, textField, validate,
} from './ui.js';

export const CHAIN_PAGE = 50; // messages per page of a conversation's chain

/** firstPage reads a conversation: its header and the first page of its
 * chain. */
export function firstPage(api, path) {
  return api.get(path, { limit: CHAIN_PAGE });
}

/** messageItem renders one message of a chain. An automatic message (the
 * office's after-hours acknowledgement) says so; a family's message with a
 * status (portal chains only) gets a line saying where it stands. */
export function messageItem(m, { selfId = '', extra = null } = {}) {
  const mine = selfId && m.author?.id === selfId;
  const side = m.author?.side === 'staff' ? 'staff' : 'portal';
  return h('li', { class: `msg ${side}${mine ? ' mine' : ''}${m.automatic ? ' automatic' : ''}`, id: m.id ? messageDomId(m.id) : null },
    h('header', {},
      h('span', { class: 'author' }, m.author?.name || 'Unknown', mine ? ' (you)' : ''),
      m.automatic ? h('span', { class: 'chip auto' }, 'Automatic reply') : h('span', { class: 'role' }, authorRole(m.author, roleName)),
      timeEl(m.createdAt)),
    h('p', { class: 'body' }, m.body),
    side === 'portal' ? statusLine(m.status) : null,
    extra);
}

/** messageDomId is the element ID of a message in a chain. */
export const messageDomId = (mid) => `msg-${mid}`;

/** sent is the IDs of the messages this page sent, so each keeps its
 * "Sent" mark through redraws and a new conversation opens on its first
 * message. */
const sentIds = new Set();
/** pendingFocus is the first message of a conversation just started here:
 * focus lands on it when its chain is drawn. */
let pendingFocus = '';

/** sentMark is the visible "Sent" on a message this page just sent. */
function sentMark() {
  return h('p', { class: 'sent-mark' }, h('span', { 'aria-hidden': 'true' }, '✓ '), 'Sent');
}

/** focusSent moves focus to the message mid, if it is on screen, so a
 * keyboard or screen-reader user lands on what they just sent. It returns
 * whether it could. */
export function focusSent(mid) {
  const el = mid && document.getElementById(messageDomId(mid));
  if (!el) return false;
  el.setAttribute('tabindex', '-1');
  el.focus();
  return true;
}

/** printButton prints the conversation; the print stylesheet leaves only
 * its heading and the chain on paper. */
export function printButton() {
  return h('button', { class: 'btn secondary small print-btn', type: 'button', onclick: () => window.print() }, 'Print');
}

/** statusLine is "✓ Seen by the office · Usually answered by Tuesday at
 * noon": the server's own plain words, as text; null without a status. */
export function statusLine(status) {
  if (!status?.text) return null;
  const state = /^[a-z]+$/.test(status.state || '') ? status.state : 'received';
  return h('p', { class: `msg-status ${state}` },
    h('span', { class: 'tick', 'aria-hidden': 'true' }, '✓ '),
    h('span', { class: 'state' }, status.text),
    status.expected ? [h('span', { class: 'sep' }, ' · '), h('span', { class: 'expected' }, status.expected)] : null);
}

/**
 * messageChain keeps a conversation's messages from data (firstPage's
 * answer) and draws each with item(m) into el, with a Load more button
 * (more) for the pages after. A later page that carries the header hands it
 * to onHeader.
 */
export function messageChain({ api, path, data, item, onHeader }) {
  const messages = [...(data.messages || [])];
  let cursor = data.nextCursor || null;
  const el = h('ol', { class: 'chain', 'aria-label': 'Messages, oldest first' });
  const more = pager(async () => {
    const res = await api.get(path, { limit: CHAIN_PAGE, cursor });
    // Only the first page carries the header; later pages keep the one we have.
    if (res.conversation) onHeader(res.conversation);
    messages.push(...(res.messages || []));
    cursor = res.nextCursor || null;
    draw();
  });
  function draw() {
    // A redraw (a reply arriving, a status changing) keeps the keyboard on
    // the message it was on.
    const focused = el.contains(document.activeElement) ? document.activeElement.closest('li.msg')?.id : '';
    replace(el, messages.map((m) => {
      const li = item(m);
      // attachments: the message's files, under its text.
      li.querySelector('.body')?.after(messageFiles(api, path, m) || '');
      if (sentIds.has(m.id)) li.append(sentMark());
      return li;
    }));
    const again = focused && document.getElementById(focused);
    if (again) { again.setAttribute('tabindex', '-1'); again.focus(); }
    more.button.hidden = !cursor;
    if (pendingFocus && focusSent(pendingFocus)) pendingFocus = '';
  }
  return {
    el,
    more: more.el,
    draw,
    /** add appends a message just sent, but only when the chain is
     * complete; otherwise the next page will bring it. */
    add(m) { if (m?.id) sentIds.add(m.id); if (!cursor) messages.push(m); },
    /** reload reads the chain again, as many pages as are on screen (and
     * what came since), and draws it in place: new messages and statuses.
     * It returns the fresh header. */
    async reload() {
      const want = messages.length;
      const first = await firstPage(api, path);
      const fresh = [...(first.messages || [])];
      let next = first.nextCursor || null;
      while (next && fresh.length < want) {
        const res = await api.get(path, { limit: CHAIN_PAGE, cursor: next });
        fresh.push(...(res.messages || []));
        next = res.nextCursor || null;
      }
      messages.splice(0, messages.length, ...fresh);
      cursor = next;
      draw();
      return first.conversation;
    },
  };
}

/** draftNote says a form holds words restored from an unsent draft. */
function draftNote(draft) {
  return draft.restored
    ? h('p', { class: 'draft-note status-ok', role: 'status' }, 'Your unsent draft was restored. It is kept in this tab until you send it or sign out.')
    : null;
}

/**
 * replyForm posts a reply to the conversation at path. sent(res) takes the
 * server's answer (and redraws); then the field is emptied and the reply
 * announced.
 */
export function replyForm({ api, path, label, hint = '', sent, tools = null, say = {} }) {
  const body = textField({ label, max: 5000, multiline: true, name: 'body', hint });
  const box = errorBox();
  const send = h('button', { class: 'btn', type: 'submit' }, 'Send reply');
  const attach = filePicker(api, path); // attachments
  // tools(body), when given, adds helpers above the text (staff templates).
  const draft = keepDraft(`reply:${path}`, [body]);
  const form = h('form', { class: 'card', 'aria-label': 'Reply', novalidate: true }, box, draftNote(draft), tools ? tools(body) : null, body.el, attach.el, h('div', { class: 'actions' }, send));
  createOnSubmit(form, {
    box,
    button: send,
    fields: [body],
    payload: () => (validate(box, [body]) && sendable(box, attach) ? { body: body.value(), ...attach.payload() } : null),
    create: (payload, key) => api.create(`${path}/messages`, payload, key),
    say,
    sent: async (res) => {
      draft.clear();
      form.querySelector('.draft-note')?.remove();
      await sent(res);
      body.reset();
      attach.reset();
      // Focus goes to the new message, marked Sent; when it is on a page
      // not loaded yet, the status says where it is.
      if (focusSent(res.message?.id)) {
        announce('Reply sent.');
      } else {
        box.replaceChildren();
        announce('Reply sent. It is at the end of the conversation: press Load more to see it.');
      }
    },
  });
  return form;
}

/**
 * composeForm starts a conversation about patient pid, posted to path: who
 * answers (a pool), a subject and the first message. intro goes between box
 * and the fields, actions after Send. to(form) may stop the send (returning
 * null, having said why in box) or add to the payload. Once sent, sent(res)
 * runs and the new conversation opens.
 */
export function composeForm({
  api, pid, path, pools, box, poolLabel, poolPrompt, poolMissing,
  intro = null, actions = null, to = () => ({}), sent = () => {}, tools = null,
}) {
  const pool = selectField({
    label: poolLabel,
    name: 'poolId',
    missing: poolMissing,
    options: [{ value: '', label: poolPrompt }, ...pools.map((x) => ({ value: x.id, label: x.name }))],
  });
  const subject = textField({ label: 'Subject', max: 200, name: 'subject' });
  const body = textField({ label: 'Message', max: 5000, multiline: true, rows: 8, name: 'body' });
  const send = h('button', { class: 'btn', type: 'submit' }, 'Send message');
  const draft = keepDraft(`new:${path}`, [pool, subject, body]);
  const attach = filePicker(api, path); // attachments
  const form = h('form', { class: 'card', novalidate: true },
    box,
    draftNote(draft),
    intro,
    pool.el, subject.el, tools ? tools(body, pool) : null, body.el, attach.el,
    h('div', { class: 'actions' }, send, actions));
  const fields = [pool, subject, body];
  createOnSubmit(form, {
    box,
    button: send,
    fields,
    payload: () => {
      const extra = to(form);
      if (!extra || !validate(box, fields) || !sendable(box, attach)) return null;
      return { ...extra, poolId: pool.select.value, subject: subject.value().trim(), body: body.value(), ...attach.payload() };
    },
    create: (payload, key) => api.create(path, payload, key),
    sent: (res) => {
      draft.clear();
      sent(res);
      // The conversation opens with focus on this first message, marked Sent.
      if (res.message?.id) { sentIds.add(res.message.id); pendingFocus = res.message.id; }
      announce('Message sent.');
      go(`#/c/${seg(pid)}/${seg(res.conversation.id)}`);
    },
  });
  return form;
}
