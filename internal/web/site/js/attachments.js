// Attachments on the pages: the file picker of Write Message and replies
// (each file asks for an upload slot, is posted straight to S3 with a
// progress bar, then followed until the scanner and the processor have
// made it ready or blocked it), and the files of a message in the chain
// (a thumbnail for images, a download link for every file). File names come
// from other people's devices: always text, never markup.

import { seg } from './api.js';
import { append, h, id, replace } from './dom.js';

/** The limits the server enforces (internal/domain, internal/attach): the
 * page checks them first so nobody waits for an upload that will fail. */
export const MAX_FILES = 5;
export const MAX_BYTES = 10 << 20;
const TYPES = { 'image/jpeg': 'JPEG photo', 'image/png': 'PNG image', 'application/pdf': 'PDF' };
const ACCEPT = 'image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf';
const BY_EXT = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', pdf: 'application/pdf' };

/** How long a file may take to be scanned and made safe before the page
 * says so, and how often it asks. */
const CHECK_FOR_MS = 120000;
const CHECK_EVERY_MS = 1000;

/** size says a byte count as people read it. */
export function size(n, round = Math.round) {
  if (n >= 1 << 20) return `${(round(n / (1 << 20) * 10) / 10).toFixed(1).replace(/\.0$/, '')} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** typeOf is the file's declared type, or the one its extension names when
 * the device gave none; the server reads the real type from the content. */
function typeOf(file) {
  if (TYPES[file.type]) return file.type;
  const ext = (/\.([a-z0-9]+)$/i.exec(file.name || '') || [])[1];
  return (!file.type && ext && BY_EXT[ext.toLowerCase()]) || file.type || '';
}

/** refusal is why the page will not upload file, or '' when it will. */
function refusal(file, type) {
  if (!TYPES[type]) {
    return /hei[cf]/i.test(type || file.name)
      ? 'HEIC photos cannot be attached. On an iPhone, choose the photo from Photos (it is sent as JPEG), or take a screenshot of it.'
      : 'This kind of file cannot be attached. Attach a photo (JPEG or PNG) or a PDF.';
  }
  if (file.size > MAX_BYTES) {
    // Rounded up, so a file just over the limit never reads as the limit.
    return `This file is ${size(file.size, Math.ceil)}; a file can be at most ${size(MAX_BYTES)}. Send a smaller photo (a screenshot works) or split the document.`;
  }
  if (file.size === 0) return 'This file is empty. Choose it again.';
  return '';
}

/** s3Refusal turns S3's XML error into words; EntityTooLarge is S3's own
 * size limit, which a changed file or a lying device meets. */
function s3Refusal(xhr) {
  const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || '')?.[1] || '';
  if (code === 'EntityTooLarge') return `The file store refused this file: it is larger than ${size(MAX_BYTES)}. Send a smaller one.`;
  if (code === 'AccessDenied' && /expired/i.test(xhr.responseText)) return 'The upload took too long and its permission expired. Remove the file and attach it again.';
  if (xhr.status === 0) return 'The upload did not reach the file store. Check your internet connection, remove the file and attach it again.';
  return `The file store refused this file${code ? ` (${code})` : ''}. Remove it and attach it again.`;
}

/** post sends the file to S3 with the slot's form fields, the file last as
 * S3 requires, reporting progress(fraction). */
function post(slot, file, progress, onXhr) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(slot.fields || {})) form.append(k, v);
    form.append('file', file);
    const xhr = new XMLHttpRequest();
    onXhr(xhr);
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) progress(e.loaded / e.total); });
    xhr.addEventListener('load', () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(s3Refusal(xhr)))));
    xhr.addEventListener('error', () => reject(new Error(s3Refusal(xhr))));
    xhr.addEventListener('abort', () => reject(new Error('removed')));
    xhr.open('POST', slot.url);
    xhr.send(form);
  });
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/**
 * picker is the Attach files control of a form whose messages go under
 * path (a conversation's path for a reply, the patient's conversations for
 * Write Message). It returns { el, payload(), problem(), reset() }:
 * payload adds the ready files' IDs to a message; problem is why the form
 * should wait (files still uploading or being checked), or ''.
 */
export function picker(api, path) {
  const m = /^(.*\/patients\/[^/]+)\/conversations(?:\/([^/]+))?$/.exec(path);
  const base = m ? m[1] : path;
  const conversationId = m && m[2] ? decodeURIComponent(m[2]) : '';
  const inputId = id('files');
  const hintId = id('files-hint');
  const input = h('input', {
    type: 'file', id: inputId, class: 'file-input', multiple: true, accept: ACCEPT, 'aria-describedby': hintId,
  });
  const list = h('ul', { class: 'files', 'aria-label': 'Attached files' });
  const note = h('p', { class: 'files-note', role: 'status' });
  /** @type {{ file: File, id: string, state: string, xhr?: XMLHttpRequest, gone?: boolean, li: HTMLElement }[]} */
  let items = [];

  function draw() {
    list.hidden = items.length === 0;
    input.disabled = items.length >= MAX_FILES;
  }

  function remove(item) {
    item.gone = true;
    item.xhr?.abort();
    items = items.filter((x) => x !== item);
    item.li.remove();
    note.textContent = `Removed ${item.file.name}.`;
    draw();
    input.focus();
  }

  async function upload(item, type, bar, status) {
    const say = (state, text) => {
      item.state = state;
      item.li.className = `file ${state}`;
      status.textContent = text;
    };
    try {
      const res = await api.post(`${base}/attachments`, { conversationId: conversationId || undefined, name: item.file.name, contentType: type, size: item.file.size });
      if (item.gone) return;
      item.id = res.attachment.id;
      say('uploading', 'Uploading…');
      // The percentage is the bar's; the status (read out) says the step.
      await post(res.upload, item.file, (f) => { bar.value = Math.round(f * 100); }, (xhr) => { item.xhr = xhr; });
      item.xhr = null;
      bar.value = 100;
      say('checking', 'Uploaded. Checking the file for viruses…');
      for (const until = Date.now() + CHECK_FOR_MS; Date.now() < until;) {
        await sleep(CHECK_EVERY_MS);
        if (item.gone) return;
        const a = (await api.get(`${base}/attachments/${seg(item.id)}`)).attachment;
        if (a.state === 'ready') { say('ready', 'Ready to send.'); return; }
        if (a.state === 'blocked') {
          say('blocked', `Blocked: ${a.problem || 'this file failed the safety check and will not be sent.'} Remove it.`);
          return;
        }
      }
      say('failed', 'Checking is taking too long. Remove the file and attach it again, or send without it.');
    } catch (err) {
      if (item.gone) return;
      bar.hidden = true;
      say('failed', err.message === 'removed' ? 'Removed.' : err.message);
    }
  }

  function add(file) {
    const type = typeOf(file);
    const why = refusal(file, type);
    // Read out as it changes: Uploading, Checking, Ready or Blocked.
    const status = h('span', { class: 'file-status', role: 'status' });
    const name = h('span', { class: 'file-name' }, file.name);
    const barLabel = `Upload of ${file.name}`;
    const bar = h('progress', { max: '100', value: '0', 'aria-label': barLabel });
    const item = { file, id: '', state: 'refused', li: null };
    const removeBtn = h('button', { class: 'btn secondary small', type: 'button', 'aria-label': `Remove ${file.name}`, onclick: () => remove(item) }, 'Remove');
    item.li = h('li', { class: 'file' }, h('span', { class: 'file-head' }, name, h('span', { class: 'file-size' }, ` (${size(file.size)})`)), bar, status, removeBtn);
    items.push(item);
    list.append(item.li);
    if (why) {
      bar.hidden = true;
      item.li.className = 'file refused';
      status.textContent = `Not attached: ${why}`;
      return;
    }
    item.state = 'starting';
    status.textContent = 'Starting…';
    upload(item, type, bar, status);
  }

  input.addEventListener('change', () => {
    const chosen = [...input.files];
    input.value = '';
    const room = MAX_FILES - items.length;
    chosen.slice(0, room).forEach(add);
    note.textContent = chosen.length > room
      ? `A message can carry ${MAX_FILES} files; ${chosen.length - room} not attached. Send these, then attach the rest to a reply.`
      : '';
    draw();
  });

  const el = h('div', { class: 'attach' },
    h('label', { for: inputId, class: 'attach-label' }, 'Attach photos or documents'),
    h('p', { class: 'hint', id: hintId }, `JPEG, PNG or PDF, up to ${size(MAX_BYTES)} each, at most ${MAX_FILES} files. On a phone you can take a photo.`),
    input, list, note);
  draw();
  return {
    el,
    payload: () => {
      const ids = items.filter((x) => x.state === 'ready').map((x) => x.id);
      return ids.length ? { attachmentIds: ids } : {};
    },
    problem: () => (items.some((x) => x.state === 'starting' || x.state === 'uploading' || x.state === 'checking')
      ? 'Wait until every file says Ready to send, or remove it.' : ''),
    reset: () => { items = []; replace(list); note.textContent = ''; draw(); },
  };
}

/** sendable says in box why a form must wait for its files (picker's
 * problem), and returns whether it may send now. */
export function sendable(box, attach) {
  const why = attach.problem();
  if (why) box.textContent = why;
  return !why;
}

/** links keeps the download links the page was given, each until shortly
 * before it expires (they live a minute), so a redraw does not ask again. */
const links = new Map();

async function link(api, path, ref, variant) {
  const key = `${ref.id} ${variant}`;
  const had = links.get(key);
  if (had && Date.parse(had.expiresAt) - Date.now() > 10000) return had;
  const res = await api.get(`${path}/attachments/${seg(ref.id)}`, variant ? { variant } : undefined);
  const got = { attachment: res.attachment, url: res.download?.url || '', expiresAt: res.download?.expiresAt || '' };
  if (got.url) links.set(key, got);
  return got;
}

/** open follows a download link: a PDF downloads (S3 answers it as an
 * attachment), an image opens in a new tab, and the portal stays open. */
function open(url) {
  // Not through h(), whose links are the app's own: this one is S3's.
  const a = document.createElement('a');
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

/** loaded are the thumbnails shown, by attachment ID. */
const loaded = new Map();

/** thumbs loads an image's thumbnail when it scrolls into view: links
 * last a minute, so none is asked for before it is shown. */
const thumbs = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      thumbs.unobserve(e.target);
      e.target.dispatchEvent(new Event('needed'));
    }
  })
  : null;

/**
 * files is the list of message m's files in the chain at path (the
 * conversation's), or null when it has none. Each is its name as text, its
 * size, a thumbnail for an image and a Download button that asks for a
 * fresh link when pressed. A file the server reports blocked says so and
 * offers no download.
 */
export function files(api, path, m) {
  const refs = m.attachments || [];
  if (!refs.length) return null;
  return h('ul', { class: 'msg-files', 'aria-label': 'Attached files' }, refs.map((ref) => {
    const status = h('span', { class: 'file-status', role: 'status' });
    const li = h('li', { class: 'msg-file' });
    const blocked = (a) => {
      li.classList.add('blocked');
      replace(status, `Blocked: ${a.problem || 'this file failed the safety check'}`);
      download.remove();
      thumb?.remove();
    };
    const download = h('button', {
      class: 'btn secondary small file-download', type: 'button', 'aria-label': `Download ${ref.name}`,
      onclick: async () => {
        download.disabled = true;
        status.textContent = '';
        try {
          const got = await link(api, path, ref, '');
          if (got.url) open(got.url);
          else if (got.attachment?.state === 'blocked') blocked(got.attachment);
          else status.textContent = 'This file is not available yet. Try again in a minute.';
        } catch (err) {
          status.textContent = err.message;
        } finally {
          download.disabled = false;
        }
      },
    }, 'Download');
    // A thumbnail already shown moves to the redrawn chain as it is, so
    // a redraw (a reply, the chain's refresh) asks for no link again.
    const kept = loaded.get(ref.id);
    const thumb = kept || (ref.thumbnail && ref.contentType.startsWith('image/')
      ? h('img', { class: 'thumb', alt: ref.name })
      : null);
    if (thumb && !kept) {
      const load = async () => {
        try {
          const got = await link(api, path, ref, 'thumbnail');
          if (got.url) thumb.src = got.url;
          else if (got.attachment?.state === 'blocked') blocked(got.attachment);
        } catch { /* the name and Download stay; no thumbnail is no loss */ }
      };
      thumb.addEventListener('needed', load, { once: true });
      thumb.addEventListener('load', () => loaded.set(ref.id, thumb), { once: true });
      // A link that expired before the image loaded: ask once for a fresh one.
      thumb.addEventListener('error', () => { links.delete(`${ref.id} thumbnail`); load(); }, { once: true });
      // Observed once it is in the document (the chain draws it next).
      setTimeout(() => (thumbs ? thumbs.observe(thumb) : load()), 0);
    }
    const kind = TYPES[ref.contentType] || 'File';
    return append(li, [thumb, h('span', { class: 'file-name' }, ref.name), h('span', { class: 'file-size' }, ` ${kind}, ${size(ref.size)}`), download, status]);
  }));
}
