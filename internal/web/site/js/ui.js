// Pieces both apps share: start-up and sign-in screens, the session-expired
// prompt, page loading, form fields with counters, error boxes, submitting,
// routing, paging and polling.

import { h, replace, append, id, chars } from './dom.js';
import { Auth } from './auth.js';
import { Api, Submission } from './api.js';
import { clearDrafts, useDrafts } from './drafts.js';

async function loadConfig() {
  const res = await fetch('/config.json', { cache: 'no-store', credentials: 'omit' });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  return res.json();
}

const $ = (sel) => document.querySelector(sel);

/** announce reads a short status to screen readers. */
export function announce(text) {
  const live = $('#live');
  if (!live) return;
  live.textContent = '';
  // A fresh node after a tick makes repeated messages announce again.
  setTimeout(() => { live.textContent = text; }, 50);
}

/**
 * boot loads config.json, finishes a sign-in return if this is one, and
 * either shows the signed-out screen or calls start({api, auth, main,
 * signedIn, pollMs}); signedIn is true when this page load completed a
 * sign-in, and pollMs (0: the page's own pace) comes from config.json.
 */
export async function boot({ audience, appName, intro, start }) {
  const main = $('#main');
  $('.skip-link')?.addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
  // A tab that holds a session draws its signed-in frame (navigation, name,
  // Sign out) at once, before config.json and the API answer, so nothing
  // moves under the reader when they do; a session found invalid takes it
  // away again.
  const frame = signedInFrame(audience, true);
  // js/frame.js's first-paint classes hold the frame's place until the
  // script draws it: now for a stored session (the page's own module drew
  // its bars before this), after the sign-in completes for a return from
  // the issuer.
  const unframe = () => document.documentElement.classList.remove('frame', 'frame-bar');
  if (frame) unframe();

  let cfg;
  try {
    cfg = await loadConfig();
  } catch {
    unframe();
    replace(main, h('div', { class: 'alert', role: 'alert' }, 'This page could not load its settings. Reload the page to try again.'));
    return;
  }
  const auth = new Auth(audience, cfg[audience]);
  const api = new Api(cfg.apiBaseUrl, auth);

  let error = '';
  const hadSession = Boolean(auth.session());
  let signedIn = false;
  try {
    signedIn = (await auth.completeSignIn()) !== null;
  } catch (e) {
    error = e.message;
  }
  // A token that ran out while the tab was closed or asleep is renewed
  // silently when the refresh token still can.
  if (!(await auth.validToken())) {
    const expired = hadSession && !error;
    sessionStorage.removeItem(auth.sessionKey);
    if (frame) signedInFrame(audience, false);
    unframe();
    signedOutScreen(main, auth, { appName, intro, error, expired, signedOut: auth.justSignedOut() });
    return;
  }

  const dialog = expiredDialog(auth);
  auth.onExpired = () => {
    document.dispatchEvent(new CustomEvent('session-expired'));
    if (!dialog.open) dialog.showModal();
  };
  auth.watchExpiry();
  useDrafts(audience, auth.session()?.sub || '');
  auth.onSignOut = () => clearDrafts(audience);

  const signOut = $('#sign-out');
  signOut.hidden = false;
  signOut.addEventListener('click', () => auth.signOut());
  $('#nav').hidden = false;
  // start draws what it holds in place (the portal's bars) before its
  // first await, so the classes go in the same task.
  const started = start({ api, auth, main, signedIn, pollMs: (Number(cfg.pollSeconds) || 0) * 1000 });
  unframe();
  await started;
}

/** startSignIn leaves for the issuer, or says why it cannot: PKCE needs
 * Web Crypto, which browsers offer only on https or on localhost. */
function startSignIn(auth, returnTo, box) {
  auth.signIn(returnTo).catch(() => {
    box.textContent = window.isSecureContext
      ? 'Sign-in could not start. Reload the page and try again.'
      : 'Sign-in needs a secure connection. Open this page over https (or on localhost).';
  });
}

/** storedSession is the tab's stored session of audience when it holds
 * a token (null otherwise): what decides whether the page is drawn signed
 * in before the API answers (js/frame.js decides the same way). */
export function storedSession(audience) {
  try {
    const s = JSON.parse(sessionStorage.getItem(`pp.${audience}.session`) || 'null');
    return s?.accessToken ? s : null;
  } catch {
    return null;
  }
}

