// cors.mjs - CORS as a real browser sees it: headless Debian chromium,
// driven by puppeteer-core, opens a page served from another origin (a tiny
// local HTTP server) and calls the API from that page with fetch().  The
// browser, not this script, decides what the page may read, so this proves
// the allow-list where curl cannot.
//
//   const pages = await startPages(2);          // two origins, e.g. http://127.0.0.1:41234
//   const result = await inBrowser(pages[0].origin, async (api, token) => { ... }, API, token);
//   await stopPages(pages);
//
// chromiumPath() is null when chromium is not installed (the caller skips
// and says so).  Every launch uses a fresh profile directory, removed
// afterwards.
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Debian's chromium (make deps installs it); SG_CHROMIUM names another.
const CHROMIUM = process.env.SG_CHROMIUM || '/usr/bin/chromium';

export const chromiumPath = () => (existsSync(CHROMIUM) ? CHROMIUM : null);

// n tiny servers on 127.0.0.1, each its own origin, each serving one empty
// page (what the page does comes from the test, through page.evaluate).
export async function startPages(n) {
  return Promise.all(Array.from({ length: n }, () => new Promise((ok, fail) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end('<!doctype html><meta charset="utf-8"><title>front end</title><p>a front end</p>');
    });
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => ok({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  })));
}

export async function stopPages(pages) {
  await Promise.all(pages.map(({ server }) => new Promise((ok) => server.close(ok))));
}

// Opens origin's page in a fresh headless chromium and runs fn(...args) in
// it; returns what fn returns (JSON-serialisable).
export async function inBrowser(origin, fn, ...args) {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'sg-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir: profile,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`],
  });
  try {
    const page = await browser.newPage();
    const loaded = await page.goto(`${origin}/`, { waitUntil: 'load' });
    if (!loaded || loaded.status() !== 200) throw new Error(`the page at ${origin} did not load`);
    return await page.evaluate(fn, ...args);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
