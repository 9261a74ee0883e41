// The portal's Notifications screen: how the family is told that a message
// is waiting (e-mail, text message, both or neither). The notices carry no
// child's name and no health details; the screen says so.

import { id } from './dom.js';
import { errorBox, h, loadPage, replace } from './ui.js';

const PATH = '/portal/me/notifications';

/** by names the channels that reach a family with these settings, or ''.
 * E-mail to an address that bounced is paused: it reaches nobody. */
function by(s) {
  const email = s.email && !s.emailUnreachable;
  if (email && s.sms) return 'by e-mail and by text message';
  if (email) return 'by e-mail';
  if (s.sms) return 'by text message';
  return '';
}

const PAUSED = ' E-mail is paused until the office updates your address.';
const paused = (s) => (s.email && s.emailUnreachable ? PAUSED : '');

/** told says in plain words how a family with these saved settings hears
 * of a new message. */
function told(s) {
  return by(s)
    ? `Right now we tell you ${by(s)} when a message is waiting.${paused(s)}`
    : `Right now we do not tell you when a message is waiting.${paused(s)} Sign in here to check for new messages.`;
}

/** savedText is the status after a save. */
function savedText(s) {
  return by(s)
    ? `Saved. We will tell you ${by(s)} when a message is waiting.${paused(s)}`
    : `Saved. We will not tell you when a message is waiting; sign in here to check for new messages.${paused(s)}`;
}

/** failure says the save failed, why in plain words (problems.js) and what
 * to do next: for a channel the office has no address for, which box to
 * untick and whom to ask. */
function failure(err) {
  if (err?.status === 422 && err.field === 'sms') {
    return 'Your choices were not saved: the office has no mobile number for you. Uncheck Text message and save again; to get text messages, ask the office to add your mobile number.';
  }
  if (err?.status === 422 && err.field === 'email') {
    return 'Your choices were not saved: the office has no e-mail address for you. Uncheck E-mail and save again; to get e-mail, ask the office to add your address.';
  }
  return `Your choices were not saved. ${err?.message || 'Please try again in a minute.'}`;
}

/** channel is one labelled checkbox, with a hint tied to it when the office
 * has no address or number for it. */
function channel({ label, checked, available, missing, describedBy = [] }) {
  const inputId = id('chk');
  const hintId = available ? '' : id('hint');
  const describe = [hintId, ...describedBy].filter(Boolean).join(' ');
  const input = h('input', {
    type: 'checkbox', id: inputId,
    checked: available && checked, disabled: !available,
    'aria-describedby': describe || null,
  });
  return {
    input,
    el: h('div', { class: `field channel${available ? '' : ' unavailable'}` },
      h('label', { class: 'check', for: inputId }, input, label),
      available ? null : h('p', { class: 'hint', id: hintId }, missing)),
  };
}

/**
 * notificationsView returns the route handler of the Notifications screen.
 * @param {() => import('./api.js').Api} getApi
 */
export function notificationsView(getApi) {
  return async ({ live }) => {
    const api = getApi();
    const main = document.getElementById('main');
    const head = h('div', { class: 'page-head' }, h('h1', {}, 'Notifications'));
    const box = errorBox();
    const loaded = await loadPage({ main, box, live, before: [head] }, () => api.get(PATH));
    if (!loaded) {
      if (live() && box.textContent) box.append(' Reload the page to try again. If it keeps failing, call the office.');
      return;
    }
    let saved = loaded;

    const unreachableId = id('unreachable');
    const unreachable = saved.emailUnreachable
      ? h('div', { class: 'notice warn', id: unreachableId, role: 'note' },
        h('p', {}, h('strong', {}, 'We could not deliver e-mail to your address. '), 'Please call the office to update it.'))
      : null;
    const email = channel({
      label: 'E-mail',
      checked: saved.email,
      available: saved.emailAvailable,
      missing: 'The office has no e-mail address for you. Ask the office to add your e-mail address.',
      describedBy: unreachable ? [unreachableId] : [],
    });
    const sms = channel({
      label: 'Text message',
      checked: saved.sms,
      available: saved.smsAvailable,
      missing: 'The office has no mobile number for you. Ask the office to add your mobile number.',
    });

    const summary = h('p', { id: 'notify-summary' }, told(saved));
    const status = h('p', { class: 'status-ok', role: 'status', 'aria-live': 'polite', id: 'notify-status' });
    const save = h('button', { class: 'btn', type: 'submit' }, 'Save');

    const form = h('form', { class: 'card notify-form', novalidate: true },
      h('fieldset', { 'aria-describedby': 'notify-summary' },
        h('legend', {}, 'Tell me that a message is waiting by'),
        email.el, sms.el),
      h('p', { class: 'notice', role: 'note' },
        "These notices only say that a new message is waiting in the portal. They never include your child's name or any health details. Sign in here to read the message."),
      box,
      h('div', { class: 'actions' }, save),
      status);

    // A change not yet saved must not sit under an old "Saved".
    for (const c of [email.input, sms.input]) {
      c.addEventListener('change', () => {
        status.textContent = '';
        c.removeAttribute('aria-invalid');
      });
    }

    let saving = false;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (saving) return;
      saving = true;
      // The button stays enabled (aria-disabled), so keyboard focus stays on it.
      save.setAttribute('aria-disabled', 'true');
      save.textContent = 'Saving…';
      box.textContent = '';
      status.textContent = '';
      try {
        // A channel without an address or number is disabled and unchecked,
        // so it is never asked for; should the office remove one while the
        // page is open, the API says so and the page shows it.
        const res = await api.put(PATH, { email: email.input.checked, sms: sms.input.checked });
        if (!live()) return;
        saved = { ...saved, ...res };
        email.input.checked = saved.email;
        sms.input.checked = saved.sms;
        summary.textContent = told(saved);
        status.textContent = savedText(saved);
      } catch (err) {
        if (!live() || err?.status === 401) return; // the session prompt takes over
        box.textContent = failure(err);
        const named = { email: email.input, sms: sms.input }[err?.field];
        if (named) {
          named.setAttribute('aria-invalid', 'true');
          if (!named.disabled) named.focus();
        }
      } finally {
        saving = false;
        save.removeAttribute('aria-disabled');
        save.textContent = 'Save';
      }
    });

    replace(main,
      head,
      h('p', {}, 'Choose how we let you know that the office has written to you. These choices are for your account and cover messages about all your children.'),
      unreachable,
      summary,
      form);
  };
}
