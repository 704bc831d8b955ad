// End-to-end: one sale through its waiting room (admission "queue"), the
// real stack behind nginx (scripts/dev up), real Chromium.
//
// One story, in order (later steps use what earlier ones made):
//   1. two customers, U1 and U2 (each in their own browser context, phones),
//      have accounts; the demo admin creates a queue event through the form
//      (Admission "Waiting room"): 1 coupon, 1 per person, the queue open
//      now, the sale ~25 s from now, 30 s to claim (the minimum).
//   2. U1, U2 and V — a visitor who never signs in — open the sale page. U1
//      and U2 sign in there and join the queue before the start; V sees the
//      room and "Sign in to join", no join. Everyone sees that the order is
//      drawn at the start, and the seed's commitment.
//   3. a second after the start the order is drawn: exactly one of U1/U2 is
//      admitted (claim countdown, "Get your coupon"); the other waits at #2,
//      unlikely to get one.
//   4. the admitted one does not press (a no-show): when the 30 s pass, their
//      hold lapses on their page and the other is admitted by a push
//      (queue.admitted), presses and gets the coupon (201). The room closes
//      sold out: every page says so at once.
//   5. "Verify the order" checks the proof in the browser, signed in and not.
// Nothing is reloaded, and no page reads its place (`queue/me`) on a timer
// while its socket is up: each page's requests are recorded and bounded.
// Screenshots go to web/test-output/screenshots/queue-*.png.

import assert from 'node:assert/strict';
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
  U1: { name: 'Ursula One', email: `queue-${run}-u1@example.com`, password },
  U2: { name: 'Umar Two', email: `queue-${run}-u2@example.com`, password },
};
const prefix = `Q${run.toUpperCase().replace(/[^A-Z0-9]/g, '')}`.slice(0, 12);
const title = `Queue test sale ${run}`;
const CLAIM_WINDOW_SECS = 30;

const errors = [];
const a11y = []; // accessibility violations, checked at the end
async function checkA11y(page, name) {
  for (const v of await a11yViolations(page, `queue-${name}`)) a11y.push(`${name}: ${v}`);
}
const shotOf = (page, name) => shot(page, `queue-${name}.png`);
const step = (text) => note(`[queue] ${text}`);

let browser;
let admin; // page
/** name → { page, calls: [{ at, method, path, position? }], sockets / closes: when each WebSocket opened / closed (ms) } */
const pages = {};
let eventId;
let startAt; // Date
let commitment;
let first; // the name of whoever is admitted first ('U1' or 'U2')
let second;
let joinedAt; // ms: both joins answered (the places' requests are counted from here)
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
  const context = await newContext(browser, `Q-${name}`, PHONE, errors);
  const page = await context.newPage();
  const entry = { page, calls: [], sockets: [], closes: [] };
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!url.pathname.startsWith('/api/')) return;
    const call = { at: Date.now(), method: r.method(), path: url.pathname };
    entry.calls.push(call);
    // What a read of the place answered (a read before the draw finds no position).
    if (call.path.endsWith('/queue/me')) {
      void r
        .response()
        .then((res) => res?.json())
        .then((place) => {
          call.position = place?.position ?? null;
        })
        .catch(() => {});
    }
  });
  page.on('websocket', (ws) => {
    entry.sockets.push(Date.now());
    ws.on('close', () => entry.closes.push(Date.now()));
  });
  pages[name] = entry;
  return page;
}

const panel = (name) => pages[name].page.locator('#queue-panel');
const stageOf = (name) => panel(name).getAttribute('data-stage');

/** Wait until the page's waiting room is in `stage`. */
async function waitForStage(name, stage, timeout = 15_000) {
  try {
    await pages[name].page.waitForFunction((s) => document.querySelector('#queue-panel')?.dataset.stage === s, stage, { timeout, polling: 100 });
  } catch (e) {
    const status = await pages[name].page.getByTestId('queue-status').textContent().catch(() => '?');
    throw new Error(`${name}: stage ${await stageOf(name).catch(() => '?')} (status "${status}") did not become ${stage}: ${e.message}`);
  }
}

