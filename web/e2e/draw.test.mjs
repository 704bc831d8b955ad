// End-to-end: one sale through a draw (admission "draw"), the real stack
// behind nginx (scripts/dev up), real Chromium.
//
// One story, in order (later steps use what earlier ones made):
//   1. two customers, U1 and U2 (each in their own browser context, phones),
//      have accounts; the demo admin creates a draw event through the form
//      (Admission "Draw"): 1 coupon, 1 per person, entries open now and close
//      ~60 s from now, the draw itself 10 minutes after that (the admin draws
//      earlier with "Draw now"), a beacon round named, 30 s to claim. "Draw
//      now" while entries are open is refused, plainly.
//   2. U1, U2 and V — a visitor who never signs in — open the sale page. U1
//      and U2 sign in there and enter; every page sees the entry count move
//      live (1, 2), with the odds; U2 withdraws and enters again.
//   3. entries close: the pages show the sealed entrants digest; "Draw now"
//      is refused until the admin enters the beacon's value, then draws.
//   4. the result is pushed: exactly one of U1/U2 won ("claim before
//      HH:MM:SS", a countdown, "Get your coupon"); the other is told it is #1
//      on the waitlist.
//   5. the winner does not claim (a no-show): after 30 s their win lapses and
//      the coupon goes to the next rank, whose page is pushed draw.won; they
//      claim it (201). Sold out: every page says the draw is closed.
//   6. "Verify this draw" recomputes the proof in the page (seed, entrants
//      digest, ranking with the beacon, wins down the ranking), signed in and
//      not; the test recomputes it too, with node's crypto.
// Nothing is reloaded, and no page reads its entry on a timer while its
// socket is up. Screenshots go to web/test-output/screenshots/draw-*.png.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ADMIN,
  BASE,
  DESKTOP,
  PHONE,
  SHOTS,
  TZ,
  a11yViolations,
  apiClient,
  launch,
  newContext,
  note,
  prepareStoryOutput,
  shot,
  signInUi,
  utc,
  waitForText,
  wallTime,
  writeJson,
} from './helpers.mjs';

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
const password = `pw-${run}-secret`;
const users = {
  U1: { name: 'Dora One', email: `draw-${run}-u1@example.com`, password },
  U2: { name: 'Dev Two', email: `draw-${run}-u2@example.com`, password },
};
const prefix = `D${run.toUpperCase().replace(/[^A-Z0-9]/g, '')}`.slice(0, 12);
const title = `Draw test sale ${run}`;
const CLAIM_WINDOW_SECS = 30;
const ENTRY_WINDOW_SECS = 60;
const BEACON_ROUND = `test beacon round ${run}`;
const BEACON = randomBytes(32).toString('hex');

const errors = [];
const a11y = []; // accessibility violations, checked at the end
async function checkA11y(page, name) {
  for (const v of await a11yViolations(page, `draw-${name}`)) a11y.push(`${name}: ${v}`);
}
const shotOf = (page, name) => shot(page, `draw-${name}.png`);
const step = (text) => note(`[draw] ${text}`);

let browser;
let admin; // page
/** name → { page, calls: [{ at, method, path }], sockets / closes: when each WebSocket opened / closed (ms) } */
const pages = {};
let eventId;
let closesAt; // Date: entries close
let commitment;
let first; // the name of whoever won the draw ('U1' or 'U2')
let second;
let enteredAt; // ms: both entries made
let closedAt; // ms: every page showed the sell-out
let failed = false;

/** Later steps make no sense after an earlier one failed: skip them instead of piling up errors. */
function story(name, fn, timeout = 60_000) {
  it(name, { timeout }, async (t) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    step(`start: ${name}`);
    try {
      await fn(t);
      step(`ok: ${name}`);
    } catch (e) {
      failed = true;
      step(`FAILED: ${name}: ${e?.stack ?? e}`);
      for (const [label, p] of [['admin', admin], ...Object.entries(pages).map(([n, x]) => [n, x.page])]) {
        if (p && !p.isClosed()) await shotOf(p, `failure-${label}`).catch(() => {});
      }
      throw e;
    }
  });
}

