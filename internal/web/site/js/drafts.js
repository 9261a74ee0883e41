// Drafts: what someone has typed into Write Message or a reply, kept in
// sessionStorage per user and form (a conversation's path), so that it
// survives a reload, an expired session and the sign-in after it. Only in
// this tab, like the tokens; sent and signed-out drafts are removed.

let prefix = ''; // "pp.<audience>.draft.<sub>." once signed in

/** useDrafts names whose drafts this page keeps. */
export function useDrafts(audience, sub) {
  prefix = sub ? `pp.${audience}.draft.${sub}.` : '';
}

/** clearDrafts removes every draft of the audience (sign-out). */
export function clearDrafts(audience) {
  const all = `pp.${audience}.draft.`;
  for (const k of Object.keys(sessionStorage)) if (k.startsWith(all)) sessionStorage.removeItem(k);
}

/**
 * keepDraft restores the draft of form `name` into fields (each {name,
 * input} or {name, select}) and saves it as they change. It returns
 * clear(), for after the send. A draft of nothing but blanks is not kept.
 */
export function keepDraft(name, fields) {
  if (!prefix) return { clear() {}, restored: false };
  const key = prefix + name;
  const controls = fields.map((f) => [f.name, f.input || f.select]).filter(([n, el]) => n && el);
  let restored = false;
  try {
    const saved = JSON.parse(sessionStorage.getItem(key) || 'null');
    if (saved && typeof saved === 'object') {
      for (const [n, el] of controls) {
        if (typeof saved[n] === 'string' && saved[n] !== '') {
          el.value = saved[n];
          // Counters and validity follow the restored text.
          el.dispatchEvent(new Event('input', { bubbles: true }));
          restored = true;
        }
      }
    }
  } catch { /* an unreadable draft is dropped below on the next change */ }
  // Saved on every change, not debounced: the session may end, or the
  // tab reload, a moment after the last key.
  const save = () => {
    const v = Object.fromEntries(controls.map(([n, el]) => [n, el.value]));
    if (Object.values(v).some((x) => x.trim() !== '')) sessionStorage.setItem(key, JSON.stringify(v));
    else sessionStorage.removeItem(key);
  };
  for (const [, el] of controls) {
    el.addEventListener('input', save);
    el.addEventListener('change', save);
  }
  return {
    restored,
    clear() { sessionStorage.removeItem(key); },
  };
}
