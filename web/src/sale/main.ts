// The live sale page: / lists the events, /events/{id} is one sale with its
// countdown, live stock, the "get coupon" button and its outcome; "my
// coupons" below. Live data comes over the WebSocket, for visitors who are
// not signed in too (anonymous watchers); the page polls only while its
// socket is down.

import '../styles.css';
import {
  Api,
  ApiError,
  type Coupon,
  type EventStatus,
  type QueueClosedReason,
  type SaleEvent,
  describeDiscount,
  newIdempotencyKey,
} from '../lib/api';
import { type AuthPanel, describeError, renderAccount, renderAuthPanel } from '../lib/auth-forms';
import { $, h, renderConnection, setChildren, setText } from '../lib/dom';
import {
  type ConnectionState,
  type DrawLostFrame,
  type DrawWonFrame,
  type EventUpdatedData,
  PushClient,
  type QueueAdmittedFrame,
  type QueueClosedData,
  type QueueProgressData,
} from '../lib/push';
import { Session } from '../lib/session';
import { describeCountdown, formatCountdown, formatLocal, localZoneLabel, serverNow } from '../lib/time';
import { createDrawPanel } from './draw-panel';
import { createQueuePanel } from './queue-panel';
import type { RoomPanel } from './room-ui';
import { callToAction, finishedBanner, isFinished, liveStatus, signInPrompt, statusLabel, stockView } from './sale-state';

const api = new Api(new Session('coupon.sale.session'));
const session = api.session;

const view = $('#view');
const authSection = $('#auth-section');
const myCouponsSection = $('#my-coupons');
const myCouponsList = $('#my-coupons-list');
const myCouponsEmpty = $('#my-coupons-empty');
const connEl = $('#conn');
const accountEl = $('#account');
setText($('#zone'), localZoneLabel());

/** Titles of events we know about, for "my coupons". */
const eventTitles = new Map<number, string>();
/** Events whose title was asked for once already (a failed ask is not repeated). */
const titlesAsked = new Set<number>();
let myCoupons: Coupon[] = [];
const freshCoupons = new Set<number>();
let pushState: ConnectionState = 'signed-out';
/**
 * Coupons left per event as the socket last said (snapshot, event.stock,
 * sell-out, an admin's change). Newer than any HTTP read: the gateway
 * caches event reads for a second, so a read made at opening time can land
 * after the push that moved the count, and must not take it back. Forgotten
 * when the socket drops; its re-subscription brings fresh snapshots.
 */
const liveRemaining = new Map<number, number>();

/** The count to show: the socket's while it is live, else the HTTP read's. */
function remainingOf(e: SaleEvent): number {
  return liveRemaining.get(e.id) ?? e.remaining;
}

// --- push --------------------------------------------------------------------

const push = new PushClient(session, {
  state(state, detail) {
    pushState = state;
    if (state !== 'live') liveRemaining.clear();
    if (state === 'signed-out') {
      renderConnection(connEl, 'polling', detail.startsWith('Your session') ? detail : 'Updating every few seconds');
    } else {
      renderConnection(connEl, state, detail);
    }
    page?.connectionChanged(state === 'live');
  },
  issued(frame) {
    const d = frame.data;
    page?.won({ id: d.couponId, code: d.couponCode, eventId: d.eventId }, 'push');
    // Full details (expiry, discount type) come from the API.
    void loadMyCoupons();
  },
  stock(data) {
    liveRemaining.set(data.eventId, data.remaining);
    page?.stock(data.eventId, data.remaining, data.total);
  },
  soldOut(data) {
    liveRemaining.set(data.eventId, 0);
    page?.soldOut(data.eventId);
  },
  updated(data) {
    liveRemaining.set(data.eventId, data.remaining);
    page?.updated(data);
  },
  subscribed(frame) {
    liveRemaining.set(frame.event_id, frame.remaining);
    page?.snapshot(frame.event_id, frame.remaining, frame.status);
  },
  resync() {
    void loadMyCoupons();
    page?.refresh();
  },
  queueProgress: (data) => page?.queueProgress?.(data),
  queueClosed: (data) => page?.queueClosed?.(data),
  queueAdmitted: (frame) => page?.queueAdmitted?.(frame),
  drawWon: (frame) => page?.drawWon?.(frame),
  drawLost: (frame) => page?.drawLost?.(frame),
});

