// frame.js runs in the head, before the body is parsed (a classic script:
// the modules run only after the first paint). A tab that holds a session
// is drawn signed in from that first paint, its navigation and bars in
// place, so nothing moves when the modules start; boot then takes over
// and removes the classes.
(() => {
  const root = document.documentElement;
  try {
    const app = root.dataset.app;
    const s = JSON.parse(sessionStorage.getItem(`pp.${app}.session`) || 'null');
    // The return from the issuer (?code= for a sign-in this tab started)
    // will hold a session in a moment: drawn signed in too.
    const flow = new URLSearchParams(location.search).has('code') && JSON.parse(sessionStorage.getItem(`pp.${app}.flow`) || 'null');
    if (!s?.accessToken && !flow) return;
    root.classList.add('frame');
    // The account's Notifications screen has no Current Patient bar.
    const hash = flow ? flow.returnTo || '' : location.hash;
    if (!hash.startsWith('#/notifications')) root.classList.add('frame-bar');
  } catch {
    // No storage: drawn signed out, as before.
  }
})();
