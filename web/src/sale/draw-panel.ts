// The draw of a draw event on the sale page: the entry window, the live
// entry count and odds, enter and withdraw, the result pushed at the draw
// (won: claim before a time, with a countdown; not drawn: the place on the
// waitlist, until a backfill wins), and the proof checked in the browser.
// What it shows comes from draw-view.ts; this file fetches, listens and
// draws. The claim press itself is the page's "get coupon" button.
//
// Network: `entries/me` is read when the panel opens (and for another
// account), after a reconnect, and when the claim press finds no win; the
// result comes in the user's own `draw.won` / `draw.lost` frame.
// `GET …/draw` is read when the panel opens, once 3–7 s after entries close
// (the sealed count and digest; twice more at most while it is not sealed), once 0.5–3 s after the page learns the draw
// was made (its frame, or a `queue.progress` whose `waiting` became the
// waitlist) for the seed and the winners, a few times at most 2–20 s after
// the draw time while nothing said it was made (see resultReadDelay), and
// after a reconnect. While the socket is live `queue.progress` frames move
// the numbers and nothing is read on a timer; only while it is down,
// `entries/me` (for an entry still in play) and `GET …/draw` are read every
// 5 and 10 s.

import { ApiError, type EntryView, type SaleEvent } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setText } from '../lib/dom';
import type { DrawLostFrame, DrawWonFrame } from '../lib/push';
import type { Published } from '../lib/queue-proof';
import { serverNow } from '../lib/time';
import { type DrawRoom, drawView, entryRefusal, isDrawn, progressShowsDraw, resultReadDelay, roomAfterProgress, roomOfView } from './draw-view';
import { type RoomPanel, type RoomPanelHost, fact, setFacts, show, verifyBox } from './room-ui';

const POLL_WHILE_DOWN_MS = 5_000;
/** Reads for the sealed digest after the close, at most. */
const CLOSE_READS = 3;
/** setTimeout's longest delay is ~24.8 days; a timer due later is armed again when it fires. */
const LONGEST_TIMER_MS = 86_400_000;

