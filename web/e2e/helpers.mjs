// Helpers of the browser tests: Chromium through playwright-core (Debian's
// chromium package, no browser download), screenshots, waiting on text.

import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, request } from 'playwright-core';

export const BASE = (process.env.WEB_BASE_URL ?? 'https://localhost:8443').replace(/\/$/, '');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const OUT = process.env.WEB_TEST_OUTPUT ?? new URL('../test-output/', import.meta.url).pathname;
export const SHOTS = join(OUT, 'screenshots');
export const TZ = process.env.WEB_TEST_TZ ?? 'Asia/Seoul';
export const ADMIN = {
  email: process.env.DEMO_ADMIN_EMAIL ?? 'demo.admin@example.com',
  password: process.env.DEMO_ADMIN_PASSWORD ?? 'demo-admin-password',
};

/** Fresh output folder for this run (git-ignored). */
export function prepareOutput() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
}

/**
 * The output folder for a story that runs after another in the same run:
 * only its own screenshots (named `<story>-…`) are cleared.
 */
export function prepareStoryOutput(story) {
  mkdirSync(SHOTS, { recursive: true });
  for (const f of readdirSync(SHOTS)) if (f.startsWith(`${story}-`)) rmSync(join(SHOTS, f), { force: true });
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives every launch a fresh temporary --user-data-dir.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1280, height: 900 };

/**
 * A browser context in a non-UTC zone (proves local ↔ UTC handling). Console
 * output and page errors of its pages go to test-output/browser.log; page
 * errors are also collected in `errors` so a test can fail on them.
 */
export async function newContext(browser, name, viewport, errors) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    timezoneId: TZ,
    locale: 'en-US',
    viewport,
    deviceScaleFactor: 1,
    isMobile: viewport.width < 500,
    hasTouch: viewport.width < 500,
  });
  context.setDefaultTimeout(15_000);
  context.on('page', (page) => watchPage(page, name, errors));
  return context;
}

function watchPage(page, name, errors) {
  const log = join(OUT, 'browser.log');
  page.on('console', (m) => {
    appendFileSync(log, `[${name}] ${m.type()}: ${m.text()}\n`);
    // Anything our own Content-Security-Policy blocked is a bug of the page.
    if (/Content Security Policy/i.test(m.text())) errors.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    appendFileSync(log, `[${name}] PAGE ERROR: ${e.stack ?? e}\n`);
    errors.push(`${name}: ${e.message}`);
  });
}

export async function shot(page, file) {
  await page.screenshot({ path: join(SHOTS, file), fullPage: true });
}

/** Wait until the locator's text matches; returns the text. */
export async function waitForText(locator, pattern, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    try {
      last = (await locator.first().textContent({ timeout: 1000 })) ?? '';
      if (pattern.test(last)) return last;
    } catch {
      // not attached yet
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${pattern} in ${locator}; last text: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The wall-clock time of `date` in `tz` as a datetime-local value ("YYYY-MM-DDTHH:mm:ss"). */
export function wallTime(date, tz = TZ) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

/** RFC 3339 without milliseconds, as the API writes it. */
export const utc = (date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Submit a sign-in or sign-up form through the UI. Login is rate limited per
 * IP (burst 10, 30/min): on "Too many attempts" wait and press again.
 */
export async function submitAuthForm(page, form, done) {
  for (let attempt = 0; ; attempt++) {
    await form.getByRole('button', { name: /sign in|create account/i }).click();
    const message = form.getByTestId(/-message$/);
    const outcome = await Promise.race([
      done.waitFor({ state: 'visible', timeout: 20_000 }).then(() => 'ok'),
      waitForText(message, /too many attempts/i, 20_000).then((t) => t),
    ]).catch((e) => `failed: ${e.message}`);
    if (outcome === 'ok') return;
    const wait = /wait (\d+)/i.exec(outcome);
    if (wait && attempt < 4) {
      await page.waitForTimeout((Number(wait[1]) + 1) * 1000);
      continue;
    }
    throw new Error(`sign-in did not complete: ${outcome}`);
  }
}

/** Sign up + sign in through the sale page's forms. */
export async function signUpInUi(page, user) {
  await page.getByRole('tab', { name: 'Create account' }).click();
  const form = page.locator('#signup-form');
  await form.getByLabel('Name').fill(user.name);
  await form.getByLabel('Email').fill(user.email);
  await form.getByLabel('Password').fill(user.password);
  await submitAuthForm(page, form, page.getByTestId('signed-in-as'));
}

export async function signInUi(page, user) {
  const form = page.locator('#signin-form');
  await form.getByLabel('Email').fill(user.email);
  await form.getByLabel('Password').fill(user.password);
  await submitAuthForm(page, form, page.getByTestId('signed-in-as'));
}

/** An API client (no browser) for a helper user, with the gateway's self-signed certificate accepted. */
export async function apiClient() {
  const ctx = await request.newContext({ baseURL: BASE, ignoreHTTPSErrors: true });
  let token = '';
  const call = async (method, path, body, headers = {}) => {
    for (let attempt = 0; ; attempt++) {
      const res = await ctx.fetch(path, {
        method,
        data: body,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
      });
      if (res.status() === 429 && attempt < 5) {
        await new Promise((r) => setTimeout(r, (Number(res.headers()['retry-after'] ?? '2') + 1) * 1000));
        continue;
      }
      const text = await res.text();
      return { status: res.status(), body: text ? JSON.parse(text) : null };
    }
  };
  const signIn = async (user) => {
    const l = await call('POST', '/api/auth/login', { email: user.email, password: user.password });
    if (l.status !== 200) throw new Error(`login ${l.status} ${JSON.stringify(l.body)}`);
    token = l.body.access_token;
  };
  return {
    call,
    /** Make an account without signing in (the browser signs in with it). */
    async signUp(user) {
      const s = await call('POST', '/api/auth/signup', user);
      if (s.status !== 201) throw new Error(`signup ${s.status} ${JSON.stringify(s.body)}`);
    },
    async signUpAndIn(user) {
      const s = await call('POST', '/api/auth/signup', user);
      if (s.status !== 201) throw new Error(`signup ${s.status} ${JSON.stringify(s.body)}`);
      await signIn(user);
    },
    dispose: () => ctx.dispose(),
  };
}

export function note(text) {
  appendFileSync(join(OUT, 'steps.log'), `${new Date().toISOString()} ${text}\n`);
}

export function writeJson(file, value) {
  writeFileSync(join(OUT, file), JSON.stringify(value, null, 2));
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Accessibility check of the page as it is now (axe-core, WCAG 2.1 A + AA
 * rules, colour contrast included). Returns one line per violation; the full
 * report goes to test-output/a11y-<name>.json.
 */
export async function a11yViolations(page, name) {
  // Evaluated through the DevTools protocol: the pages' CSP allows no injected <script>.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  writeJson(`a11y-${name}.json`, result.violations);
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}