/** signedInFrame shows (or hides) the navigation, the user's name and
 * Sign out; it returns whether a session was stored to show it for. */
function signedInFrame(audience, show) {
  const s = storedSession(audience);
  if (show && !s) return false;
  $('#nav').hidden = !show;
  $('#sign-out').hidden = !show;
  if (!show && $('#patient-bar')) $('#patient-bar').hidden = true;
  if (!show && $('#practice.pending')) $('#practice').hidden = true;
  setWho(show ? s.name || '' : '');
  return true;
}

function signedOutScreen(main, auth, { appName, intro, error, expired, signedOut }) {
  const box = errorBox();
  const button = h('button', { class: 'btn', type: 'button', onclick: () => startSignIn(auth, location.hash, box) }, expired ? 'Sign in again' : 'Sign in');
  if (error) box.textContent = error;
  let note = null;
  if (!error && expired) note = h('div', { class: 'notice warn', role: 'status' }, h('p', {}, h('strong', {}, 'Your session expired. '), 'For your security you were signed out. Please sign in again.'));
  else if (!error && signedOut) note = h('div', { class: 'status-ok', role: 'status' }, 'You have signed out.');
  replace(main, h('div', { class: 'hero' },
    h('h1', { tabindex: '-1' }, appName),
    h('div', { class: 'card' }, note, box, intro, h('div', { class: 'actions' }, button))));
  if (expired || error) button.focus();
}

function expiredDialog(auth) {
  const titleId = id('dlg');
  const box = errorBox();
  const dialog = h('dialog', { 'aria-labelledby': titleId, id: 'session-expired' },
    h('h2', { id: titleId }, 'Your session expired'),
    h('p', {}, 'For your security you were signed out. Sign in again to continue.'),
    box,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'button', onclick: () => startSignIn(auth, location.hash, box) }, 'Sign in again')));
  document.body.append(dialog);
  return dialog;
}

/** setWho shows who is signed in. */
export function setWho(text) {
  const who = $('#who');
  if (who) who.textContent = text;
}

/** errorBox is a live region that shows what went wrong and what to do. */
export function errorBox() {
  return h('div', { class: 'alert', role: 'alert' });
}

/** showError puts err's message into box: the pages' own plain sentence
 * and next step for the API problem (problems.js), never the API's wording.
 * A 401 is left to the session-expired prompt. */
export function showError(box, err, say = {}) {
  if (!box) return;
  if (err?.status === 401) { box.textContent = ''; return; }
  // say: what a problem code means on this screen, where the table's
  // general words would point the wrong way (a conflict that is a limit).
  const own = err?.code && Object.hasOwn(say, err.code) ? say[err.code] : '';
  box.textContent = own || err?.message || 'Something went wrong. Try again in a few minutes.';
}

/** showLoadError is showError for something that did not load, with a
 * Retry button in the box that runs retry. */
export function showLoadError(box, err, retry) {
  showError(box, err);
  if (!box.textContent) return;
  const button = h('button', { class: 'btn secondary small retry', type: 'button' }, 'Retry');
  button.addEventListener('click', () => busy(button, 'Retrying…', retry));
  box.append(h('span', { class: 'actions' }, button));
}

/** attempt clears box, runs work and shows its failure, if any, in box
 * (say as for showError). */
export async function attempt(box, work, say = {}) {
  box.textContent = '';
  try { await work(); } catch (e) { showError(box, e, say); }
}

/**
 * loadList loads a list into its place on a screen. While the load has
 * failed, the list and its controls (hide: the card with Load more) are
 * hidden, and box says why, with Retry; a success shows them again (and,
 * after Retry, focuses the heading).
 */
export async function loadList({ box, hide = [] }, load) {
  const run = async () => {
    // Retry pressed: its button goes with the message, so focus goes to
    // the screen's heading rather than being lost, and the list is said.
    const retried = box.contains(document.activeElement);
    try {
      // false: overtaken by a newer load, whose outcome is the one to show.
      if (await load() === false) return;
      box.textContent = '';
      for (const el of hide) el.hidden = false;
      const heading = retried ? document.querySelector('main h1') : null;
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus();
        announce('Loaded.');
      }
    } catch (e) {
      for (const el of hide) el.hidden = true;
      showLoadError(box, e, run);
    }
  };
  await run();
}