export function createDrawPanel(host: RoomPanelHost, eventId: number, live: boolean): RoomPanel {
  const { api } = host;
  let ev: SaleEvent | null = null;
  let entry: EntryView | null | undefined;
  let room: DrawRoom | null = null;
  /** The user whose entry `entry` is; undefined before the first read. */
  let entryOf: number | null | undefined;
  /** What the page showed before the draw: the proof must carry the same. */
  const published: Published = { commitment: null, entrantsDigest: null };
  let socketLive = live;
  let missed = false;
  let readingEntry = false;
  let readingView = false;
  let busy = false;
  let viewRead = false;
  let polls = 0;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  /** The one pending read of the draw's view (after the close, after news of the draw, after the draw time). */
  let viewTimer: ReturnType<typeof setTimeout> | undefined;
  /** Every timer `at` armed (cleared on destroy). */
  const timers = new Set<ReturnType<typeof setTimeout>>();
  /** A read for the sealed digest is due. */
  let closeArmed = false;
  /** A read for the result is due. */
  let resultArmed = false;
  let resultReads = 0;
  let closeReads = 0;

  const status = h('p', { id: 'draw-status', class: 'draw-status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', tabindex: -1, 'data-testid': 'draw-status' });
  const rule = h('p', { id: 'draw-rule', class: 'muted', 'data-testid': 'draw-rule' });
  const schedule = h('p', { id: 'draw-schedule', class: 'muted', 'data-testid': 'draw-schedule' });
  const clock = h('p', { id: 'draw-clock', class: 'draw-clock', 'data-testid': 'draw-clock' });
  const [entriesBox, entries] = fact('draw', 'entries', 'Entries');
  const [remainingBox, remaining] = fact('draw', 'remaining', 'Coupons left');
  const [rankBox, rank] = fact('draw', 'rank', 'Your rank');
  const [waitlistBox, waitlist] = fact('draw', 'waitlist', 'Your place on the waitlist');
  const odds = h('p', { id: 'draw-odds', class: 'draw-odds', 'data-testid': 'draw-odds' });
  const result = h('p', { id: 'draw-result', 'data-testid': 'draw-result' });
  const claimIn = h('span', { id: 'draw-claim-countdown', role: 'timer', 'aria-labelledby': 'draw-claim-label', 'data-testid': 'draw-claim-countdown' });
  const claimLine = h('p', { class: 'draw-claim' }, h('span', { id: 'draw-claim-label' }, 'Time left to claim it: '), claimIn);
  const enter = h('button', { type: 'button', id: 'draw-enter', 'data-testid': 'draw-enter' }, 'Enter the draw');
  const withdraw = h('button', { type: 'button', id: 'draw-withdraw', class: 'secondary', 'data-testid': 'draw-withdraw' }, 'Withdraw');
  const signIn = h('button', { type: 'button', id: 'draw-sign-in', class: 'secondary', 'data-testid': 'draw-sign-in' }, 'Sign in to enter');
  const message = h('p', { id: 'draw-message', role: 'status', class: 'muted', 'data-testid': 'draw-message' });
  const commitment = h('code', { id: 'draw-commitment', class: 'code', 'data-testid': 'draw-commitment' });
  const beaconRound = h('strong', { id: 'draw-beacon-round', 'data-testid': 'draw-beacon-round' });
  const beaconValue = h('code', { id: 'draw-beacon', class: 'code', 'data-testid': 'draw-beacon' });
  const beaconValueLine = h('span', {}, ' Its value: ', beaconValue, '.');
  const beaconLine = h(
    'p',
    { class: 'muted' },
    'Mixed in as well: a public random value named in advance and not known when entries close — ',
    beaconRound,
    '.',
    beaconValueLine,
  );
  const digest = h('code', { id: 'draw-digest', class: 'code', 'data-testid': 'draw-digest' });
  const digestLine = h('p', { class: 'muted' }, 'SHA-256 of the entrants’ ids, sealed when entries closed: ', digest);
  const { button: verify, result: verifyResult } = verifyBox({
    api,
    prefix: 'draw',
    label: 'Verify this draw',
    verdicts: ['The draw checks out.', 'The draw does not check out.'],
    fetch: () => api.drawProof(eventId),
    published: () => published,
    notYet: { code: 'not_drawn', text: 'The draw has not been made yet.' },
  });

  const element = h(
    'section',
    { id: 'draw-panel', class: 'draw', 'aria-labelledby': 'draw-title', 'data-testid': 'draw-panel' },
    h('h2', { id: 'draw-title' }, 'The draw'),
    status,
    rule,
    schedule,
    clock,
    h('dl', { class: 'stats draw-facts', 'data-testid': 'draw-facts' }, entriesBox, remainingBox, rankBox, waitlistBox),
    odds,
    result,
    claimLine,
    h('div', { class: 'row' }, enter, withdraw, signIn),
    message,
  );
  const proof = h(
    'section',
    { class: 'draw-fairness', 'aria-labelledby': 'draw-fairness-title' },
    h('h3', { id: 'draw-fairness-title' }, 'Fair draw'),
    h(
      'p',
      { class: 'muted' },
      'The coupons go to the entries ranked first by SHA-256 of a secret seed, then your account id. The seed is revealed by the draw; its SHA-256, published before entries opened: ',
      commitment,
    ),
    beaconLine,
    digestLine,
    verify,
    verifyResult,
  );

  enter.addEventListener('click', () => void enterDraw());
  withdraw.addEventListener('click', () => void withdrawEntry());
  signIn.addEventListener('click', () => host.signIn());

  const closesAt = (): number => (ev?.draw ? Date.parse(ev.draw.entry_closes_at) : Infinity);

  /** Runs `fn` at `due` (server ms), arming again when the longest timer ends first. */
  function at(due: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        timers.delete(t);
        if (serverNow() + 50 < due) at(due, fn);
        else fn();
      },
      Math.max(0, Math.min(due - serverNow(), LONGEST_TIMER_MS)),
    );
    timers.add(t);
  }

  function setEntry(e: EntryView | null): void {
    entry = e;
    schedulePoll();
    // The entry knows the draw closed but not why (the frame was missed): the view says.
    if (e?.state === 'closed' && ev?.draw && !ev.draw.closed_reason) void readView();
    host.changed();
  }

  async function readEntry(): Promise<void> {
    if (!api.session.signedIn || readingEntry) return;
    readingEntry = true;
    missed = false;
    try {
      setEntry(await api.myEntry(eventId));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_entered') setEntry(null);
      else if (e instanceof ApiError && e.code === 'not_a_draw') host.reload();
      else if (!(e instanceof ApiError && e.status === 401)) {
        // Unknown: offer the entry (it answers with the entry if there is one).
        setText(message, `Could not read your entry: ${describeError(e)}`);
        if (entry === undefined) setEntry(null);
      }
    } finally {
      readingEntry = false;
    }
  }

  async function readView(): Promise<void> {
    if (readingView) return;
    readingView = true;
    try {
      const v = await api.drawView(eventId);
      // A read that left before the draw and came back after the page's frame: its numbers are from before.
      const stale = !v.drawn && drawnNow();
      room = stale ? { ...roomOfView(v), drawn: true, winners: null } : roomOfView(v);
      if (stale) readViewSoon(1_000, 3_000);
      published.entrantsDigest ||= v.entrants_digest;
      if (ev?.draw) {
        ev.draw.seed ??= v.seed;
        ev.draw.beacon = v.beacon;
        ev.draw.entrants_digest ??= v.entrants_digest;
        if (v.closed_reason && !ev.draw.closed_reason) host.closed(v.closed_reason);
      }
      // Drawn, and this page still thinks the entry waits: its frame was missed.
      if (v.drawn && entry?.state === 'entered') void readEntry();
      host.changed();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_a_draw') host.reload();
      // Anything else: the numbers stay as they were; a later read or frame moves them.
    } finally {
      readingView = false;
      scheduleResultRead();
    }
  }

  /** One read of the draw's view, `min`–`max` ms from now, unless one is already due. */
  function readViewSoon(min: number, max: number): void {
    if (viewTimer !== undefined) return;
    viewTimer = setTimeout(
      () => {
        viewTimer = undefined;
        void readView();
      },
      min + Math.random() * (max - min),
    );
  }

  /**
   * Once entries close, the sealed count and the entrants digest: read 3–7 s
   * after the close, spread (the server seals a second or two after it), and
   * again 2–4 s later, twice at most, while the digest is not there yet.
   */
  function scheduleCloseRead(): void {
    if (closeArmed || !ev?.draw || serverNow() >= closesAt()) return;
    closeArmed = true;
    at(closesAt() + 3_000 + Math.random() * 4_000, () => void closeRead());
  }

  async function closeRead(): Promise<void> {
    if (drawnNow()) return;
    closeReads += 1;
    await readView();
    if (!published.entrantsDigest && !drawnNow() && closeReads < CLOSE_READS) at(serverNow() + 2_000 + Math.random() * 2_000, () => void closeRead());
  }

  /** After the draw time, while nothing said the draw was made: a few reads, spread (see resultReadDelay). */
  function scheduleResultRead(): void {
    if (resultArmed || !ev?.draw || drawnNow() || ev.draw.closed_reason) return;
    const drawAt = Date.parse(ev.draw.draw_at);
    const due = resultReadDelay(drawAt, serverNow(), resultReads, Math.random());
    if (due === null) return;
    resultArmed = true;
    at(serverNow() + due, () => {
      resultArmed = false;
      if (drawnNow()) return;
      resultReads += 1;
      void readView();
    });
  }

  function drawnNow(): boolean {
    return ev?.draw ? isDrawn({ draw: ev.draw, entry, room }) : false;
  }

  /** Polls only while the socket is down. */
  function schedulePoll(): void {
    clearInterval(pollTimer);
    if (socketLive) return;
    pollTimer = setInterval(() => {
      polls += 1;
      const inPlay = entry?.state === 'entered' || entry?.state === 'won' || entry?.state === 'waitlisted';
      if (inPlay) void readEntry();
      if (polls % 2 === 0) void readView();
    }, POLL_WHILE_DOWN_MS);
  }

  /** A frame said the draw was made: the room's winners are unknown until the next read or frame. */
  function learnDrawn(): void {
    const known = drawnNow();
    if (room && !room.drawn) room = { ...room, drawn: true, winners: null };
    if (!known) readViewSoon(500, 3_000);
  }

  async function enterDraw(): Promise<void> {
    if (busy || !ev?.draw) return;
    busy = true;
    enter.disabled = true;
    setText(message, '');
    try {
      const e = await api.enterDraw(eventId);
      if (room) room = { ...room, entries: e.entries, remaining: e.remaining };
      setEntry(e);
      // The enter button is gone now; keep the keyboard where the news is.
      status.focus();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'event_ended') host.closed('ended');
      else if (e instanceof ApiError && e.code === 'not_a_draw') host.reload();
      else setText(message, (e instanceof ApiError && entryRefusal(e.code, ev.draw, e.retryAfterSecs)) || describeError(e));
    } finally {
      busy = false;
      host.changed();
    }
  }

  async function withdrawEntry(): Promise<void> {
    if (busy) return;
    busy = true;
    withdraw.disabled = true;
    setText(message, '');
    try {
      await api.withdrawEntry(eventId);
      if (room && serverNow() < closesAt()) room = { ...room, entries: Math.max(0, room.entries - 1) };
      setEntry(entry ? { ...entry, state: 'withdrawn' } : null);
      // The enter button is back (drawn by setEntry): the natural next stop.
      enter.focus();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_entered') setEntry(null);
      else {
        setText(message, `Could not withdraw: ${(ev?.draw && e instanceof ApiError && entryRefusal(e.code, ev.draw, e.retryAfterSecs)) || describeError(e)}`);
        void readEntry();
      }
    } finally {
      busy = false;
      withdraw.disabled = false;
      host.changed();
    }
  }

  function tick(now: number): boolean {
    const draw = ev?.draw;
    if (!draw) return false;
    const v = drawView({ now, draw, signedIn: api.session.signedIn, entry, room });
    element.dataset.stage = v.stage;
    show(status, v.status);
    show(rule, v.rule);
    show(schedule, v.schedule);
    show(clock, v.clock);
    setFacts([
      [entriesBox, entries, v.entries],
      [remainingBox, remaining, v.remaining],
      [rankBox, rank, v.rank],
      [waitlistBox, waitlist, v.waitlist],
    ]);
    show(odds, v.odds);
    show(result, v.result);
    setText(claimIn, v.claimIn ?? '');
    claimLine.hidden = v.claimIn === null;
    enter.hidden = v.enter === 'hidden';
    enter.disabled = v.enter !== 'enabled' || busy;
    withdraw.hidden = !v.withdraw;
    signIn.hidden = !v.signIn;
    setText(commitment, draw.seed_commitment);
    beaconLine.hidden = !draw.beacon_round && !draw.beacon;
    setText(beaconRound, draw.beacon_round ?? 'none named');
    setText(beaconValue, draw.beacon ?? '');
    beaconValueLine.hidden = !draw.beacon;
    const sealed = published.entrantsDigest ?? draw.entrants_digest;
    setText(digest, sealed ?? '');
    digestLine.hidden = !sealed;
    verify.hidden = !v.verify;
    return v.stage === 'won';
  }

  return {
    element,
    proof,
    setEvent(next) {
      ev = next;
      const draw = next.draw;
      if (draw) {
        published.commitment ??= draw.seed_commitment;
        // Final once entries opened (not before): the round the proof must name.
        if (!('beaconRound' in published) && serverNow() >= Date.parse(draw.entry_opens_at)) published.beaconRound = draw.beacon_round;
        published.entrantsDigest ||= draw.entrants_digest;
      }
      if (!viewRead) {
        viewRead = true;
        void readView();
      }
      // First read, or another account since: whose entry this is changed.
      if (entryOf !== api.session.userId) {
        entryOf = api.session.userId;
        entry = undefined;
        setText(message, '');
        if (api.session.signedIn) void readEntry();
      }
      scheduleCloseRead();
      scheduleResultRead();
    },
    progress(d) {
      const now = serverNow();
      if (progressShowsDraw(room, d, now, closesAt())) {
        room = room ? { ...room, drawn: true, winners: null } : room;
        readViewSoon(500, 3_000);
      }
      room = roomAfterProgress(room, d, now, closesAt()) ?? room;
      host.changed();
    },
    drawWon(f: DrawWonFrame) {
      learnDrawn();
      // A win replayed after the claim (a resume) is old news.
      if (entry?.state === 'claimed') return;
      const base: EntryView = entry ?? { event_id: eventId, state: 'entered', rank: null, claim_by: null, entries: room?.entries ?? 0, remaining: room?.remaining ?? 0, odds: null, entered_at: '' };
      setEntry({ ...base, state: 'won', rank: f.data.rank, claim_by: f.data.claimBy });
    },
    drawLost(f: DrawLostFrame) {
      learnDrawn();
      // A later backfill's win is newer than this: never step back from it.
      if (entry && entry.state !== 'entered' && entry.state !== 'waitlisted') return;
      const base: EntryView = entry ?? { event_id: eventId, state: 'entered', rank: null, claim_by: null, entries: room?.entries ?? 0, remaining: room?.remaining ?? 0, odds: null, entered_at: '' };
      setEntry({ ...base, state: 'waitlisted', rank: f.data.rank, claim_by: null });
    },
    claimed() {
      if (entry) setEntry({ ...entry, state: 'claimed', claim_by: null });
    },
    recheck() {
      void readEntry();
    },
    connectionChanged(isLive) {
      if (!isLive && socketLive) missed = true;
      socketLive = isLive;
      if (isLive && missed) {
        void readEntry();
        void readView();
      }
      schedulePoll();
    },
    tick,
    destroy() {
      clearInterval(pollTimer);
      clearTimeout(viewTimer);
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