// --- pages -------------------------------------------------------------------

interface PageView {
  destroy(): void;
  connectionChanged(live: boolean): void;
  won(c: { id: number; code: string; eventId: number }, source: 'click' | 'push'): void;
  stock(eventId: number, remaining: number, total: number): void;
  soldOut(eventId: number): void;
  updated(data: EventUpdatedData): void;
  snapshot(eventId: number, remaining: number, status: EventStatus): void;
  refresh(): void;
  couponsChanged(): void;
  /** Waiting-room and draw frames: only the event's own page acts on them. */
  queueProgress?(data: QueueProgressData): void;
  queueClosed?(data: QueueClosedData): void;
  queueAdmitted?(frame: QueueAdmittedFrame): void;
  drawWon?(frame: DrawWonFrame): void;
  drawLost?(frame: DrawLostFrame): void;
}

let page: PageView | null = null;

function route(): void {
  page?.destroy();
  setSignInPrompt(false);
  const m = /^\/events\/(\d+)\/?$/.exec(location.pathname);
  page = m ? eventPage(Number(m[1])) : homePage();
}

// Same-origin links inside the app change the view without a reload (the
// socket and the session stay as they are).
document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  history.pushState(null, '', (a as HTMLAnchorElement).href);
  route();
  $('#main').focus();
});
window.addEventListener('popstate', route);

function badge(status: EventStatus): HTMLElement {
  return h('span', { class: 'badge', 'data-status': status, 'data-testid': 'status' }, statusLabel(status));
}

/** An admin's change, pushed: the fields `event.updated` carries. */
function applyUpdate(ev: SaleEvent, data: EventUpdatedData): void {
  ev.title = data.title;
  ev.total_count = data.total;
  ev.remaining = data.remaining;
  ev.start_time = data.startTime;
  ev.end_time = data.endTime;
  ev.status = data.status;
  eventTitles.set(ev.id, data.title);
}

// --- home: the list of events ---------------------------------------------------

/** Sales per page of the home list ("Show more" adds the next page). */
const HOME_PAGE_SIZE = 20;

