// End-to-end: the real stack behind nginx (scripts/dev up), real Chromium.
//
// One story, in order (later steps use what earlier ones made):
//   1. three customers open the sale page on phones: U in two browser
//      contexts (two devices of one user), W a watcher; they sign up / in.
//   2. the demo admin signs in to /admin/, creates an event through the form
//      — a bad field first, the server's message shows next to it — in
//      Asia/Seoul time, then edits it (raise stock, move the end, new text).
//   3. the sale opens: U presses "get coupon" on device A; device B shows the
//      same coupon through the push; the watcher's stock bar moves.
//   4. B loses the network; U wins a second coupon on A; B comes back,
//      reconnects by itself and gets it through `resume`.
//   5. a helper account takes the last coupon over the API: "sold out"
//      appears on the watcher's page (and on U's).
//   6. A reloads: both coupons are in "my coupons"; a new tab is signed in
//      without a form (the session is handed over by the open tab).
//   7. the admin saw the numbers change without reloading, finds a coupon by
//      code, exports the coupons as CSV (a download), raises the stock after
//      the sell-out and then closes the sale — both show on the open sale pages at once, the visitor's too — and
//      finds the event in the list by a title search and the status filter.
//   7b. the admin's audit trail holds the event's creation, both edits and
//      the close (newest first, its own admin id, the request ids); the
//      first edit's row opens from the keyboard onto what changed; the
//      event page's History lists the same four.
//   8. U signs out on device A: a third browser holding the same session is
//      signed out by the server (its socket closed with 4003) while device B,
//      U's other session, stays signed in and connected.
// All along, V — a visitor who never signs in — watches the sale over the
// socket: the live count, sold out, the admin's changes, and not one
// polling request.
// Screenshots of every screen go to web/test-output/screenshots/.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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
  prepareOutput,
  shot,
  signInUi,
  signUpInUi,
  utc,
  waitForText,
  wallTime,
} from './helpers.mjs';

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
const password = `pw-${run}-secret`;
const userU = { name: 'Una Buyer', email: `web-${run}-u@example.com`, password };
const userW = { name: 'Walt Watcher', email: `web-${run}-w@example.com`, password };
const userH = { name: 'Helper', email: `web-${run}-h@example.com`, password };
const prefix = `W${run.toUpperCase().replace(/[^A-Z0-9]/g, '')}`.slice(0, 12);

const errors = [];
const a11y = []; // accessibility violations, checked at the end
async function checkA11y(page, name) {
  for (const v of await a11yViolations(page, name)) a11y.push(`${name}: ${v}`);
}
let browser;
let admin; // page
let pageA; // U, device A
let pageB; // U, device B
let pageW; // watcher
let pageV; // a visitor who is not signed in
let pageC; // a copy of device A's session in another browser
let eventId;
/** The visitor's API requests once its socket is live (there should be none but one at opening). */
const visitorCalls = [];
let visitorWatching = false;
let staleRead = null; // how the visitor's opening-time read was answered late with an old body
/** WebSocket closes seen per page. */
const socketCloses = new Map();
function trackSockets(name, page) {
  socketCloses.set(name, 0);
  page.on('websocket', (ws) => ws.on('close', () => socketCloses.set(name, socketCloses.get(name) + 1)));
}
let startAt; // Date
const won = [];
const issues = []; // Idempotency-Key of every issue request of device A
let failed = false;

/** Later steps make no sense after an earlier one failed: skip them instead of piling up errors. */
function step(name, fn, timeout = 60_000) {
  it(name, { timeout }, async (t) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    note(`start: ${name}`);
    try {
      await fn(t);
      note(`ok: ${name}`);
    } catch (e) {
      failed = true;
      note(`FAILED: ${name}: ${e?.stack ?? e}`);
      for (const [label, p] of [['admin', admin], ['A', pageA], ['B', pageB], ['W', pageW]]) {
        if (p && !p.isClosed()) await shot(p, `failure-${label}.png`).catch(() => {});
      }
      throw e;
    }
  });
}