/** A page on a phone that records its API requests and counts its sockets. */
async function openPhone(name) {
  const context = await newContext(browser, `D-${name}`, PHONE, errors);
  const page = await context.newPage();
  const entry = { page, calls: [], sockets: [], closes: [] };
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) entry.calls.push({ at: Date.now(), method: r.method(), path: url.pathname });
  });
  page.on('websocket', (ws) => {
    entry.sockets.push(Date.now());
    ws.on('close', () => entry.closes.push(Date.now()));
  });
  pages[name] = entry;
  return page;
}

const stageOf = (name) => pages[name].page.locator('#draw-panel').getAttribute('data-stage');

/** Wait until the page's draw panel is in `stage`. */
async function waitForStage(name, stage, timeout = 15_000) {
  try {
    await pages[name].page.waitForFunction((s) => document.querySelector('#draw-panel')?.dataset.stage === s, stage, { timeout, polling: 100 });
  } catch (e) {
    const status = await pages[name].page.getByTestId('draw-status').textContent().catch(() => '?');
    throw new Error(`${name}: stage ${await stageOf(name).catch(() => '?')} (status "${status}") did not become ${stage}: ${e.message}`);
  }
}

/** Reads of a page's own entry (`entries/me`) since `from` (ms). */
const entryReads = (name, from = 0) => pages[name].calls.filter((c) => c.method === 'GET' && c.path.endsWith('/entries/me') && c.at >= from);
/** Reads of the draw's public view since `from` (ms). */
const viewReads = (name, from = 0) => pages[name].calls.filter((c) => c.method === 'GET' && c.path.endsWith(`/events/${eventId}/draw`) && c.at >= from);