function homePage(): PageView {
  document.title = 'Flash sale';
  const list = h('ul', { class: 'event-list', 'aria-live': 'off', 'data-testid': 'sale-list' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading events…');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'more-sales' }, 'Show more sales');
  setChildren(
    view,
    h('section', { class: 'card', 'aria-labelledby': 'events-title' }, h('h1', { id: 'events-title' }, 'Coupon sales'), status, list, more),
  );
  let events: SaleEvent[] = [];
  let pages = 1;
  let timer: ReturnType<typeof setInterval> | undefined;
  const watching = new Set<number>();

  /** The pages shown so far, in the server's order: live sales first (ending soonest), then upcoming ones by start. */
  async function fetchShown(): Promise<{ items: SaleEvent[]; total: number }> {
    const items: SaleEvent[] = [];
    let total = 0;
    for (let page = 1; page <= pages; page++) {
      const res = await api.events({ page, size: HOME_PAGE_SIZE });
      total = res.total;
      for (const e of res.items) if (!items.some((x) => x.id === e.id)) items.push(e);
      if (res.items.length < HOME_PAGE_SIZE) break;
    }
    return { items, total };
  }

  async function load(): Promise<void> {
    try {
      const { items, total } = await fetchShown();
      for (const e of items) {
        eventTitles.set(e.id, e.title);
        e.remaining = remainingOf(e);
      }
      // A sale that ended since the server listed it is of no use any more.
      events = items.filter((e) => liveStatus(e, e.remaining, serverNow()) !== 'ended');
      render();
      setText(status, events.length ? '' : 'No sales right now. Come back soon.');
      status.hidden = events.length > 0;
      more.hidden = items.length >= total;
      for (const e of events.slice(0, 20)) {
        if (!watching.has(e.id)) {
          watching.add(e.id);
          push.watch(e.id);
        }
      }
      pageApi.couponsChanged();
    } catch (e) {
      setText(status, `Could not load the sales: ${describeError(e)}`);
      status.hidden = false;
    }
  }

  more.addEventListener('click', () => {
    pages += 1;
    more.disabled = true;
    void load().finally(() => {
      more.disabled = false;
    });
  });

  function render(): void {
    const now = serverNow();
    setChildren(
      list,
      events.map((e) => {
        const st = liveStatus(e, e.remaining, now);
        return h(
          'li',
          { class: 'card', 'data-event-id': e.id },
          h('div', { class: 'row spread' }, h('a', { href: `/events/${e.id}`, 'data-nav': true }, e.title), badge(st)),
          h('p', { class: 'discount-line' }, describeDiscount(e.discount_type, e.discount_value), ' · ', `${e.remaining.toLocaleString()} of ${e.total_count.toLocaleString()} left`),
          h('p', { class: 'muted' }, st === 'scheduled' ? `Starts ${formatLocal(e.start_time)}` : `Ends ${formatLocal(e.end_time)}`),
        );
      }),
    );
  }

  /** Only while the socket is down: a live socket pushes every change. */
  function poll(): void {
    clearInterval(timer);
    if (pushState !== 'live') timer = setInterval(() => void load(), 8_000 + Math.random() * 4_000);
  }

  const pageApi: PageView = {
    destroy() {
      clearInterval(timer);
      for (const id of watching) push.unwatch(id);
    },
    connectionChanged() {
      poll();
    },
    won() {},
    stock(eventId, remaining) {
      const e = events.find((x) => x.id === eventId);
      if (e) {
        e.remaining = remaining;
        render();
      }
    },
    soldOut(eventId) {
      const e = events.find((x) => x.id === eventId);
      if (e) {
        e.remaining = 0;
        render();
      }
    },
    updated(data) {
      const e = events.find((x) => x.id === data.eventId);
      if (e) {
        applyUpdate(e, data);
        render();
      }
    },
    snapshot(eventId, remaining, st) {
      const e = events.find((x) => x.id === eventId);
      if (e) {
        e.remaining = remaining;
        e.status = st;
        render();
      }
    },
    refresh() {
      void load();
    },
    couponsChanged() {},
  };
  void load();
  poll();
  return pageApi;
}

// --- one sale -------------------------------------------------------------------

type OutcomeKind = 'won' | 'limit' | 'rate_limited' | 'info' | 'error';

function eventPage(id: number): PageView {
  let ev: SaleEvent | null = null;
  let remaining = 0;
  let inFlight = false;
  /** Kept until the server gives a definite answer, so a retry can never issue twice. */
  let pendingKey: string | null = null;
  let rateLimitedUntil = 0;
  let lastPhase: EventStatus | null = null;
  let lastAnnounced = 0;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  /** A queue event's waiting room or a draw event's draw; null for a first-come sale. */
  let room: RoomPanel | null = null;
  let roomKind: 'queue' | 'draw' | null = null;
  /** The room (or draw) closed as a frame or an answer said: kept over later reads, which may come from before it (the gateway caches them). */
  let closedReason: QueueClosedReason | null = null;
  const roomSlot = h('div');
  const proofSlot = h('div');

  const title = h('h1', { id: 'event-title' }, 'Loading…');
  const statusBadge = h('span');
  const discount = h('p', { class: 'discount' });
  const description = h('p', {});
  const terms = h('p', { class: 'muted' });
  const times = h('dl', { class: 'times' });
  const countdownLabel = h('p', { id: 'countdown-label', class: 'muted' });
  const countdown = h('p', { class: 'countdown', role: 'timer', 'aria-labelledby': 'countdown-label', 'data-testid': 'countdown' });
  const countdownSr = h('span', { class: 'visually-hidden' });
  const soldOutBanner = h('div', { 'aria-live': 'assertive', 'aria-atomic': 'true', 'data-testid': 'soldout-area' });
  const stockFill = h('div', { class: 'stock-fill' });
  const stockBar = h(
    'div',
    { class: 'stock-bar', role: 'progressbar', 'aria-labelledby': 'stock-label', 'aria-valuemin': 0, 'data-testid': 'stock-bar' },
    stockFill,
  );
  const stockText = h('p', { class: 'stock-text', 'data-testid': 'stock-text' });
  const stockAnnounce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const hint = h('p', { id: 'get-hint', class: 'muted' });
  const button = h('button', { type: 'button', class: 'get-button', 'aria-describedby': 'get-hint', 'data-testid': 'get-coupon' }, 'Get coupon');
  const outcome = h('div', { class: 'outcome', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-testid': 'outcome' });
  const article = h(
    'article',
    { class: 'card sale', 'aria-labelledby': 'event-title', 'data-event-id': id },
    h('p', {}, h('a', { href: '/', 'data-nav': true }, '← All sales')),
    h('div', { class: 'row spread' }, title, statusBadge),
    discount,
    description,
    terms,
    times,
    countdownLabel,
    h('div', {}, countdown, countdownSr),
    soldOutBanner,
    h('div', { class: 'stock' }, h('p', { id: 'stock-label', class: 'visually-hidden' }, 'Coupons left'), stockBar, stockText, stockAnnounce),
    roomSlot,
    button,
    hint,
    outcome,
    proofSlot,
  );
  setChildren(view, article);
  button.addEventListener('click', () => void getCoupon());

  function held(): Coupon[] {
    return myCoupons.filter((c) => c.event_id === id);
  }

  function showOutcome(kind: OutcomeKind, ...content: (Node | string)[]): void {
    setChildren(outcome, h('p', { 'data-kind': kind, 'data-testid': `outcome-${kind}` }, ...content));
  }

  function showWon(code: string): void {
    showOutcome('won', 'You got it! Your coupon code: ', h('strong', { class: 'code', 'data-testid': 'won-code' }, code));
  }

  async function load(): Promise<void> {
    try {
      const e = await api.event(id);
      const first = ev === null;
      ev = e;
      remaining = remainingOf(e);
      eventTitles.set(e.id, e.title);
      if (closedReason && e.queue) e.queue.closed_reason ??= closedReason;
      if (closedReason && e.draw) e.draw.closed_reason ??= closedReason;
      syncRoom(e);
      // A snapshot that arrived before the event did was dropped: ask for a
      // fresh one (the socket's numbers are the authoritative live ones).
      if (first) push.watch(id);
      // Texts, times and stock may have been edited by an admin meanwhile.
      renderStatic();
      tick();
      pageApi.couponsChanged();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'event_not_found') {
        setText(title, 'Sale not found');
        setChildren(view, h('section', { class: 'card' }, h('h1', {}, 'Sale not found'), h('p', {}, 'This sale does not exist. ', h('a', { href: '/', 'data-nav': true }, 'See all sales'), '.')));
      } else if (ev === null) {
        setText(title, 'Could not load this sale');
        showOutcome('error', describeError(e));
      }
    }
  }

  /** A queue event gets its waiting room, a draw event its draw; an event an admin switched to another admission changes or loses it. */
  function syncRoom(e: SaleEvent): void {
    const kind = e.admission === 'queue' && e.queue ? 'queue' : e.admission === 'draw' && e.draw ? 'draw' : null;
    if (kind !== roomKind) {
      room?.destroy();
      const host = { api, closed: roomClosed, reload: () => void load(), signIn: focusSignIn, changed: tick };
      room = kind === 'queue' ? createQueuePanel(host, id, pushState === 'live') : kind === 'draw' ? createDrawPanel(host, id, pushState === 'live') : null;
      roomKind = kind;
      setChildren(roomSlot, room?.element);
      setChildren(proofSlot, room?.proof);
    }
    room?.setEvent(e);
  }

  function roomClosed(reason: QueueClosedReason): void {
    closedReason = reason;
    if (ev?.queue) ev.queue.closed_reason = reason;
    if (ev?.draw) ev.draw.closed_reason = reason;
    tick();
  }

  function renderStatic(): void {
    if (!ev) return;
    document.title = `${ev.title} — Flash sale`;
    setText(title, ev.title);
    setText(discount, describeDiscount(ev.discount_type, ev.discount_value));
    setText(description, ev.description);
    description.hidden = !ev.description;
    const parts = [
      ev.min_purchase_amount > 0 ? `On orders of ${ev.min_purchase_amount.toLocaleString()} or more.` : 'No minimum purchase.',
      `Limit ${ev.max_per_user} per person.`,
      `Valid ${ev.valid_days} days after issue.`,
    ];
    setText(terms, parts.join(' '));
    const when = `${ev.start_time}|${ev.end_time}`;
    if (times.dataset.when !== when) {
      times.dataset.when = when;
      setChildren(
        times,
        h('dt', {}, 'Starts'),
        h('dd', { 'data-testid': 'starts-at' }, formatLocal(ev.start_time)),
        h('dt', {}, 'Ends'),
        h('dd', {}, formatLocal(ev.end_time)),
      );
    }
    stockBar.setAttribute('aria-valuemax', String(ev.total_count));
  }

  /** Everything that depends on the clock or on live numbers; cheap, runs 4×/s. */
  function tick(): void {
    if (!ev) return;
    const now = serverNow();
    const phase = liveStatus(ev, remaining, now);
    if (phase !== lastPhase) {
      const previous = lastPhase;
      lastPhase = phase;
      // A finished sale says so once, in its banner; the badge is part of it.
      const banner = finishedBanner(phase, roomKind);
      setChildren(statusBadge, banner ? null : badge(phase));
      setChildren(soldOutBanner, banner ? h('p', { class: 'soldout-banner', 'data-status': phase, 'data-testid': banner.testid }, badge(phase), banner.rest) : null);
      setSignInPrompt(isFinished(phase));
      // Opening time reached: ask for the authoritative numbers.
      if (previous === 'scheduled' && phase === 'active') void load();
    }
    // Countdown
    if (phase === 'scheduled') {
      const ms = Date.parse(ev.start_time) - now;
      setText(countdownLabel, 'Opens in');
      setText(countdown, formatCountdown(ms));
      const words = describeCountdown(Math.ceil(ms / 10_000) * 10_000);
      setText(countdownSr, ` (about ${words})`);
      countdown.hidden = false;
    } else if (phase === 'active') {
      setText(countdownLabel, 'On sale now — ends in');
      setText(countdown, formatCountdown(Date.parse(ev.end_time) - now));
      setText(countdownSr, '');
      countdown.hidden = false;
    } else {
      // The banner says why; no countdown is left to show.
      setText(countdownLabel, '');
      setText(countdown, '');
      countdown.hidden = true;
    }
    countdownLabel.hidden = countdown.hidden;
    // Stock
    const stock = stockView(remaining, ev.total_count);
    stockFill.style.width = `${stock.fraction * 100}%`;
    // Emptied: gone at once rather than shrinking for a moment after "0 left" shows.
    stockBar.dataset.empty = String(stock.left === 0);
    stockBar.setAttribute('aria-valuenow', String(stock.left));
    stockBar.setAttribute('aria-valuetext', stock.words);
    setText(stockText, stock.words);
    if (phase === 'active' && now - lastAnnounced > 5000) {
      lastAnnounced = now;
      setText(stockAnnounce, stock.words);
    }
    // The waiting room or the draw, then the button: there it is the claim of a held coupon.
    const turn = room ? room.tick(now) : null;
    const cta = callToAction({
      phase,
      signedIn: session.signedIn,
      inFlight,
      held: held().length,
      maxPerUser: ev.max_per_user,
      startsAt: formatLocal(ev.start_time),
      opensIn: formatCountdown(Date.parse(ev.start_time) - now),
      retryInSecs: Math.max(0, Math.ceil((rateLimitedUntil - Date.now()) / 1000)),
      pendingKey: pendingKey !== null,
      queueTurn: turn,
    });
    button.hidden = cta.hidden;
    button.disabled = !cta.enabled;
    button.setAttribute('aria-busy', String(inFlight));
    setText(button, cta.label);
    setText(hint, cta.hint);
    hint.hidden = !cta.hint;
  }

  async function getCoupon(): Promise<void> {
    if (!ev || inFlight || button.disabled) return;
    inFlight = true;
    pendingKey ??= newIdempotencyKey();
    const key = pendingKey;
    tick();
    try {
      let attempt = 0;
      for (;;) {
        try {
          const res = await api.issue(id, key);
          pendingKey = null;
          remaining = res.remaining;
          freshCoupons.add(res.coupon.id);
          addCoupon(res.coupon);
          room?.claimed();
          pageApi.won({ id: res.coupon.id, code: res.coupon.code, eventId: res.coupon.event_id }, 'click');
          break;
        } catch (e) {
          // No answer or 503: the same key is safe to send again; once.
          const retryable = e instanceof ApiError && (e.isNetwork || e.status === 503 || e.status === 502);
          if (retryable && attempt === 0) {
            attempt += 1;
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      handleIssueError(e);
    } finally {
      inFlight = false;
      tick();
    }
  }

  function handleIssueError(e: unknown): void {
    if (!(e instanceof ApiError)) {
      showOutcome('error', describeError(e));
      return;
    }
    const definite = !(e.isNetwork || e.status >= 500);
    if (definite) pendingKey = null;
    switch (e.code) {
      case 'sold_out':
        // The sold-out banner says it (and is announced); not twice.
        remaining = 0;
        setChildren(outcome);
        break;
      case 'user_limit_reached':
        showOutcome('limit', `You already have the most coupons allowed for this sale (${ev?.max_per_user ?? 1} per person).`);
        void loadMyCoupons();
        break;
      case 'rate_limited': {
        const secs = e.retryAfterSecs ?? 1;
        rateLimitedUntil = Date.now() + secs * 1000;
        showOutcome('rate_limited', `Too many tries — please wait ${secs} second${secs === 1 ? '' : 's'} and try again.`);
        setTimeout(tick, secs * 1000 + 50);
        break;
      }
      case 'not_admitted':
        showOutcome('info', roomKind === 'draw' ? 'No coupon is held for you right now: only a win in the draw holds one.' : 'No coupon is held for you right now: wait for your turn in the queue.');
        room?.recheck();
        break;
      case 'event_not_started':
        showOutcome('info', `Not open yet — the sale opens at ${ev ? formatLocal(ev.start_time) : 'its start time'}.`);
        break;
      case 'event_ended':
        // As for sold out: the banner says it.
        if (ev) ev.status = 'ended';
        setChildren(outcome);
        break;
      case 'unauthorized':
      case 'invalid_token':
      case 'token_expired':
        showOutcome('error', 'Your session has ended. Please sign in again.');
        break;
      default:
        showOutcome(
          'error',
          definite ? describeError(e) : 'We could not confirm your request. Press the button again — it is safe, you will not get a second coupon by accident.',
        );
    }
  }

  function startPolling(live: boolean): void {
    clearInterval(pollTimer);
    // With a live socket everything is pushed (stock, sell-out, an admin's
    // changes): no polling at all — half a million idle pages must cost the
    // API nothing. Without it, every 10 s with jitter (never in step).
    if (!live) pollTimer = setInterval(() => void load(), 8_000 + Math.random() * 4_000);
  }

  const clock = setInterval(tick, 250);
  const pageApi: PageView = {
    destroy() {
      clearInterval(clock);
      clearInterval(pollTimer);
      room?.destroy();
      push.unwatch(id);
    },
    connectionChanged(live) {
      startPolling(live);
      room?.connectionChanged(live);
    },
    won(c, source) {
      if (c.eventId !== id) return;
      freshCoupons.add(c.id);
      showWon(c.code);
      room?.claimed();
      if (source === 'push') {
        const known = myCoupons.some((x) => x.id === c.id);
        if (!known && ev) {
          // Provisional entry until "my coupons" is refetched.
          addCoupon({
            id: c.id,
            code: c.code,
            event_id: c.eventId,
            status: 'issued',
            discount_type: ev.discount_type,
            discount_value: ev.discount_value,
            min_purchase_amount: ev.min_purchase_amount,
            issued_at: new Date().toISOString(),
            expires_at: '',
          });
        }
      }
      tick();
    },
    stock(eventId, left, total) {
      if (eventId !== id || !ev) return;
      remaining = left;
      if (total > 0) ev.total_count = total;
      stockBar.setAttribute('aria-valuemax', String(ev.total_count));
      tick();
    },
    soldOut(eventId) {
      if (eventId !== id) return;
      remaining = 0;
      tick();
    },
    updated(data) {
      if (data.eventId !== id || !ev) return;
      applyUpdate(ev, data);
      remaining = data.remaining;
      renderStatic();
      tick();
    },
    snapshot(eventId, left, st) {
      if (eventId !== id || !ev) return;
      remaining = left;
      if (st === 'ended') ev.status = 'ended';
      // More left than the event we hold has in total: an admin raised the
      // stock and our copy came from a cache that has not expired yet (each
      // instance keeps events for about a second). Ask again shortly.
      if (left > ev.total_count) setTimeout(() => void load(), 1500);
      tick();
    },
    refresh() {
      void load();
    },
    queueProgress(data) {
      if (data.eventId !== id) return;
      room?.progress(data);
    },
    queueClosed(data) {
      if (data.eventId === id) roomClosed(data.reason);
    },
    queueAdmitted(frame) {
      if (frame.data.eventId === id) room?.queueAdmitted?.(frame);
    },
    drawWon(frame) {
      if (frame.data.eventId === id) room?.drawWon?.(frame);
    },
    drawLost(frame) {
      if (frame.data.eventId === id) room?.drawLost?.(frame);
    },
    couponsChanged() {
      const mine = held();
      // After a reload: say so if this user already holds this sale's coupon.
      if (mine.length && !outcome.hasChildNodes()) {
        showOutcome('info', `You have ${mine.length === 1 ? 'a coupon' : `${mine.length} coupons`} from this sale: `, h('strong', { class: 'code' }, mine.map((c) => c.code).join(', ')));
      }
      tick();
    },
  };
  push.watch(id);
  startPolling(pushState === 'live');
  void load();
  return pageApi;
}

/** The waiting room's "sign in to join" and the draw's "sign in to enter": to the form's first field. */
function focusSignIn(): void {
  const first = authSection.querySelector<HTMLInputElement>('input');
  first?.scrollIntoView({ block: 'center' });
  first?.focus();
}

// --- my coupons -------------------------------------------------------------------

function addCoupon(c: Coupon): void {
  if (myCoupons.some((x) => x.id === c.id)) return;
  myCoupons = [c, ...myCoupons];
  renderMyCoupons();
}

async function loadMyCoupons(): Promise<void> {
  if (!session.signedIn) return;
  try {
    const res = await api.myCoupons(1, 50);
    myCoupons = res.items;
    renderMyCoupons();
    // Titles of past sales are not in the home list: ask for a few by id.
    const unknown = [...new Set(myCoupons.map((c) => c.event_id).filter((id) => !eventTitles.has(id) && !titlesAsked.has(id)))].slice(0, 10);
    if (unknown.length) {
      for (const id of unknown) titlesAsked.add(id);
      const found = await Promise.allSettled(unknown.map((id) => api.event(id)));
      for (const r of found) if (r.status === 'fulfilled') eventTitles.set(r.value.id, r.value.title);
      renderMyCoupons();
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // signed out meanwhile
    setText(myCouponsEmpty, `Could not load your coupons: ${describeError(e)}`);
    myCouponsEmpty.hidden = false;
  }
}

function renderMyCoupons(): void {
  myCouponsEmpty.hidden = myCoupons.length > 0;
  if (!myCoupons.length) setText(myCouponsEmpty, 'No coupons yet.');
  setChildren(
    myCouponsList,
    myCoupons.map((c) =>
      h(
        'li',
        { class: freshCoupons.has(c.id) ? 'fresh' : undefined, 'data-testid': 'my-coupon', 'data-code': c.code },
        h('div', { class: 'row spread' }, h('strong', { class: 'code' }, c.code), h('span', { class: 'badge' }, c.status)),
        h('div', {}, eventTitles.get(c.event_id) ?? `Sale #${c.event_id}`, ' · ', describeDiscount(c.discount_type, c.discount_value)),
        c.expires_at ? h('div', { class: 'muted' }, c.status === 'used' ? `Used ${formatLocal(c.used_at)}` : `Valid until ${formatLocal(c.expires_at)}`) : null,
      ),
    ),
  );
  page?.couponsChanged();
}

// --- session ------------------------------------------------------------------

let authPanel: AuthPanel | null = null;
let prompt = signInPrompt(false);

/** The sign-in panel invites to take part only while the page's sale can still be had. */
function setSignInPrompt(finished: boolean): void {
  prompt = signInPrompt(finished);
  authPanel?.setPrompt(prompt.title, prompt.intro);
}

function sessionChanged(): void {
  renderAccount(accountEl, api);
  authSection.hidden = session.signedIn;
  myCouponsSection.hidden = !session.signedIn;
  if (session.signedIn) {
    void loadMyCoupons();
  } else {
    myCoupons = [];
    freshCoupons.clear();
    renderMyCoupons();
    authPanel = renderAuthPanel(authSection, api, { ...prompt, allowSignup: true });
  }
  page?.refresh();
}

session.onChange((why) => {
  if (why === 'refreshed') return;
  sessionChanged();
  // Nothing of the previous user may stay on screen (outcome, held coupons).
  if (why === 'signed-out') route();
});

sessionChanged();
route();
push.start();