/**
 * loadPage runs load() for a page being drawn into main and returns what it
 * returns, or undefined when the page should stop: the user has moved on
 * (live() is false), or load failed and main now shows `before`, a heading
 * and box saying why, with a Retry button (retry: by default the route is
 * drawn again).
 */
export async function loadPage({ main, box, live = () => true, before = [], retry = () => go(location.hash) }, load) {
  let value;
  try {
    value = await load();
  } catch (e) {
    if (live()) {
      replace(main, ...before, h('h1', {}, 'This page did not load'), box);
      showLoadError(box, e, retry);
    }
    return undefined;
  }
  return live() ? value : undefined;
}

/** textField is a labelled input or textarea with a live character counter
 * measured the way the API measures its limits. */
export function textField({ label, max, multiline = false, rows = 6, hint = '', name = '' }) {
  const inputId = id('in');
  const counterId = id('count');
  const hintId = hint ? id('hint') : '';
  const described = [hintId, counterId].filter(Boolean).join(' ');
  const input = multiline
    ? h('textarea', { id: inputId, name, rows, 'aria-describedby': described, spellcheck: 'true' })
    : h('input', { id: inputId, name, type: 'text', autocomplete: 'off', 'aria-describedby': described });
  const counter = h('p', { class: 'counter', id: counterId });
  const warn = h('span', { class: 'visually-hidden', 'aria-live': 'polite' });
  let lastState = '';
  const update = () => {
    const n = chars(input.value);
    counter.textContent = `${n.toLocaleString()} / ${max.toLocaleString()} characters`;
    const over = n > max;
    counter.classList.toggle('over', over);
    input.setAttribute('aria-invalid', over ? 'true' : 'false');
    // Speak only when crossing a threshold, not on every keystroke.
    const state = over ? 'over' : n > max * 0.9 ? 'near' : '';
    if (state !== lastState) {
      warn.textContent = state === 'over' ? `Over the limit of ${max} characters.` : state === 'near' ? `${max - n} characters left.` : '';
      lastState = state;
    }
  };
  input.addEventListener('input', update);
  update();
  return {
    el: h('div', { class: 'field' },
      h('label', { for: inputId }, label),
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
      input, counter, warn),
    input,
    name,
    value: () => input.value,
    /** problem returns what is wrong with the value, or ''. */
    problem() {
      const v = input.value;
      if (!v.trim()) return `${label} is empty.`;
      if (chars(v) > max) return `${label} is ${chars(v)} characters; the limit is ${max}.`;
      return '';
    },
    reset() { input.value = ''; update(); },
    invalid() { input.setAttribute('aria-invalid', 'true'); input.focus(); },
  };
}

/** validate checks fields in order and reports the first problem. */
export function validate(box, fields) {
  for (const f of fields) {
    const p = f.problem();
    if (p) {
      box.textContent = p;
      f.invalid();
      return false;
    }
  }
  box.textContent = '';
  return true;
}

/** markField flags the field an API problem names, if it is on the form. */
export function markField(err, fields) {
  const f = fields.find((x) => x.name && x.name === err?.field);
  if (f) f.invalid();
}

/** selectField is a labelled <select>. options: [{value, label}]. With
 * `missing`, an empty choice is a problem that says so. */
export function selectField({ label, options, value = '', name = '', missing = '' }) {
  const selId = id('sel');
  const select = h('select', { id: selId, name },
    options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  return {
    el: h('div', { class: 'field' }, h('label', { for: selId }, label), select),
    select,
    name,
    problem: () => (missing && !select.value ? missing : ''),
    invalid() { select.focus(); },
  };
}

/** checkField is a labelled checkbox. */
export function checkField({ label, checked = false }) {
  const boxId = id('chk');
  const input = h('input', { type: 'checkbox', id: boxId, checked });
  return { el: h('div', { class: 'field' }, h('label', { class: 'check', for: boxId }, input, label)), input };
}

/** busy disables a button while work runs and restores it after. */
export async function busy(button, label, work) {
  const old = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = old;
  }
}

/**
 * createOnSubmit makes submitting form create something, once: payload()
 * checks the form and returns what to send (or null, having said why in
 * box); create(payload, key) sends it under an Idempotency-Key that pressing
 * Send again after a failure reuses; sent(res) runs after. A failure shows
 * the API's detail in box and marks the field it names among fields.
 */