/** `queue/me` reads of a page (GET of the caller's place) since `from` (ms). */
const placeReads = (name, from = 0) => pages[name].calls.filter((c) => c.method === 'GET' && c.path.endsWith('/queue/me') && c.at >= from);

describe(`waiting room of a queue sale against ${BASE} (browser zone ${TZ})`, { timeout: 300_000 }, () => {
  before(async () => {
    prepareStoryOutput('queue');
    browser = await launch();
    step(`chromium ${browser.version()}, run ${run}`);
  });

  after(async () => {
    // The sale must not stay on the demo's sale page (a run that failed
    // half-way leaves it open): closed with the admin page's session, no
    // extra sign-in (sign-ins are limited per address).
    if (eventId && admin && !admin.isClosed()) {
      await admin
        .evaluate(async (id) => {
          const s = JSON.parse(sessionStorage.getItem('coupon.admin.session') ?? '{}');
          if (s.access) await fetch(`/api/admin/events/${id}/close`, { method: 'POST', headers: { Authorization: `Bearer ${s.access}` } });
        }, eventId)
        .catch(() => {});
    }
    writeJson(
      'queue-requests.json',
      Object.fromEntries(Object.entries(pages).map(([n, x]) => [n, { sockets: x.sockets, closes: x.closes, calls: x.calls }])),
    );
    await browser?.close();
    step(`screenshots in ${SHOTS}`);
  });

  story('the demo admin creates a queue event through the form (Admission: waiting room)', async () => {
    // The customers' accounts exist before the sale; they sign in on its page.
    const api = await apiClient();
    try {
      for (const u of Object.values(users)) await api.signUp(u);
    } finally {
      await api.dispose();
    }

    const ctx = await newContext(browser, 'Q-admin', DESKTOP, errors);
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
    // The queue settings appear only for a queue.
    assert.equal(await f.getByLabel('Time to claim (seconds)').isVisible(), false, 'queue fields hidden for first come');
    await f.getByLabel('Admission').selectOption('queue');
    await f.getByLabel('Time to claim (seconds)').waitFor();
    // The queue opens now (a few seconds back: the form has whole seconds);
    // the sale ~25 s from now, typed as Seoul wall-clock time.
    const opensAt = new Date(Math.floor((Date.now() - 5_000) / 1000) * 1000);
    startAt = new Date(Math.ceil((Date.now() + 25_000) / 1000) * 1000);
    const endAt = new Date(startAt.getTime() + 3600_000);
    await f.getByLabel('Title').fill(title);
    await f.getByLabel('Description').fill('A waiting room, made by the browser test.');
    await f.getByLabel('Total coupons').fill('1');
    await f.getByLabel('Limit per person').fill('1');
    await f.getByLabel('Starts').fill(wallTime(startAt));
    await f.getByLabel('Ends').fill(wallTime(endAt));
    await f.getByLabel('Discount type').selectOption('fixed');
    await f.getByLabel('Discount', { exact: true }).fill('5000');
    await f.getByLabel('Code prefix').fill(prefix);
    await f.getByLabel('Queue opens').fill(wallTime(opensAt));
    await f.getByLabel('Time to claim (seconds)').fill(String(CLAIM_WINDOW_SECS));
    await f.getByLabel('Who may join').selectOption('false');
    await shotOf(admin, '01-admin-new-queue-event');
    await f.getByRole('button', { name: 'Create event' }).click();
    await admin.waitForURL(/#\/events\/\d+$/);
    eventId = Number(/#\/events\/(\d+)$/.exec(admin.url())[1]);
    step(`event ${eventId} starts ${utc(startAt)}, queue opens ${utc(opensAt)}`);

    const ev = await (await admin.request.get(`${BASE}/api/coupons/events/${eventId}`)).json();
    assert.equal(ev.admission, 'queue');
    assert.equal(ev.start_time, utc(startAt));
    assert.equal(ev.queue.opens_at, utc(opensAt), 'the queue opens at the Seoul wall time given, in UTC');
    assert.equal(ev.queue.claim_window_secs, CLAIM_WINDOW_SECS);
    assert.equal(ev.queue.only_existing_accounts, false);
    assert.match(ev.queue.seed_commitment, /^[0-9a-f]{64}$/);
    commitment = ev.queue.seed_commitment;
    // The detail page has the live waiting-room panel.
    await admin.locator('#admin-queue').waitFor();
    await waitForText(admin.getByTestId('event-facts'), /waiting room from .*30 s to claim/);
    await waitForText(admin.locator('[data-stat="queue-waiting"]'), /^0$/);
  });

  story('before the start: U1 and U2 sign in on the sale page and join; the visitor sees the room', async () => {
    const [p1, p2, pv] = await Promise.all(['U1', 'U2', 'V'].map(openPhone));
    await Promise.all([p1, p2, pv].map((p) => p.goto(`${BASE}/events/${eventId}`)));
    for (const p of [p1, p2, pv]) {
      await waitForText(p.locator('#event-title'), new RegExp(run));
      await waitForText(p.locator('#conn'), /Live/);
      // Set once; a reload would lose it.
      await p.evaluate(() => {
        window.__sameDocument = true;
      });
    }
    // The visitor: the room, the fair-order note with the commitment, and a
    // way to sign in — no join.
    await waitForStage('V', 'visitor');
    await pv.getByTestId('queue-sign-in').waitFor();
    assert.equal(await pv.getByTestId('queue-join').isVisible(), false, 'a visitor is not offered the join');
    await waitForText(pv.getByTestId('queue-commitment'), new RegExp(`^${commitment}$`));
    await waitForText(pv.locator('.queue-fairness'), /order drawn from a secret seed/);
    await waitForText(pv.getByTestId('queue-room'), /\d/);
    assert.equal(await pv.getByTestId('get-coupon').isVisible(), false, 'no "get coupon" outside one’s turn');

    // U1 and U2 sign in on the sale page itself.
    await Promise.all([signInUi(p1, users.U1), signInUi(p2, users.U2)]);
    for (const name of ['U1', 'U2']) {
      const p = pages[name].page;
      await waitForText(p.locator('#conn'), /Live/);
      await waitForStage(name, 'join');
      await waitForText(p.getByTestId('queue-status'), /before the start .* order drawn at random/);
      await waitForText(p.getByTestId('queue-commitment'), new RegExp(`^${commitment}$`));
    }
    await shotOf(p1, '02-sale-join-before-start');
    await checkA11y(p1, 'sale-join');
    await shotOf(pv, '03-sale-visitor-before-start');
    await checkA11y(pv, 'sale-visitor');

    const answers = await Promise.all(
      [p1, p2].map(async (p) => {
        const answer = p.waitForResponse((r) => r.url().endsWith(`/api/coupons/events/${eventId}/queue`) && r.request().method() === 'POST');
        await p.getByTestId('queue-join').click();
        return (await answer).status();
      }),
    );
    joinedAt = Date.now();
    assert.deepEqual(answers, [201, 201], 'each join made a place');
    assert.ok(joinedAt < startAt.getTime() - 1000, `both joined before the start (${startAt.getTime() - joinedAt} ms to spare)`);
    step(`joined ${startAt.getTime() - joinedAt} ms before the start`);
    for (const name of ['U1', 'U2']) {
      const p = pages[name].page;
      await waitForStage(name, 'waiting');
      await waitForText(p.getByTestId('queue-position'), /^Drawn at the start$/);
      await waitForText(p.getByTestId('queue-status'), /You are in the queue/);
      await p.getByTestId('queue-leave').waitFor();
      assert.equal(await p.getByTestId('get-coupon').isVisible(), false, 'no "get coupon" while waiting');
    }
    await shotOf(p2, '04-sale-waiting-before-draw');
    await checkA11y(p2, 'sale-waiting-before-draw');
    // The operator sees both places.
    await waitForText(admin.locator('[data-stat="queue-waiting"]'), /^2$/, 10_000);
  });

  story('the draw: exactly one is admitted with a claim countdown, the other waits at #2, unlikely', async () => {
    // Whichever the seed puts first: the first page to switch to "admitted".
    const wait = startAt.getTime() - Date.now() + 15_000;
    first = await Promise.any(['U1', 'U2'].map((name) => waitForStage(name, 'admitted', wait).then(() => name))).catch(async () => {
      throw new Error(`nobody was admitted ${Math.round((Date.now() - startAt.getTime()) / 1000)} s after the start (U1 ${await stageOf('U1')}, U2 ${await stageOf('U2')})`);
    });
    second = first === 'U1' ? 'U2' : 'U1';
    step(`admitted first: ${first}, ${Date.now() - startAt.getTime()} ms after the start`);
    const pf = pages[first].page;
    const ps = pages[second].page;
    assert.equal(await stageOf(second), 'waiting', `${second} waits while ${first} holds the coupon`);

    // The one admitted: a countdown from at most the claim window, the button to claim.
    await waitForText(pf.getByTestId('queue-claim-countdown'), /^00:(30|[0-2]\d)$/);
    await waitForText(pf.getByTestId('queue-status'), /It is your turn/);
    await waitForText(pf.getByTestId('queue-position'), /^#1$/);
    const claim = pf.getByTestId('get-coupon');
    await waitForText(claim, /^Get your coupon$/);
    assert.equal(await claim.isEnabled(), true);
    await shotOf(pf, '05-sale-admitted');
    await checkA11y(pf, 'sale-admitted');

    // The other: place #2 after the one read that follows the draw (made
    // 2–20 s after the start), nobody ahead, and unlikely to get the one
    // coupon, which is held.
    await waitForText(ps.getByTestId('queue-position'), /^#2$/, 25_000);
    await waitForText(ps.getByTestId('queue-ahead'), /^0$/);
    assert.equal(await ps.getByTestId('queue-odds').getAttribute('data-odds'), 'unlikely');
    await waitForText(ps.getByTestId('queue-odds'), /unlikely to get one/);
    assert.equal(await ps.getByTestId('get-coupon').isVisible(), false, 'no "get coupon" while waiting');
    await shotOf(ps, '06-sale-waiting-second');
    await checkA11y(ps, 'sale-waiting-drawn');
    // The visitor sees the room being served.
    await waitForText(pages.V.page.getByTestId('queue-room'), /now serving #1/, 10_000);

    await waitForText(admin.locator('[data-stat="queue-admitted"]'), /^1$/, 10_000);
    await waitForText(admin.locator('[data-stat="queue-waiting"]'), /^1$/);
    await waitForText(admin.locator('[data-stat="queue-serving"]'), /^#1$/);
    await shotOf(admin, '07-admin-queue-serving');
    await checkA11y(admin, 'admin-queue');
  });

  story(
    'a no-show: the hold lapses after 30 s and the next place is admitted by a push, claims, and the room closes sold out',
    async () => {
      const pf = pages[first].page;
      const ps = pages[second].page;
      // The first does not press. At claim_by their page says the hold lapsed.
      await waitForStage(first, 'expired', (CLAIM_WINDOW_SECS + 10) * 1000);
      const lapsedAt = Date.now();
      await waitForText(pf.getByTestId('queue-status'), /Your hold lapsed/);
      await pf.getByTestId('get-coupon').waitFor({ state: 'hidden' });
      await shotOf(pf, '08-sale-hold-lapsed');
      await checkA11y(pf, 'sale-expired');

      // The room takes the unit back at its next tick and admits the next
      // place: pushed to the second's page (queue.admitted), no reload.
      await waitForStage(second, 'admitted', 10_000);
      // Told by the push: the page did not ask (it read its place for its
      // position after the draw, and has it: no more reads).
      assert.deepEqual(placeReads(second, lapsedAt), [], `${second} read its place instead of being told`);
      await waitForText(ps.getByTestId('queue-claim-countdown'), /^00:(30|[0-2]\d)$/);
      await waitForText(ps.getByTestId('queue-position'), /^#2$/);
      const claim = ps.getByTestId('get-coupon');
      await waitForText(claim, /^Get your coupon$/);
      await shotOf(ps, '09-sale-admitted-after-no-show');

      const issued = ps.waitForResponse((r) => r.url().endsWith('/api/coupons/issue') && r.request().method() === 'POST');
      await claim.click();
      const res = await issued;
      assert.equal(res.status(), 201, `the claim answered ${res.status()}: ${await res.text()}`);
      const code = await waitForText(ps.getByTestId('won-code'), new RegExp(`^${prefix}-[A-Z0-9]{8}$`));
      step(`${second} claimed ${code}`);
      await waitForStage(second, 'claimed');
      await waitForText(ps.locator(`[data-testid="my-coupon"][data-code="${code}"]`), new RegExp(code));

      // Sold out: every page says so at once, the one that lapsed and the visitor's too.
      for (const name of [second, first, 'V']) {
        const p = pages[name].page;
        await waitForText(p.getByTestId('soldout-banner'), /^Sold out — the queue is closed\.$/, 10_000).catch(async (e) => {
          const stock = await p.getByTestId('stock-text').textContent();
          throw new Error(`page ${name} (stage ${await stageOf(name)}, stock "${stock}"): ${e.message}`);
        });
        await waitForText(p.getByTestId('stock-text'), /^0 of 1 left$/);
        await p.getByTestId('get-coupon').waitFor({ state: 'hidden' });
      }
      closedAt = Date.now();
      for (const name of [first, 'V']) await waitForStage(name, 'closed', 10_000);
      assert.equal(await stageOf(second), 'claimed');
      // Said once: the banner, no second "sold out" in the sale's card.
      assert.equal((await pages.V.page.locator('.sale').innerText()).match(/sold out/gi)?.length, 1, '"sold out" said once');
      await pages.V.page.waitForTimeout(300); // let the bar's transition finish for the pictures
      await shotOf(ps, '10-sale-claimed');
      await checkA11y(ps, 'sale-claimed');
      await shotOf(pf, '11-sale-sold-out-after-lapse');
      await shotOf(pages.V.page, '12-sale-sold-out-visitor');
      await checkA11y(pages.V.page, 'sale-sold-out-visitor');

      // The operator's panel, without a reload.
      await waitForText(admin.getByTestId('admin-queue-closed'), /The queue is closed: Sold out\./, 10_000);
      await waitForText(admin.locator('[data-stat="queue-claimed"]'), /^1$/);
      await waitForText(admin.locator('[data-stat="queue-expired"]'), /^1$/);
      await waitForText(admin.locator('[data-stat="queue-waiting"]'), /^0$/);
      await waitForText(admin.locator('[data-stat="queue-serving"]'), /^#2$/);
      await shotOf(admin, '13-admin-queue-closed');
    },
    (CLAIM_WINDOW_SECS + 60) * 1000,
  );

  story('"Verify the order" checks the proof in the browser, for a visitor and for a place in it', async () => {
    for (const name of ['V', first]) {
      const p = pages[name].page;
      await p.getByTestId('queue-verify').click();
      const verdict = p.getByTestId('queue-verdict');
      await waitForText(verdict, /The order checks out\./);
      assert.equal(await verdict.getAttribute('data-ok'), 'true');
      const lines = await p.getByTestId('queue-verify-result').innerText();
      assert.match(lines, /Passed: the seed revealed at the start hashes \(SHA-256\) to the commitment\./);
      assert.match(lines, /Passed: the commitment is the one this page showed before\./);
      assert.match(lines, /Passed: the 2 places drawn before the start are in the order the seed gives\./);
      if (name === first) assert.match(lines, /Your place in the draw: #1 of 2\./);
    }
    await pages[first].page.getByTestId('queue-verify-result').scrollIntoViewIfNeeded();
    await shotOf(pages[first].page, '14-sale-order-verified');
    await checkA11y(pages[first].page, 'sale-verified');
    // The proof the pages checked names both accounts, in the order admitted.
    const proof = await (await admin.request.get(`${BASE}/api/coupons/events/${eventId}/queue/proof`)).json();
    assert.equal(proof.seed_commitment, commitment);
    assert.equal(proof.pre_queue.length, 2);
    assert.equal(proof.admitted.length, 2);
  });

  story('no reload, and no page read its place on a timer while its socket was up', async () => {
    for (const [name, { page }] of Object.entries(pages)) {
      assert.equal(await page.evaluate(() => window.__sameDocument === true), true, `${name}'s page was not reloaded`);
    }
    const report = {};
    for (const name of ['U1', 'U2']) {
      const x = pages[name];
      // From the join to the sell-out (about a minute, a draw, an admission
      // each, a lapse) a place is read once: the read after the draw, which
      // is how a place joined before the start learns its position (no frame
      // carries it). Only a read that came before the draw (it found no
      // position) is made again, and a socket that re-opened meanwhile may
      // add one read each (it may have missed frames); a place is never
      // read on a timer while the socket is up.
      // (The signed-out socket the sign-in replaced may report its close late: count openings.)
      const reopened = x.sockets.filter((at) => at >= joinedAt && at <= closedAt).length;
      const during = placeReads(name, joinedAt).filter((c) => c.at <= closedAt);
      const tooEarly = during.filter((c) => c.position === null).length;
      // Before the join: at most two reads on signing in (the page asks for
      // the new account's place, and again when its socket re-opens signed
      // in, having possibly missed frames meanwhile).
      const beforeJoin = placeReads(name).filter((c) => c.at < joinedAt);
      report[name] = { beforeJoin: beforeJoin.length, joinToSoldOut: during.length, beforeTheDraw: tooEarly, socketsOpened: x.sockets.length, reconnects: reopened };
      assert.ok(beforeJoin.length <= 2, `${name} read its place ${beforeJoin.length} times while signing in`);
      assert.ok(
        during.length <= 1 + tooEarly + reopened,
        `${name} read its place ${during.length} times from the join to the sell-out (${tooEarly} before the draw, ${reopened} reconnects)`,
      );
      assert.ok(tooEarly <= 3, `${name} read its place ${tooEarly} times before the draw: the retries are bounded`);
    }
    // The waiting one got #2 from that one read.
    assert.ok(placeReads(second, joinedAt).length >= 1, `${second} learnt its position without reading its place`);
    // The visitor reads no place, and from opening to the sell-out asked the
    // API once at most: the event at opening time (the authoritative numbers).
    const v = pages.V;
    const vCalls = v.calls.filter((c) => c.at >= joinedAt && c.at <= closedAt);
    report.V = { calls: vCalls.map((c) => `${c.method} ${c.path}`), socketsOpened: v.sockets.length };
    step(`requests: ${JSON.stringify(report)}`);
    assert.equal(placeReads('V').length, 0, 'a visitor has no place to read');
    assert.ok(vCalls.length <= 1, `the visitor's page polled: ${JSON.stringify(vCalls)}`);
    assert.equal(v.closes.length, 0, "the visitor's socket stayed up");
  });

  story('no uncaught errors in any page', async () => {
    assert.deepEqual(errors, []);
  });

  story('no accessibility violations (axe-core, WCAG 2.1 AA) on the waiting-room screens', async () => {
    assert.deepEqual(a11y, []);
  });
});