describe(`web front end against ${BASE} (browser zone ${TZ})`, { timeout: 170_000 }, () => {
  before(async () => {
    prepareOutput();
    browser = await launch();
    note(`chromium ${browser.version()}, run ${run}`);
  });

  after(async () => {
    // A run that failed half-way must not leave its sale open on the demo's sale page.
    if (eventId && admin && !admin.isClosed()) {
      await admin
        .evaluate(async (id) => {
          const s = JSON.parse(sessionStorage.getItem('coupon.admin.session') ?? '{}');
          if (s.access) await fetch(`/api/admin/events/${id}/close`, { method: 'POST', headers: { Authorization: `Bearer ${s.access}` } });
        }, eventId)
        .catch(() => {});
    }
    await browser?.close();
    note(`screenshots in ${SHOTS}`);
  });

  step('customers sign up and sign in on the sale page (phone-sized)', async () => {
    const ctxA = await newContext(browser, 'U-A', PHONE, errors);
    const ctxB = await newContext(browser, 'U-B', PHONE, errors);
    const ctxW = await newContext(browser, 'W', PHONE, errors);
    pageA = await ctxA.newPage();
    pageB = await ctxB.newPage();
    pageW = await ctxW.newPage();
    trackSockets('B', pageB);
    await Promise.all([pageA.goto(`${BASE}/`), pageB.goto(`${BASE}/`), pageW.goto(`${BASE}/`)]);
    await pageA.getByRole('heading', { name: 'Sign in to take part' }).waitFor();
    await shot(pageA, '01-sale-home-signed-out.png');
    await checkA11y(pageA, 'sale-home-signed-out');

    await signUpInUi(pageA, userU);
    await signInUi(pageB, userU);
    await signUpInUi(pageW, userW);
    for (const p of [pageA, pageB, pageW]) {
      await waitForText(p.getByTestId('signed-in-as'), /@example\.com/);
      await waitForText(p.locator('#conn'), /Live/);
    }
    // Nothing wider than the phone's screen.
    const overflow = await pageA.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a 390px screen`);
    await shot(pageA, '02-sale-home-signed-in.png');
  });

  step('admin creates an event through the form: a server validation error first, then success', async () => {
    const ctx = await newContext(browser, 'admin', DESKTOP, errors);
    admin = await ctx.newPage();
    await admin.goto(`${BASE}/admin/`);
    const form = admin.locator('#signin-form');
    await form.getByLabel('Email').fill(ADMIN.email);
    await form.getByLabel('Password').fill(ADMIN.password);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await admin.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    await waitForText(admin.locator('#conn'), /Live/);
    await shot(admin, '03-admin-events.png');
    await checkA11y(admin, 'admin-events');

    await admin.getByTestId('new-event').click();
    await admin.getByRole('heading', { name: 'New event' }).waitFor();
    const f = admin.locator('#event-form');
    // The sale opens ~25 s from now (time to edit it and open the pages),
    // typed as Seoul wall-clock time.
    startAt = new Date(Math.ceil((Date.now() + 25_000) / 1000) * 1000);
    const endAt = new Date(startAt.getTime() + 2 * 3600_000);
    await f.getByLabel('Title').fill(`Web test sale ${run}`);
    await f.getByLabel('Description').fill('Created by the browser test.');
    await f.getByLabel('Total coupons').fill('1');
    await f.getByLabel('Limit per person').fill('2');
    await f.getByLabel('Starts').fill(wallTime(startAt));
    await f.getByLabel('Ends').fill(wallTime(endAt));
    await f.getByLabel('Discount type').selectOption('percentage');
    await f.getByLabel('Discount', { exact: true }).fill('15');
    await f.getByLabel('Code prefix').fill('bad prefix');
    await f.getByRole('button', { name: 'Create event' }).click();

    // The server's per-field message, next to the field, which is marked invalid and focused.
    const err = f.locator('[data-error-for="code_prefix"]');
    const text = await waitForText(err, /A-Z/);
    assert.match(text, /^Code prefix must be 1 to 12 characters A-Z or 0-9/);
    assert.equal(await f.getByLabel('Code prefix').getAttribute('aria-invalid'), 'true');
    assert.equal(await admin.evaluate(() => document.activeElement?.getAttribute('name')), 'code_prefix');
    const describedBy = await f.getByLabel('Code prefix').getAttribute('aria-describedby');
    assert.ok(describedBy?.includes(await err.getAttribute('id')), 'the error is the field’s description');
    assert.equal(await f.locator('[data-error-for]:not([hidden])').count(), 1, 'only the bad field is flagged');
    await shot(admin, '04-admin-create-validation-error.png');
    await checkA11y(admin, 'admin-create-with-error');

    await f.getByLabel('Code prefix').fill(prefix);
    await f.getByRole('button', { name: 'Create event' }).click();
    await admin.waitForURL(/#\/events\/\d+$/);
    eventId = Number(/#\/events\/(\d+)$/.exec(admin.url())[1]);
    await waitForText(admin.locator('#event-title'), new RegExp(`Web test sale ${run}`));
    note(`event ${eventId} starts ${utc(startAt)} (${wallTime(startAt)} ${TZ})`);

    // Typed in Seoul time, stored as the same instant in UTC.
    const res = await admin.request.get(`${BASE}/api/coupons/events/${eventId}`);
    const ev = await res.json();
    assert.equal(ev.start_time, utc(startAt), 'start_time is the Seoul wall time converted to UTC');
    assert.equal(ev.end_time, utc(endAt));
    // And shown back in the operator's zone.
    await waitForText(admin.getByTestId('event-facts'), /GMT\+9/);
  });

  step('admin edits the event: raises the stock, moves the end, changes the text', async () => {
    const f = admin.locator('#edit-form');
    await waitForText(f.getByLabel('Title'), /.*/); // form is filled
    // A datetime-local input drops ":00" seconds from its value (one start
    // time in sixty lands on a whole minute).
    const shown = (await f.getByLabel('Starts').inputValue()).replace(/^(.{16})$/, '$1:00');
    assert.equal(shown, wallTime(startAt), 'edit form shows Seoul time');
    const newEnd = new Date(startAt.getTime() + 3 * 3600_000);
    await f.getByLabel('Total coupons').fill('3');
    await f.getByLabel('Ends').fill(wallTime(newEnd));
    await f.getByLabel('Description').fill('Three coupons, two per person. Edited by the browser test.');
    await f.getByRole('button', { name: 'Save changes' }).click();
    await waitForText(f.getByTestId('edit-form-message'), /Saved: .*total_count/);
    await waitForText(admin.locator('[data-stat="total"]'), /^3$/);
    // The public view is cached per instance for up to a second.
    let ev;
    for (let i = 0; i < 30; i++) {
      ev = await (await admin.request.get(`${BASE}/api/coupons/events/${eventId}`)).json();
      if (ev.total_count === 3) break;
      await admin.waitForTimeout(100);
    }
    assert.equal(ev.total_count, 3);
    assert.equal(ev.end_time, utc(newEnd));
    assert.equal(ev.start_time, utc(startAt), 'untouched fields are not sent');
    assert.match(ev.description, /Edited by the browser test/);
    // That answer came from one coupon-service instance; the other may serve
    // its cached view (and notify-service's snapshot fallback, for an event
    // not yet preloaded into Redis, asks one of them) for up to a second more.
    await admin.waitForTimeout(1100);
    await shot(admin, '05-admin-event-detail.png');
    await checkA11y(admin, 'admin-event-detail');
  });

  step('the new sale is on the home list (paged: "Show more" until it is there)', async () => {
    const item = pageW.locator(`[data-testid="sale-list"] li[data-event-id="${eventId}"]`);
    const more = pageW.getByTestId('more-sales');
    // The gateway's micro-cache may answer the first load after a pause with
    // its stale copy while it refreshes (proxy_cache_use_stale updating): a
    // page loaded again a moment later has the new sale, as a person's
    // reload would.
    for (let load = 0; load < 5 && (await item.count()) === 0; load++) {
      if (load > 0) await pageW.waitForTimeout(1000);
      await pageW.goto(`${BASE}/`);
      await pageW.getByTestId('sale-list').locator('li').first().waitFor();
      for (let i = 0; i < 20 && (await item.count()) === 0; i++) {
        if (await more.isVisible()) await more.click();
        await pageW.waitForTimeout(300);
      }
    }
    await waitForText(item, new RegExp(`Web test sale ${run}`));
    await waitForText(item.getByTestId('status'), /Coming up/);
  });

  step('before the start: countdown, disabled button, live stock bar', async () => {
    const ctxV = await newContext(browser, 'V', PHONE, errors);
    pageV = await ctxV.newPage();
    pageV.on('request', (r) => {
      if (visitorWatching && new URL(r.url()).pathname.startsWith('/api/')) visitorCalls.push(new URL(r.url()).pathname);
    });
    // The gateway caches event reads for a second, so the read the visitor's
    // page makes at opening time may carry the count from before a coupon
    // went, and land after the push that moved it. Replay exactly that: the
    // opening-time read is answered with the body of the first read, once the
    // push has been shown. The live count must not be taken back.
    let beforeOpening = null;
    let replayed = false;
    await pageV.route(`**/api/coupons/events/${eventId}`, async (route) => {
      if (!visitorWatching || !beforeOpening) {
        const response = await route.fetch();
        beforeOpening = { status: response.status(), headers: response.headers(), body: await response.body() };
        return route.fulfill({ response });
      }
      if (replayed) return route.fallback();
      replayed = true;
      const pushed = await waitForText(pageV.getByTestId('stock-text'), /^2 of 3 left$/, 20_000).then(
        () => true,
        () => false,
      );
      // A cache hit carries the gateway's own Date (the page sets its clock by it).
      await route.fulfill({ ...beforeOpening, headers: { ...beforeOpening.headers, date: new Date().toUTCString() } });
      staleRead = pushed ? 'after the push' : 'without a push';
    });
    await Promise.all([pageA, pageB, pageW, pageV].map((p) => p.goto(`${BASE}/events/${eventId}`)));
    for (const p of [pageA, pageB, pageW, pageV]) {
      await waitForText(p.locator('#event-title'), new RegExp(run));
      await waitForText(p.locator('#conn'), /Live/);
    }
    // The visitor is not signed in, and live over the socket all the same.
    await pageV.getByRole('heading', { name: 'Sign in to take part' }).waitFor();
    await waitForText(pageV.getByTestId('stock-text'), /^3 of 3 left$/);
    visitorWatching = true;
    const button = pageA.getByTestId('get-coupon');
    assert.ok(Date.now() < startAt.getTime() - 1000, 'the test reached the sale page before it opened');
    assert.equal(await button.isDisabled(), true, 'button disabled before the start');
    await waitForText(button, /Opens in \d\d:\d\d/);
    await waitForText(pageA.getByTestId('countdown'), /^\d\d:\d\d$/);
    await waitForText(pageA.getByTestId('stock-text'), /^3 of 3 left$/);
    await waitForText(pageA.getByTestId('starts-at'), /GMT\+9/);
    await shot(pageA, '06-sale-countdown.png');
    await checkA11y(pageA, 'sale-countdown');
  });

  step('the sale opens: A wins, B (same user, other device) shows it through the push', async () => {
    const buttonA = pageA.getByTestId('get-coupon');
    const wait = startAt.getTime() - Date.now() + 15_000;
    await pageA.waitForFunction(() => !document.querySelector('[data-testid="get-coupon"]')?.disabled, null, { timeout: wait });
    await waitForText(buttonA, /^Get coupon$/);
    // A double click (limit is 2 per person) must still give one coupon:
    // the button is disabled while the request is in flight, and the request
    // carries a fresh Idempotency-Key.
    pageA.on('request', (r) => {
      if (r.url().endsWith('/api/coupons/issue')) issues.push(r.headers()['idempotency-key']);
    });
    await buttonA.dblclick();
    const code = await waitForText(pageA.getByTestId('won-code'), /^[A-Z0-9]+-[A-Z0-9]+$/);
    assert.equal(issues.length, 1, `one request for a double click, saw ${issues.length}`);
    assert.match(issues[0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(code.startsWith(`${prefix}-`), `code ${code} has the event prefix`);
    won.push(code);
    await waitForText(pageB.getByTestId('won-code'), new RegExp(`^${code}$`), 10_000);
    await waitForText(pageB.locator(`[data-testid="my-coupon"][data-code="${code}"]`), new RegExp(code));
    // The watchers' bars moved with event.stock, the visitor's too.
    await waitForText(pageW.getByTestId('stock-text'), /^2 of 3 left$/, 10_000);
    // The visitor's late opening-time read waits for the push, then lands:
    // the count stays live.
    for (let i = 0; i < 250 && staleRead === null; i++) await pageV.waitForTimeout(100);
    assert.equal(staleRead, 'after the push', "the visitor's bar did not move with event.stock before its late read landed");
    await pageV.waitForTimeout(300);
    assert.equal(await pageV.getByTestId('stock-text').textContent(), '2 of 3 left', 'a cached read older than the push took the count back');
    assert.equal(await pageA.getByTestId('my-coupon').count(), 1, 'exactly one coupon after the double click');
    assert.equal(await pageW.getByTestId('outcome-won').count(), 0, 'the watcher did not win anything');
    await shot(pageA, '07-sale-won-device-A.png');
    await checkA11y(pageA, 'sale-won');
    await shot(pageB, '08-sale-won-device-B-push.png');
  });

  step('B drops off the network, misses a win, reconnects by itself and catches up with resume', async () => {
    await pageB.context().setOffline(true);
    await waitForText(pageB.locator('#conn'), /Offline|Reconnecting/);
    await shot(pageB, '09-sale-offline-indicator.png');
    const buttonA = pageA.getByTestId('get-coupon');
    await waitForText(buttonA, /^Get coupon$/);
    await buttonA.click();
    const code = await waitForText(pageA.getByTestId('won-code'), new RegExp(`^${prefix}-(?!${won[0].split('-')[1]})`));
    won.push(code);
    assert.equal(issues.length, 2);
    assert.notEqual(issues[1], issues[0], 'a new press, a new Idempotency-Key');
    // Holding the limit (2): the button says so.
    await waitForText(buttonA, /You have your 2 coupons/);
    await pageB.waitForTimeout(500);
    assert.equal(await pageB.locator(`[data-code="${code}"]`).count(), 0, 'B could not know yet');
    await pageB.context().setOffline(false);
    await waitForText(pageB.locator('#conn'), /Live/, 20_000);
    await waitForText(pageB.getByTestId('won-code'), new RegExp(`^${code}$`), 10_000);
    await waitForText(pageB.locator(`[data-testid="my-coupon"][data-code="${code}"]`), new RegExp(code));
    await shot(pageB, '10-sale-after-reconnect-resume.png');
  });

  step('the last coupon goes elsewhere: sold out appears on every watcher', async () => {
    const h = await apiClient();
    try {
      await h.signUpAndIn(userH);
      const r = await h.call('POST', '/api/coupons/issue', { event_id: eventId }, { 'Idempotency-Key': crypto.randomUUID() });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.remaining, 0);
    } finally {
      await h.dispose();
    }
    for (const [who, p] of Object.entries({ W: pageW, A: pageA, B: pageB, V: pageV })) {
      await waitForText(p.getByTestId('soldout-banner'), /Sold out/, 10_000).catch(async (e) => {
        const bar = await p.getByTestId('stock-text').textContent();
        const badge = await p.locator('.sale [data-testid="status"]').textContent();
        throw new Error(`page ${who} (bar "${bar}", badge "${badge}"): ${e.message}`);
      });
      await waitForText(p.getByTestId('stock-text'), /^0 of 3 left$/);
    }
    // From countdown to sold out (tens of seconds) the visitor's page asked
    // the API once at most: for the authoritative numbers at opening time.
    // Everything else came over the socket — no polling.
    note(`visitor API calls while live: ${JSON.stringify(visitorCalls)}`);
    assert.ok(visitorCalls.length <= 1, `the visitor's page polled: ${visitorCalls}`);
    await shot(pageV, '11b-sale-sold-out-visitor.png');
    // One status, the banner: no button, no second "sold out".
    await pageW.getByTestId('get-coupon').waitFor({ state: 'hidden' });
    assert.equal((await pageW.locator('.sale').innerText()).match(/sold out/gi)?.length, 1, '"sold out" said once');
    await pageW.waitForTimeout(300); // let the bar's transition finish for the picture
    await shot(pageW, '11-sale-sold-out-watcher.png');
    await checkA11y(pageW, 'sale-sold-out');
  });

  step('a reload after the sale shows the coupons in "my coupons"', async () => {
    await pageA.reload();
    await waitForText(pageA.getByTestId('signed-in-as'), new RegExp(userU.email.replace(/\./g, '\\.')));
    for (const code of won) {
      await waitForText(pageA.locator(`[data-testid="my-coupon"][data-code="${code}"]`), new RegExp(code));
    }
    assert.equal(await pageA.getByTestId('my-coupon').count(), 2);
    await waitForText(pageA.getByTestId('soldout-banner'), /Sold out/);
    await pageA.getByRole('heading', { name: 'My coupons' }).scrollIntoViewIfNeeded();
    await shot(pageA, '12-sale-my-coupons-after-reload.png');

    // A new tab of the same browser gets the session from the open one (no sign-in).
    const tab = await pageA.context().newPage();
    await tab.goto(`${BASE}/`);
    await waitForText(tab.getByTestId('signed-in-as'), new RegExp(userU.email.replace(/\./g, '\\.')));
    await waitForText(tab.locator(`[data-testid="my-coupon"][data-code="${won[1]}"]`), new RegExp(won[1]));
    await tab.close();
  });

  step('admin: live stats without reload, coupons searchable by code, close the sale', async () => {
    // The detail page has been open since the edit: no reload.
    await waitForText(admin.locator('[data-stat="issued"]'), /^3$/, 10_000);
    await waitForText(admin.locator('[data-stat="remaining"]'), /^0$/);
    await waitForText(admin.getByTestId('status'), /Sold out/);

    const search = admin.getByLabel('Code starts with');
    await search.fill(won[1].toLowerCase().slice(0, prefix.length + 4));
    await admin.getByRole('button', { name: 'Search', exact: true }).click();
    await waitForText(admin.getByTestId('coupons-info'), /matching/);
    const rows = admin.locator('[data-testid="coupons-table"] tbody tr[data-code]');
    const codes = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-code')));
    assert.ok(codes.includes(won[1]), `search found ${won[1]} in ${codes}`);
    assert.ok(codes.every((c) => c.startsWith(won[1].slice(0, prefix.length + 4))), 'only matching codes');
    await shot(admin, '13-admin-coupons-search.png');

    // The issued coupons as CSV: a plain link cannot carry the Bearer token,
    // so the page fetches it with the admin's token and saves it as a
    // download under the server's file name.
    const [download] = await Promise.all([
      admin.waitForEvent('download', { timeout: 15_000 }),
      admin.getByRole('button', { name: 'Export coupons (CSV)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `event-${eventId}-coupons.csv`);
    assert.equal(await download.failure(), null, 'the download completed');
    const csv = await readFile(await download.path(), 'utf8');
    assert.ok(csv.startsWith('code,user_id,issued_at,redeemed_at'), `CSV header: ${JSON.stringify(csv.slice(0, 80))}`);
    const lines = csv.split(/\r?\n/).filter((l) => l !== '');
    assert.equal(lines.length, 1 + 3, `a line per issued coupon: ${JSON.stringify(lines)}`);
    for (const code of won) assert.ok(lines.some((l) => l.startsWith(`${code},`)), `${code} is in the CSV`);
    await waitForText(admin.getByTestId('export-coupons-message'), new RegExp(`^Downloaded event-${eventId}-coupons\\.csv\\.$`));

    // One more coupon after the sell-out: every open sale page shows it at
    // once (event.updated), the visitor's too, without polling.
    const f = admin.locator('#edit-form');
    await f.getByLabel('Total coupons').fill('4');
    await f.getByRole('button', { name: 'Save changes' }).click();
    await waitForText(f.getByTestId('edit-form-message'), /Saved: .*total_count/);
    for (const p of [pageV, pageW]) {
      await waitForText(p.getByTestId('stock-text'), /^1 of 4 left$/, 5_000);
      assert.equal(await p.getByTestId('soldout-banner').count(), 0, 'no longer sold out');
    }
    await waitForText(pageV.getByTestId('status'), /On sale/);

    await admin.getByTestId('close-event').click();
    await admin.getByTestId('confirm-close').click();
    await waitForText(admin.getByTestId('closed-note'), /Closed/);
    await waitForText(admin.getByTestId('status'), /Ended/);
    // The close reaches the open sale pages at once.
    for (const p of [pageV, pageW]) await waitForText(p.getByTestId('status'), /Ended/, 5_000);
    await pageW.getByTestId('get-coupon').waitFor({ state: 'hidden' });
    note(`visitor API calls while live: ${JSON.stringify(visitorCalls)}`);
    assert.ok(visitorCalls.length <= 1, `the visitor's page polled: ${visitorCalls}`);
    await shot(pageV, '13b-sale-closed-visitor.png');
    await admin.getByRole('link', { name: '← All events' }).click();
    // Many events may exist: find this one by its title (any case) and status.
    await admin.getByTestId('events-search').fill(`SALE ${run.toUpperCase()}`);
    await admin.getByRole('button', { name: 'Search', exact: true }).click();
    await waitForText(admin.getByTestId('events-info'), /^1–1 of 1 event matching/);
    const row = admin.locator(`tr[data-event-id="${eventId}"]`);
    await waitForText(row.locator('[data-col="issued"]'), /^3$/);
    await waitForText(row.getByTestId('status'), /Ended/);
    assert.match(admin.url(), new RegExp(`#/\\?q=SALE\\+${run.toUpperCase()}$`), 'the search is in the address');
    await admin.getByTestId('events-status').selectOption('ended');
    await waitForText(admin.getByTestId('events-info'), /^1–1 of 1 event matching/);
    await admin.getByTestId('events-status').selectOption('upcoming');
    await waitForText(admin.getByTestId('events-info'), /No event matches/);
    assert.equal(await row.count(), 0);
    await admin.getByTestId('events-status').selectOption('ended');
    await waitForText(row.getByTestId('status'), /Ended/);
    await shot(admin, '14-admin-events-after-sale.png');
    await checkA11y(admin, 'admin-events-filtered');
  });

  step('admin: the audit trail holds the creation, both edits and the close; History on the event page too', async () => {
    // The admin's own account id, from the access token the panel holds.
    const adminId = await admin.evaluate(() => {
      const { access } = JSON.parse(sessionStorage.getItem('coupon.admin.session') ?? '{}');
      const claims = access.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return Number(JSON.parse(atob(claims)).sub);
    });
    assert.ok(Number.isInteger(adminId) && adminId > 0, `admin id ${adminId}`);

    await admin.getByTestId('audit-trail').click();
    await admin.getByRole('heading', { name: 'Audit trail', exact: true }).waitFor();
    await admin.getByLabel('Target type', { exact: true }).selectOption('event');
    await admin.getByLabel('Target id', { exact: true }).fill(String(eventId));
    await admin.getByLabel('Admin id', { exact: true }).fill(String(adminId));
    await admin.getByRole('button', { name: 'Filter', exact: true }).click();
    // The refused create (bad code prefix) left no record: four actions.
    await waitForText(admin.getByTestId('audit-info'), /^1–4 of 4 entries matching/);
    assert.match(admin.url(), new RegExp(`#/audit\\?target_type=event&target_id=${eventId}&actor_id=${adminId}$`), 'the filter is in the address');
    const rows = admin.locator('[data-testid="audit-table"] tbody tr[data-audit-id]');
    const seen = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        id: Number(tr.getAttribute('data-audit-id')),
        action: tr.querySelector('[data-col="action"]')?.textContent,
        actor: tr.querySelector('[data-col="actor"]')?.textContent,
        target: tr.querySelector('[data-col="target"] a')?.getAttribute('href'),
        request: tr.querySelector('[data-col="request"]')?.textContent,
      })),
    );
    note(`audit trail of event ${eventId}: ${JSON.stringify(seen)}`);
    assert.deepEqual(
      seen.map((r) => r.action),
      ['event.close', 'event.update', 'event.update', 'event.create'],
      'newest first',
    );
    assert.ok(
      seen.every((r, i) => i === 0 || r.id < seen[i - 1].id),
      'ids descend',
    );
    for (const r of seen) {
      assert.equal(r.actor, String(adminId), 'done by this admin');
      assert.equal(r.target, `#/events/${eventId}`, 'the target links to the event');
      assert.ok(r.request && r.request !== '—', 'each action names its request');
    }

    // The first edit (stock 1 → 3, end moved, new text), opened from the keyboard.
    const edit = rows.nth(2);
    const toggle = edit.getByTestId('audit-toggle');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.focus();
    await admin.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const detail = admin.locator(`tr[data-detail-for="${seen[2].id}"]`);
    await detail.waitFor({ state: 'visible' });
    const stock = detail.locator('tr[data-field="total_count"]');
    await waitForText(stock.locator('[data-side="before"]'), /^1$/);
    await waitForText(stock.locator('[data-side="after"]'), /^3$/);
    await waitForText(detail.locator('tr[data-field="description"] [data-side="after"]'), /Edited by the browser test/);
    assert.equal(await detail.locator('tr[data-field="end_time"]').count(), 1, 'the moved end is listed');
    assert.equal(await detail.locator('tr[data-field="title"]').count(), 0, 'unchanged fields are not');
    // The second edit: stock 3 → 4; the close: closed_at set.
    await rows.nth(1).getByTestId('audit-toggle').click();
    const second = admin.locator(`tr[data-detail-for="${seen[1].id}"]`);
    await waitForText(second.locator('tr[data-field="total_count"] [data-side="after"]'), /^4$/);
    await rows.nth(0).getByTestId('audit-toggle').click();
    const close = admin.locator(`tr[data-detail-for="${seen[0].id}"]`);
    await waitForText(close.locator('tr[data-field="closed_at"] [data-side="before"]'), /^—$/);
    await waitForText(close.locator('tr[data-field="closed_at"] [data-side="after"]'), /GMT\+9/);
    // Read-only: nothing on the screen edits or deletes an entry.
    assert.equal(await admin.locator('[data-testid="audit-table"] button:not([data-testid="audit-toggle"])').count(), 0);
    await shot(admin, '14b-admin-audit-trail.png');
    await checkA11y(admin, 'admin-audit-trail');

    // The action filter narrows it to the two edits.
    await admin.getByLabel('Action', { exact: true }).selectOption('event.update');
    await waitForText(admin.getByTestId('audit-info'), /^1–2 of 2 entries matching/);

    // The event's own page lists the same four under History.
    await rows.first().locator('[data-col="target"] a').click();
    await admin.waitForURL(new RegExp(`#/events/${eventId}$`));
    const history = admin.getByTestId('event-history');
    await waitForText(history.getByTestId('history-info'), /^1–4 of 4 entries/);
    const actions = await history
      .locator('[data-testid="history-table"] tbody tr[data-audit-id] [data-col="action"]')
      .evaluateAll((cells) => cells.map((c) => c.textContent));
    assert.deepEqual(actions, ['event.close', 'event.update', 'event.update', 'event.create']);
    await history.scrollIntoViewIfNeeded();
    await shot(admin, '14c-admin-event-history.png');
  });

  step('signing out on one device ends that session on every browser; the other session stays', async () => {
    // Another browser holding device A's session (as if copied to a second
    // device): nothing but the server can tell it about A's logout.
    const stored = await pageA.evaluate(() => sessionStorage.getItem('coupon.sale.session'));
    assert.ok(stored, 'device A holds a session');
    const ctxC = await newContext(browser, 'U-C', PHONE, errors);
    await ctxC.addInitScript((s) => {
      // Also runs in documents without storage (about:blank): skip those.
      try {
        if (!sessionStorage.getItem('coupon.sale.session')) sessionStorage.setItem('coupon.sale.session', s);
      } catch {
        // no storage here
      }
    }, stored);
    pageC = await ctxC.newPage();
    trackSockets('C', pageC);
    await pageC.goto(`${BASE}/events/${eventId}`);
    await waitForText(pageC.getByTestId('signed-in-as'), new RegExp(userU.email.replace(/\./g, '\\.')));
    await waitForText(pageC.locator('#conn'), /Live/);
    await waitForText(pageB.locator('#conn'), /Live/);
    const closesB = socketCloses.get('B');

    await pageA.getByTestId('sign-out').click();
    // The sale is closed: the panel no longer invites to take part.
    await pageA.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    // C: its socket closed by the server, signed out, watching anonymously.
    await pageC.getByRole('heading', { name: 'Sign in', exact: true }).waitFor({ timeout: 10_000 });
    assert.ok(socketCloses.get('C') >= 1, 'the session’s socket was closed');
    await waitForText(pageC.locator('#conn'), /Live/);
    await shot(pageC, '15-sale-session-ended-elsewhere.png');
    // B, the same user's other session: untouched.
    await pageB.waitForTimeout(1500);
    assert.equal(socketCloses.get('B'), closesB, 'the other session kept its socket');
    await waitForText(pageB.getByTestId('signed-in-as'), new RegExp(userU.email.replace(/\./g, '\\.')));
    await waitForText(pageB.locator('#conn'), /Live/);
  });

  step('no uncaught errors in any page', async () => {
    assert.deepEqual(errors, []);
  });

  step('no accessibility violations (axe-core, WCAG 2.1 AA) on the screens checked', async () => {
    assert.deepEqual(a11y, []);
  });
});