export function createOnSubmit(form, { box, button, fields, payload, create, sent, say = {} }) {
  const sub = new Submission();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = payload();
    if (!body) return;
    busy(button, 'Sending…', async () => {
      try {
        const res = await create(body, sub.keyFor(body));
        sub.done();
        await sent(res);
      } catch (err) {
        showError(box, err, say);
        markField(err, fields);
      }
    });
  });
}

/**
 * Router maps "#/a/b" to a handler by its first segment. Each render gets a
 * fresh AbortSignal-like token so a slow response from a page the user has
 * left is dropped instead of drawn.
 */
export class Router {
  constructor(main, routes, fallback) {
    this.main = main;
    this.routes = routes;
    this.fallback = fallback;
    this.gen = 0;
    window.addEventListener('hashchange', () => this.render(true));
  }

  parts() {
    return location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
      try { return decodeURIComponent(p); } catch { return ''; }
    });
  }

  current() { return this.parts()[0] || this.fallback; }

  render(moveFocus = false) {
    this.gen += 1;
    const gen = this.gen;
    const [name = this.fallback, ...args] = this.parts();
    const handler = this.routes[name] || this.routes[this.fallback];
    const live = () => gen === this.gen;
    document.querySelectorAll('#nav a[data-route]').forEach((a) => {
      if (a.dataset.route === (this.routes[name] ? name : this.fallback)) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    replace(this.main, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
    Promise.resolve(handler({ args, live })).then(() => {
      // Tell keyboard and screen-reader users the page changed, unless they
      // are already at work in it (typing a reply, say).
      const busyInMain = this.main.contains(document.activeElement) && document.activeElement !== this.main;
      if (moveFocus && live() && !busyInMain) {
        const heading = this.main.querySelector('h1');
        if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus(); }
      }
    });
  }
}

/**
 * keepFocus runs fn, which redraws container, and puts the keyboard back on
 * the element it was on there (found again by its ID or link), so that a
 * refresh from the network never throws a reader back to the top.
 */
export async function keepFocus(container, fn) {
  const el = document.activeElement;
  const inside = el && el !== container && container.contains(el);
  const href = inside && el.getAttribute('href');
  const owner = inside ? el.closest('[id]') : null;
  await fn();
  if (!inside || container.contains(el)) return;
  const again = (href && [...container.querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === href))
    || (owner && owner.id && document.getElementById(owner.id));
  if (!again) return;
  if (!again.matches('a[href], button, input, select, textarea, [tabindex]')) again.setAttribute('tabindex', '-1');
  again.focus();
}

/** go navigates to a route; rendering happens on hashchange. */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/**
 * Poller runs fn every `base` ms while the tab is visible. Failures back off
 * exponentially to `max`; a success resets the pace. A 401 stops it (the
 * session prompt takes over).
 */
export class Poller {
  constructor(fn, { base = 15_000, max = 300_000 } = {}) {
    this.fn = fn;
    this.base = base;
    this.max = max;
    this.delay = base;
    this.timer = 0;
    this.stopped = true;
    this.missed = false;
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.missed && !this.stopped) { this.missed = false; this.tick(); }
    });
    document.addEventListener('session-expired', () => this.stop());
  }

  start() {
    this.stopped = false;
    this.delay = this.base;
    this.schedule();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  schedule() {
    clearTimeout(this.timer);
    const jitter = this.delay * (0.9 + Math.random() * 0.2); // spread out many open tabs
    this.timer = setTimeout(() => this.tick(), jitter);
  }

  async tick() {
    if (this.stopped) return;
    // A hidden tab skips the request but keeps its pace, so polling goes
    // on even if the browser never says the tab is visible again.
    if (document.hidden) { this.missed = true; this.schedule(); return; }
    try {
      await this.fn();
      this.delay = this.base;
    } catch (err) {
      if (err?.status === 401) { this.stop(); return; }
      this.delay = Math.min(this.delay * 2, this.max);
    }
    this.schedule();
  }
}

/** pager renders a "Load more" button that calls more() until it returns
 * no cursor. */
export function pager(more) {
  const box = errorBox();
  const button = h('button', { class: 'btn secondary', type: 'button' }, 'Load more');
  button.addEventListener('click', () => busy(button, 'Loading…', () => attempt(box, more)));
  return { el: h('div', {}, box, button), button };
}

export { h, replace, append };