/** Enter (or withdraw) on a page; the answer's status. */
async function press(name, testid, method) {
  const p = pages[name].page;
  const answer = p.waitForResponse((r) => /\/entries(\/me)?$/.test(new URL(r.url()).pathname) && r.request().method() === method);
  await p.getByTestId(testid).click();
  return (await answer).status();
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

describe(`a draw sale against ${BASE} (browser zone ${TZ})`, { timeout: 360_000 }, () => {
  before(async () => {
    prepareStoryOutput('draw');
    browser = await launch();
    step(`chromium ${browser.version()}, run ${run}`);
  });

  after(async () => {
    // The sale must not stay on the demo's sale page (a run that failed
    // half-way leaves it open): closed with the admin page's session.
    if (eventId && admin && !admin.isClosed()) {
      await admin
        .evaluate(async (id) => {
          const s = JSON.parse(sessionStorage.getItem('coupon.admin.session') ?? '{}');
          if (s.access) await fetch(`/api/admin/events/${id}/close`, { method: 'POST', headers: { Authorization: `Bearer ${s.access}` } });
        }, eventId)
        .catch(() => {});
    }
    writeJson(
      'draw-requests.json',
      Object.fromEntries(Object.entries(pages).map(([n, x]) => [n, { sockets: x.sockets, closes: x.closes, calls: x.calls }])),
    );
    await browser?.close();
    step(`screenshots in ${SHOTS}`);
  });

  story('the demo admin creates a draw event through the form; "Draw now" is refused while entries are open', async () => {
    const api = await apiClient();
    try {
      for (const u of Object.values(users)) await api.signUp(u);
    } finally {
      await api.dispose();
    }

    const ctx = await newContext(browser, 'D-admin', DESKTOP, errors);
    admin = await ctx.newPage();
    await admin.goto(`${BASE}/admin/`);
    const signin = admin.locator('#signin-form');
    await signin.getByLabel('Email').fill(ADMIN.email);
    await signin.getByLabel('Password').fill(ADMIN.password);
    await signin.getByRole('button', { name: 'Sign in' }).click();
    await admin.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    await admin.getByTestId('new-event').click();
    await admin.getByRole('heading', { name: 'New event' }).waitFor();
    const f = admin.locator('#event-form');
    // The draw's settings appear only for a draw; the queue's own go.
    assert.equal(await f.getByLabel('Entries close').isVisible(), false, 'draw fields hidden for first come');
    await f.getByLabel('Admission').selectOption('draw');
    await f.getByLabel('Entries close').waitFor();
    assert.equal(await f.getByLabel('Queue opens').isVisible(), false, 'the queue’s opening is not a draw field');
    assert.equal(await f.getByLabel('Time to claim (seconds)').isVisible(), true, 'the claim window is shared');
    // Entries open now (a few seconds back: the form has whole seconds) and
    // close in a minute; the sale starts before they close; the draw is set
    // 10 minutes after the close, so it is the admin's "Draw now" that makes it.
    const opensAt = new Date(Math.floor((Date.now() - 5_000) / 1000) * 1000);
    const startAt = new Date(Math.ceil((Date.now() + 20_000) / 1000) * 1000);
    closesAt = new Date(Math.ceil((Date.now() + ENTRY_WINDOW_SECS * 1000) / 1000) * 1000);
    const drawAt = new Date(closesAt.getTime() + 600_000);
    const endAt = new Date(startAt.getTime() + 3600_000);
    await f.getByLabel('Title').fill(title);
    await f.getByLabel('Description').fill('A draw, made by the browser test.');
    await f.getByLabel('Total coupons').fill('1');
    await f.getByLabel('Limit per person').fill('1');
    await f.getByLabel('Starts').fill(wallTime(startAt));
    await f.getByLabel('Ends').fill(wallTime(endAt));
    await f.getByLabel('Discount type').selectOption('fixed');
    await f.getByLabel('Discount', { exact: true }).fill('3000');
    await f.getByLabel('Code prefix').fill(prefix);
    await f.getByLabel('Entries open').fill(wallTime(opensAt));
    await f.getByLabel('Entries close').fill(wallTime(closesAt));
    await f.getByLabel('Draw at').fill(wallTime(drawAt));
    await f.getByLabel('Beacon round').fill(BEACON_ROUND);
    await f.getByLabel('Time to claim (seconds)').fill(String(CLAIM_WINDOW_SECS));
    await f.getByLabel('Who may join').selectOption('false');
    await shotOf(admin, '01-admin-new-draw-event');
    await f.getByRole('button', { name: 'Create event' }).click();
    await admin.waitForURL(/#\/events\/\d+$/);
    eventId = Number(/#\/events\/(\d+)$/.exec(admin.url())[1]);
    step(`event ${eventId}: entries ${utc(opensAt)} → ${utc(closesAt)}, starts ${utc(startAt)}, draw ${utc(drawAt)}`);

    const ev = await (await admin.request.get(`${BASE}/api/coupons/events/${eventId}`)).json();
    assert.equal(ev.admission, 'draw');
    assert.equal(ev.queue, null);
    assert.equal(ev.draw.entry_opens_at, utc(opensAt), 'entries open at the Seoul wall time given, in UTC');
    assert.equal(ev.draw.entry_closes_at, utc(closesAt));
    assert.equal(ev.draw.draw_at, utc(drawAt));
    assert.equal(ev.draw.claim_window_secs, CLAIM_WINDOW_SECS);
    assert.equal(ev.draw.only_existing_accounts, false);
    assert.equal(ev.draw.beacon_round, BEACON_ROUND);
    assert.equal(ev.draw.beacon, null);
    assert.equal(ev.draw.seed, null);
    assert.match(ev.draw.seed_commitment, /^[0-9a-f]{64}$/);
    commitment = ev.draw.seed_commitment;

    // The detail page has the live draw panel, and no waiting room.
    await admin.locator('#admin-draw').waitFor();
    assert.equal(await admin.locator('#admin-queue').isVisible(), false);
    await waitForText(admin.getByTestId('event-facts'), /draw: entries .*30 s to claim.*beacon: test beacon round/);
    await waitForText(admin.locator('[data-stat="draw-entries"]'), /^0$/);
    await waitForText(admin.getByTestId('admin-draw-state'), /^Entries are open; the draw is at /);
    await admin.getByTestId('admin-draw-now').click();
    await waitForText(admin.getByTestId('admin-draw-message'), /^Not drawn \((entries_open|event_not_started)\): /);
    await shotOf(admin, '02-admin-draw-refused-while-open');
    await checkA11y(admin, 'admin-draw-open');
  });

  story('while entries are open: U1 and U2 sign in and enter; every page sees the count and the odds move live', async () => {
    const [p1, p2, pv] = await Promise.all(['U1', 'U2', 'V'].map(openPhone));
    await Promise.all([p1, p2, pv].map((p) => p.goto(`${BASE}/events/${eventId}`)));
    for (const p of [p1, p2, pv]) {
      await waitForText(p.locator('#event-title'), new RegExp(run));
      await waitForText(p.locator('#conn'), /Live/);
      await p.evaluate(() => {
        window.__sameDocument = true;
      });
    }
    // The visitor: the window, the count, the commitment and the beacon
    // round named in advance, and a way to sign in — no entry.
    await waitForStage('V', 'visitor');
    await pv.getByTestId('draw-sign-in').waitFor();
    assert.equal(await pv.getByTestId('draw-enter').isVisible(), false, 'a visitor is not offered the entry');
    await waitForText(pv.getByTestId('draw-status'), /^Entries are open until /);
    await waitForText(pv.getByTestId('draw-clock'), /^Entries close in \d\d:\d\d$/);
    await waitForText(pv.getByTestId('draw-entries'), /^0$/);
    await waitForText(pv.getByTestId('draw-commitment'), new RegExp(`^${commitment}$`));
    await waitForText(pv.getByTestId('draw-beacon-round'), new RegExp(`^${BEACON_ROUND}$`));
    assert.equal(await pv.getByTestId('draw-verify').isVisible(), false, 'nothing to verify before the draw');
    assert.equal(await pv.getByTestId('get-coupon').isVisible(), false, 'no "get coupon" without a win');

    await Promise.all([signInUi(p1, users.U1), signInUi(p2, users.U2)]);
    for (const name of ['U1', 'U2']) {
      const p = pages[name].page;
      await waitForText(p.locator('#conn'), /Live/);
      await waitForStage(name, 'enter');
      await waitForText(p.getByTestId('draw-status'), /go to entries drawn at random/);
    }
    await shotOf(p1, '03-sale-enter');
    await checkA11y(p1, 'sale-enter');
    await shotOf(pv, '04-sale-visitor-entries-open');
    await checkA11y(pv, 'sale-visitor');

    // U1 enters: every page counts 1 entry, pushed (queue.progress frames).
    assert.equal(await press('U1', 'draw-enter', 'POST'), 201, 'the entry was made');
    await waitForStage('U1', 'entered');
    await pages.U1.page.getByTestId('draw-withdraw').waitFor();
    for (const p of [p1, p2, pv]) await waitForText(p.getByTestId('draw-entries'), /^1$/, 10_000);
    await waitForText(pv.getByTestId('draw-odds'), /^1 coupon for 1 entry: every entry wins so far\.$/);
    // U2 enters: 2 entries, a 50% chance each.
    assert.equal(await press('U2', 'draw-enter', 'POST'), 201);
    await waitForStage('U2', 'entered');
    for (const p of [p1, p2, pv]) {
      await waitForText(p.getByTestId('draw-entries'), /^2$/, 10_000);
      await waitForText(p.getByTestId('draw-odds'), /^1 coupon for 2 entries: each entry has a 50% chance\.$/, 10_000);
    }
    await shotOf(p1, '05-sale-entered');
    await checkA11y(p1, 'sale-entered');
    // U2 withdraws (the count drops on U1's page) and enters again.
    assert.equal(await press('U2', 'draw-withdraw', 'DELETE'), 204);
    await waitForStage('U2', 'withdrawn');
    await waitForText(p2.getByTestId('draw-status'), /^You withdrew from the draw\. You can enter again until /);
    await waitForText(p1.getByTestId('draw-entries'), /^1$/, 10_000);
    assert.ok([200, 201].includes(await press('U2', 'draw-enter', 'POST')), 'entered again');
    await waitForStage('U2', 'entered');
    for (const p of [p1, pv]) await waitForText(p.getByTestId('draw-entries'), /^2$/, 10_000);
    enteredAt = Date.now();
    assert.ok(enteredAt < closesAt.getTime() - 1000, `both entered before the close (${closesAt.getTime() - enteredAt} ms to spare)`);
    step(`entered ${closesAt.getTime() - enteredAt} ms before the close`);
    await waitForText(admin.locator('[data-stat="draw-entries"]'), /^2$/, 10_000);
    await waitForText(admin.locator('[data-stat="draw-withdrawn"]'), /^[01]$/);
  }, 90_000);

  story('entries close: the digest is sealed; "Draw now" waits for the beacon, which the admin enters, then draws', async () => {
    // Until the close: nothing to do but wait (the entries are in).
    await waitForText(pages.U1.page.getByTestId('draw-clock'), /^The draw waits for the value of /, closesAt.getTime() - Date.now() + 10_000);
    for (const name of ['U1', 'U2']) {
      await waitForStage(name, 'entered');
      // Each page re-renders on its own one-second clock: U2's may pass the
      // close a moment after U1's.
      await pages[name].page.getByTestId('draw-withdraw').waitFor({ state: 'hidden', timeout: 5_000 });
    }
    // The sealed digest reaches the pages (read 3–7 s after the close).
    for (const name of ['U1', 'U2', 'V']) await waitForText(pages[name].page.getByTestId('draw-digest'), /^[0-9a-f]{64}$/, 15_000);
    await shotOf(pages.V.page, '06-sale-visitor-sealed');

    await waitForText(admin.getByTestId('admin-draw-state'), /^Entries are closed; the draw waits for the value of test beacon round/, 10_000);
    await admin.getByTestId('admin-draw-now').click();
    await waitForText(admin.getByTestId('admin-draw-message'), /^Not drawn \(beacon_missing\): /);
    await admin.getByTestId('admin-draw-beacon').fill(BEACON);
    await admin.getByRole('button', { name: 'Save beacon' }).click();
    await waitForText(admin.getByTestId('admin-draw-beacon-message'), /^Beacon saved\.$/);
    await waitForText(admin.getByTestId('admin-draw-beacon-round'), new RegExp(`Value: ${BEACON}\\.$`), 10_000);
    await shotOf(admin, '07-admin-beacon-entered');
    await checkA11y(admin, 'admin-draw-sealed');
    const drawn = admin.waitForResponse((r) => r.url().endsWith(`/api/admin/events/${eventId}/draw`) && r.request().method() === 'POST');
    await admin.getByTestId('admin-draw-now').click();
    assert.ok([200, 202].includes((await drawn).status()), 'the draw was accepted');
    await waitForText(admin.getByTestId('admin-draw-state'), /^Drawn /, 10_000);
  }, ENTRY_WINDOW_SECS * 1000 + 60_000);

  story('the result is pushed: one won, with the time to claim by; the other is #1 on the waitlist', async () => {
    first = await Promise.any(['U1', 'U2'].map((name) => waitForStage(name, 'won', 15_000).then(() => name))).catch(async () => {
      throw new Error(`nobody won (U1 ${await stageOf('U1')}, U2 ${await stageOf('U2')})`);
    });
    second = first === 'U1' ? 'U2' : 'U1';
    step(`won first: ${first}`);
    const pf = pages[first].page;
    const ps = pages[second].page;

    // The winner: "claim before HH:MM:SS", a countdown from at most the claim window, the button.
    await waitForText(pf.getByTestId('draw-status'), /^You won — claim before \d\d:\d\d:\d\d\.$/);
    await waitForText(pf.getByTestId('draw-claim-countdown'), /^00:(30|[0-2]\d)$/);
    await waitForText(pf.getByTestId('draw-rank'), /^#1$/);
    const claim = pf.getByTestId('get-coupon');
    await waitForText(claim, /^Get your coupon$/);
    assert.equal(await claim.isEnabled(), true);
    await shotOf(pf, '08-sale-won');
    await checkA11y(pf, 'sale-won');

    // The other: not drawn, first on the waitlist, no button.
    await waitForStage(second, 'waitlisted');
    await waitForText(ps.getByTestId('draw-status'), /^Not drawn this time — you are #1 on the waitlist\./, 10_000);
    await waitForText(ps.getByTestId('draw-rank'), /^#2$/);
    await waitForText(ps.getByTestId('draw-waitlist'), /^#1$/);
    assert.equal(await ps.getByTestId('get-coupon').isVisible(), false, 'no "get coupon" on the waitlist');
    await shotOf(ps, '09-sale-waitlisted');
    await checkA11y(ps, 'sale-waitlisted');

    // The visitor learns the draw was made (its waitlist replaced the count) and can verify it.
    await waitForText(pages.V.page.getByTestId('draw-result'), /^1 entry of 2 won so far; 1 on the waitlist\.$/, 10_000);
    await pages.V.page.getByTestId('draw-verify').waitFor();

    await waitForText(admin.locator('[data-stat="draw-winners"]'), /^1$/, 10_000);
    await waitForText(admin.locator('[data-stat="draw-held"]'), /^1$/);
    await waitForText(admin.locator('[data-stat="draw-waitlisted"]'), /^1$/);
    assert.equal(await admin.locator('[data-testid="admin-draw-rounds"] li').count(), 1);
    await shotOf(admin, '10-admin-drawn');
  });

  story(
    'a no-show: the win lapses after 30 s, the next rank is pushed draw.won, claims, and the draw closes sold out',
    async () => {
      const pf = pages[first].page;
      const ps = pages[second].page;
      await waitForStage(first, 'expired', (CLAIM_WINDOW_SECS + 10) * 1000);
      const lapsedAt = Date.now();
      await waitForText(pf.getByTestId('draw-status'), /^Your win lapsed/);
      await pf.getByTestId('get-coupon').waitFor({ state: 'hidden' });
      await shotOf(pf, '11-sale-win-lapsed');

      // The backfill: pushed to the second's page, no reload, no read of the entry.
      await waitForStage(second, 'won', 10_000);
      assert.deepEqual(entryReads(second, lapsedAt), [], `${second} read its entry instead of being told`);
      await waitForText(ps.getByTestId('draw-status'), /^You won — claim before \d\d:\d\d:\d\d\.$/);
      await waitForText(ps.getByTestId('draw-claim-countdown'), /^00:(30|[0-2]\d)$/);
      const claim = ps.getByTestId('get-coupon');
      await waitForText(claim, /^Get your coupon$/);
      await shotOf(ps, '12-sale-won-by-backfill');
      await checkA11y(ps, 'sale-won-backfill');

      const issued = ps.waitForResponse((r) => r.url().endsWith('/api/coupons/issue') && r.request().method() === 'POST');
      await claim.click();
      const res = await issued;
      assert.equal(res.status(), 201, `the claim answered ${res.status()}: ${await res.text()}`);
      const code = await waitForText(ps.getByTestId('won-code'), new RegExp(`^${prefix}-[A-Z0-9]{8}$`));
      step(`${second} claimed ${code}`);
      await waitForStage(second, 'claimed');
      await waitForText(ps.getByTestId('draw-status'), /^You won the draw and claimed your coupon\.$/);
      await waitForText(ps.locator(`[data-testid="my-coupon"][data-code="${code}"]`), new RegExp(code));

      for (const name of [second, first, 'V']) {
        const p = pages[name].page;
        await waitForText(p.getByTestId('soldout-banner'), /^Sold out — the draw is closed\.$/, 10_000).catch(async (e) => {
          const stock = await p.getByTestId('stock-text').textContent();
          throw new Error(`page ${name} (stage ${await stageOf(name)}, stock "${stock}"): ${e.message}`);
        });
        await waitForText(p.getByTestId('stock-text'), /^0 of 1 left$/);
        await p.getByTestId('get-coupon').waitFor({ state: 'hidden' });
      }
      closedAt = Date.now();
      await shotOf(ps, '13-sale-claimed');
      await checkA11y(ps, 'sale-claimed');
      await shotOf(pages.V.page, '14-sale-sold-out-visitor');

      await waitForText(admin.locator('[data-stat="draw-claimed"]'), /^1$/, 10_000);
      await waitForText(admin.locator('[data-stat="draw-expired"]'), /^1$/);
      await waitForText(admin.locator('[data-stat="draw-winners"]'), /^2$/);
      await waitForText(admin.locator('[data-stat="draw-waitlisted"]'), /^0$/);
      await waitForText(admin.locator('[data-testid="admin-draw-rounds"] li:nth-child(2)'), /1 by backfill$/);
      await shotOf(admin, '15-admin-draw-after-backfill');
    },
    (CLAIM_WINDOW_SECS + 60) * 1000,
  );

  story('"Verify this draw" recomputes the proof in the page, for a visitor and for both entrants', async () => {
    for (const name of ['V', first, second]) {
      const p = pages[name].page;
      await p.getByTestId('draw-verify').click();
      const verdict = p.getByTestId('draw-verdict');
      await waitForText(verdict, /The draw checks out\./);
      assert.equal(await verdict.getAttribute('data-ok'), 'true');
      const lines = await p.getByTestId('draw-verify-result').innerText();
      assert.match(lines, /Passed: the seed revealed by the draw hashes \(SHA-256\) to the commitment\./);
      assert.match(lines, /Passed: the commitment is the one this page showed before\./);
      assert.match(lines, /Passed: the 2 entrants’ ids hash \(SHA-256\) to the entrants digest\./);
      assert.match(lines, /Passed: the entrants digest is the one this page showed when entries closed\./);
      assert.ok(lines.includes(`The beacon mixed into the ranking (${BEACON_ROUND}): ${BEACON}`), `the beacon is named: ${lines}`);
      assert.match(lines, /Passed: the 2 entrants are ranked in the order the seed and the beacon give\./);
      assert.match(lines, /Passed: the 2 wins went down the ranking in order/);
      assert.match(lines, /Passed: the rounds add up to the 2 wins\./);
      if (name === first) assert.match(lines, /Your rank in the draw: #1 of 2 — among the winners\./);
      if (name === second) assert.match(lines, /Your rank in the draw: #2 of 2 — among the winners\./);
    }
    await pages[first].page.getByTestId('draw-verify-result').scrollIntoViewIfNeeded();
    await shotOf(pages[first].page, '16-sale-draw-verified');
    await checkA11y(pages[first].page, 'sale-verified');

    // The same proof, recomputed here with node's crypto (not the page's code).
    const proof = await (await admin.request.get(`${BASE}/api/coupons/events/${eventId}/draw/proof`)).json();
    assert.equal(proof.mode, 'draw');
    assert.equal(proof.seed_commitment, commitment);
    assert.equal(proof.beacon_round, BEACON_ROUND);
    assert.equal(proof.beacon, BEACON);
    const seed = Buffer.from(proof.seed, 'hex');
    assert.equal(sha256(seed).toString('hex'), commitment, 'SHA-256(seed) is the commitment');
    const key = (id) => sha256(Buffer.concat([seed, Buffer.from(BEACON, 'hex'), Buffer.from(String(id))]));
    const ranked = [...proof.pre_queue].sort((a, b) => Buffer.compare(key(a), key(b)) || a - b);
    assert.deepEqual(proof.pre_queue, ranked, 'the entrants are in the seeded, beaconed order');
    const sorted = [...proof.pre_queue].sort((a, b) => a - b);
    assert.equal(sha256(Buffer.from(sorted.map((id) => `${id}\n`).join(''))).toString('hex'), proof.entrants_digest);
    assert.deepEqual(proof.admitted, proof.pre_queue, 'rank 1 won, then rank 2 by backfill');
    assert.deepEqual(
      proof.rounds.map((r) => r.count),
      [1, 1],
    );
  });

  story('no reload, and no page read its entry on a timer while its socket was up', async () => {
    for (const [name, { page }] of Object.entries(pages)) {
      assert.equal(await page.evaluate(() => window.__sameDocument === true), true, `${name}'s page was not reloaded`);
    }
    const report = {};
    for (const name of ['U1', 'U2', 'V']) {
      const x = pages[name];
      const reopened = x.sockets.filter((at) => at >= enteredAt && at <= closedAt).length;
      // From the entries to the sell-out an entry is never read: the enter
      // answered with it and the frames said the rest (a read may follow a
      // reconnect, or a view read that came before the page's own frame).
      const reads = entryReads(name, enteredAt).filter((c) => c.at <= closedAt);
      // The draw's view: after the close for the sealed digest (up to three
      // times while it is not sealed), once when the page learnt of the
      // draw; again after a reconnect.
      const views = viewReads(name, enteredAt).filter((c) => c.at <= closedAt);
      report[name] = { entryReads: reads.length, viewReads: views.length, socketsOpened: x.sockets.length, reconnects: reopened };
      assert.ok(reads.length <= 1 + reopened, `${name} read its entry ${reads.length} times (${reopened} reconnects)`);
      assert.ok(views.length <= 4 + 2 * reopened, `${name} read the draw ${views.length} times (${reopened} reconnects)`);
    }
    step(`requests: ${JSON.stringify(report)}`);
    assert.equal(entryReads('V').length, 0, 'a visitor has no entry to read');
    assert.equal(pages.V.closes.length, 0, "the visitor's socket stayed up");
  });

  story('no uncaught errors in any page', async () => {
    assert.deepEqual(errors, []);
  });

  story('no accessibility violations (axe-core, WCAG 2.1 AA) on the draw screens', async () => {
    assert.deepEqual(a11y, []);
  });
});
