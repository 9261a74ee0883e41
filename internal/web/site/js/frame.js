// frame.js runs in the head, before the body is parsed (a classic script:
// the modules run only after the first paint). A tab that holds a session
// is drawn signed in from that first paint, its navigation and bars in
// place, so nothing moves when the modules start; boot then takes over
// and removes the classes.
(() => {
  const root = document.documentElement;
  try {
    const s = JSON.parse(sessionStorage.getItem(`pp.${root.dataset.app}.session`) || 'null');
    if (!s?.accessToken) return;
    root.classList.add('frame');
    // The account's Notifications screen has no Current Patient bar.
    if (!location.hash.startsWith('#/notifications')) root.classList.add('frame-bar');
  } catch {
    // No storage: drawn signed out, as before.
  }
})();
