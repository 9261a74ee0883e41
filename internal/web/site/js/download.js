// Download saves a patient's conversations as files, as the API writes
// them: a readable HTML copy or FHIR R4 JSON, part after part while the
// API's Link header names a next part (a long chart comes in parts).

import { h } from './dom.js';

const FORMATS = [
  { format: 'html', label: 'Download', ext: 'html' },
  { format: 'fhir', label: 'Download FHIR', ext: 'fhir.json' },
];

function filenameOf(disposition, fallback) {
  const m = /filename="([^"]+)"/.exec(disposition || '');
  return m ? m[1] : fallback;
}

function nextPart(link) {
  const m = /<([^>]+)>;\s*rel="next"/.exec(link || '');
  return m ? new URL(m[1], window.location.href).searchParams.get('part') : '';
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  // Not through h(), which allows only app and https links: this is our
  // own blob.
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/** downloadControls are the Download buttons for the conversations under
 * base ("/portal/patients/{id}"), with a status line that says what
 * happened in plain words. */
export function downloadControls(api, base) {
  const status = h('p', { class: 'download-status', role: 'status' });
  const buttons = FORMATS.map((f) => h('button', {
    class: 'btn secondary small', type: 'button',
    onclick: async () => {
      for (const b of buttons) b.disabled = true;
      status.textContent = 'Preparing the file…';
      try {
        let part = '';
        let files = 0;
        do {
          const res = await api.request('GET', `${base}/export`, { query: { format: f.format, part }, raw: true });
          files += 1;
          save(await res.blob(), filenameOf(res.headers.get('Content-Disposition'), `messages-part-${files}.${f.ext}`));
          part = nextPart(res.headers.get('Link'));
          if (part) status.textContent = `Saved part ${files}; preparing part ${files + 1}…`;
        } while (part);
        status.textContent = files === 1 ? 'Saved the file to your downloads.' : `Saved ${files} files to your downloads.`;
      } catch (err) {
        status.textContent = err.message;
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    },
  }, f.label));
  return h('div', { class: 'download' }, h('div', { class: 'download-buttons' }, ...buttons), status);
}
