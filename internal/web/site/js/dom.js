// DOM helpers. Every piece of text goes in as a text node, never as markup:
// subjects, bodies and names come from other people and may hold anything.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'type', 'required']);
// tel: only with a plain number, for the practice's phone.
const SAFE_HREF = /^(#|\/(?!\/)|https:\/\/|http:\/\/|tel:\+?[0-9]+$)/;

/**
 * h('p', {class: 'x', onclick: fn}, 'text', childNode) builds an element.
 * Strings become text nodes. Attribute values are set with setAttribute, so
 * they are never parsed as HTML either.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else {
      // Links only ever point inside the app or at configured endpoints.
      if ((k === 'href' || k === 'src' || k === 'action') && !SAFE_HREF.test(String(v))) {
        throw new Error(`refusing ${k}=${v}`);
      }
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** append adds children (nodes, strings, nested arrays; null is skipped). */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** replace empties el and fills it with children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** id returns a page-unique element id for label/aria wiring. */
export function id(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

const graphemes = typeof Intl.Segmenter === 'function'
  ? new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  : null;

/** chars counts characters as people (and the API's limits) count them:
 * grapheme clusters, not UTF-16 units or code points, so a family emoji
 * (👨‍👩‍👧), a flag or an e with a combining accent is one. Without
 * Intl.Segmenter it counts code points, which is never fewer, so the page
 * errs on the side of the server's limit. */
export function chars(s) {
  let n = 0;
  for (const _ of graphemes ? graphemes.segment(s) : s) n += 1; // eslint-disable-line no-unused-vars
  return n;
}
