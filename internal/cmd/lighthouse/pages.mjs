// Lighthouse (npm lighthouse, pinned in .tools) on three screens as people
// use them, each signed in through the real OIDC flow: the portal list and
// a conversation as Ana Rivera, the staff inbox as Jordan Kim. Lighthouse
// runs in the tab that signed in, with storage kept, because the pages
// hold their tokens in that tab's sessionStorage. Mobile settings (its
// default: a mid-range phone, simulated slow 4G). Prints one JSON line per
// screen: {"screen", "performance", "accessibility", "bestPractices",
// "failed": [audit ids below 1]}.
//
// Env: TOOLS_DIR (.tools), CHROME_PATH (Debian's chromium), SITE_URL,
// CONVERSATION (the hash route of a conversation).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const req = createRequire(join(process.env.TOOLS_DIR, 'package.json'));
// puppeteer-core is lighthouse's own dependency (same lock), so the
// browser it drives is the one Lighthouse was built against.
const puppeteer = req('puppeteer-core');
const { default: lighthouse } = await import(pathToFileURL(req.resolve('lighthouse')).href);

const site = process.env.SITE_URL;
const profile = mkdtempSync(join(tmpdir(), 'lighthouse-profile-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
});

async function signIn(audience, username) {
  const page = await browser.newPage();
  await page.goto(`${site}/${audience}/`, { waitUntil: 'networkidle0' });
  await Promise.all([page.waitForNavigation(), page.click('main .actions button')]);
  await page.waitForSelector('.users button');
  await Promise.all([page.waitForNavigation(), page.click(`.users button[value="${username}"]`)]);
  await page.waitForFunction(() => !document.querySelector('#sign-out').hidden && !document.querySelector('main .loading'));
  return page;
}

async function score(page, screen, url) {
  const flags = {
    output: 'json', logLevel: 'error', disableStorageReset: true,
    onlyCategories: ['performance', 'accessibility', 'best-practices'],
  };
  const { lhr } = await lighthouse(url, flags, undefined, page);
  const pct = (c) => Math.round((lhr.categories[c]?.score ?? 0) * 100);
  const failed = Object.values(lhr.categories).flatMap((c) => c.auditRefs)
    .filter((r) => r.weight > 0 && lhr.audits[r.id].score !== null && lhr.audits[r.id].score < 1)
    .map((r) => r.id);
  const metric = (id) => lhr.audits[id]?.displayValue || '';
  // A run Lighthouse could not complete scores 0: say why, not just 0.
  if (lhr.runtimeError) console.error(`${screen}: Lighthouse could not measure it: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  // What moved, when layout shift cost points (Lighthouse's own
  // layout-shifts audit fails on this chromium's traces): the page's own
  // record of its first 5 s, after the run; later entries are Lighthouse
  // switching the emulated screen back.
  const moved = (lhr.audits['cumulative-layout-shift']?.score ?? 1) >= 1 ? [] : await page.evaluate(() => new Promise((done) => {
    const out = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.startTime > 5000) continue;
        for (const src of e.sources || []) {
          const n = src.node;
          const name = n ? `${n.nodeName.toLowerCase()}${n.id ? `#${n.id}` : ''}${n.className && typeof n.className === 'string' ? `.${n.className.trim().split(/\s+/).join('.')}` : ''}` : '?';
          out.push(`${e.value.toFixed(3)} ${name} y ${Math.round(src.previousRect.y)}->${Math.round(src.currentRect.y)} h ${Math.round(src.previousRect.height)}->${Math.round(src.currentRect.height)}`);
        }
      }
      done(out);
    }).observe({ type: 'layout-shift', buffered: true });
    setTimeout(() => done(out), 500);
  }));
  for (const m of moved) console.error(`${screen}: layout shift ${m}`);
  console.log(JSON.stringify({
    screen, performance: pct('performance'), accessibility: pct('accessibility'), bestPractices: pct('best-practices'),
    failed: [...new Set(failed)],
    metrics: { fcp: metric('first-contentful-paint'), lcp: metric('largest-contentful-paint'), tbt: metric('total-blocking-time'), cls: metric('cumulative-layout-shift') },
  }));
}

try {
  const parent = await signIn('portal', 'parent.rivera');
  // A query string makes each a full page load (a new hash alone is not).
  await score(parent, 'portal list', `${site}/portal/?screen=list#/messages`);
  await score(parent, 'portal conversation', `${site}/portal/?screen=conversation${process.env.CONVERSATION}`);
  const nurse = await signIn('staff', 'nurse.kim');
  await score(nurse, 'staff inbox', `${site}/staff/?screen=inbox#/inbox`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
