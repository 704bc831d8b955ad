// The waiting room of a queue event on the sale page: join, your place and
// odds while you wait, the claim countdown once admitted, leave, and the
// fair-order proof checked in the browser. What it shows comes from
// queue-view.ts; this file fetches, listens and draws. The claim press itself
// is the page's "get coupon" button (the existing issue call).
//
// Network: `queue/me` is read once when the panel opens, once after each
// reconnect, and once a few seconds after the start (the draw gives a place
// its position, and no frame carries it) — again, a few times at most, only
// while a read after the start still found no position (see
// positionReadDelay); while the socket is live `queue.progress` frames move
// the numbers and nothing else is read. Only while the socket is down, and
// only for a place that still waits or holds, `queue/me` is read every 5 s.

import { ApiError, type Place, type SaleEvent } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setChildren, setText } from '../lib/dom';
import type { QueueAdmittedFrame } from '../lib/push';
import { serverNow } from '../lib/time';
import { type RoomPanel, type RoomPanelHost, fact as factOf, setFacts, show, verifyBox } from './room-ui';
import { type Room, joinRefusal, positionReadDelay, queueView, roomOf } from './queue-view';

const POLL_WHILE_DOWN_MS = 5_000;

export function createQueuePanel(host: RoomPanelHost, eventId: number, live: boolean): RoomPanel {
  const { api } = host;
  let ev: SaleEvent | null = null;
  let place: Place | null | undefined;
  let room: Room | null = null;
  /** The user whose place `place` is (a sign-in or sign-out changes whose place to show); undefined before the first read. */
  let placeOf: number | null | undefined;
  /** The next read for the position the draw (or the tick after a late join) gives the place. */
  let drawTimer: ReturnType<typeof setTimeout> | undefined;
  /** Reads made for it so far (bounded by positionReadDelay). */
  let positionReads = 0;
  /** The commitment as first seen: the proof must carry the same one. */
  let published: string | null = null;
  let socketLive = live;
  /** The socket dropped since the last read of the place: frames may have been missed. */
  let missed = false;
  let reading = false;
  let busy = false;
  let pollTimer: ReturnType<typeof setInterval> | undefined;

  const status = h('p', { id: 'queue-status', class: 'queue-status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', tabindex: -1, 'data-testid': 'queue-status' });
  const rule = h('p', { id: 'queue-rule', class: 'muted', 'data-testid': 'queue-rule' });
  const roomLine = h('p', { id: 'queue-room', class: 'muted', 'data-testid': 'queue-room' });
  const fact = (name: string, label: string) => factOf('queue', name, label);
  const [positionBox, position] = fact('position', 'Your place');
  const [aheadBox, ahead] = fact('ahead', 'People ahead');
  const [remainingBox, remaining] = fact('remaining', 'Coupons left');
  const [waitBox, wait] = fact('wait', 'Estimated wait');
  const odds = h('p', { id: 'queue-odds', class: 'queue-odds', 'data-testid': 'queue-odds' });
  const claimIn = h('span', { id: 'queue-claim-countdown', role: 'timer', 'aria-labelledby': 'queue-claim-label', 'data-testid': 'queue-claim-countdown' });
  const claimLine = h('p', { class: 'queue-claim' }, h('span', { id: 'queue-claim-label' }, 'Time left to get it: '), claimIn);
  const join = h('button', { type: 'button', id: 'queue-join', 'data-testid': 'queue-join' }, 'Join the queue');
  const signIn = h('button', { type: 'button', id: 'queue-sign-in', class: 'secondary', 'data-testid': 'queue-sign-in' }, 'Sign in to join');
  const leaveArea = h('div', { class: 'row' });
  const message = h('p', { id: 'queue-message', role: 'status', class: 'muted', 'data-testid': 'queue-message' });
  const commitment = h('code', { id: 'queue-commitment', class: 'code', 'data-testid': 'queue-commitment' });
  const { button: verify, result: verifyResult } = verifyBox({
    api,
    prefix: 'queue',
    label: 'Verify the order',
    verdicts: ['The order checks out.', 'The order does not check out.'],
    fetch: () => api.queueProof(eventId),
    published: () => ({ commitment: published }),
    notYet: { code: 'queue_not_drawn', text: 'The order has not been drawn yet: it is drawn at the start.' },
  });

  const element = h(
    'section',
    { id: 'queue-panel', class: 'queue', 'aria-labelledby': 'queue-title', 'data-testid': 'queue-panel' },
    h('h2', { id: 'queue-title' }, 'Waiting room'),
    status,
    rule,
    roomLine,
    h('dl', { class: 'stats queue-facts', 'data-testid': 'queue-facts' }, positionBox, aheadBox, remainingBox, waitBox),
    odds,
    claimLine,
    h('div', { class: 'row' }, join, signIn),
    leaveArea,
    message,
  );
  const proof = h(
    'section',
    { class: 'queue-fairness', 'aria-labelledby': 'queue-fairness-title' },
    h('h3', { id: 'queue-fairness-title' }, 'Fair order'),
    h(
      'p',
      { class: 'muted' },
      'Everyone who joins before the start is placed in an order drawn from a secret seed. Its SHA-256, published when the queue opened: ',
      commitment,
    ),
    verify,
    verifyResult,
  );

  join.addEventListener('click', () => void joinQueue());
  signIn.addEventListener('click', () => host.signIn());

  function setPlace(p: Place | null): void {
    place = p;
    if (p) room = roomOf(p, room?.admittedPerSecond ?? null);
    schedulePoll();
    scheduleDrawRead();
    // The place knows the room closed but not why (the frame was missed): the event says.
    if (p?.state === 'closed' && ev?.queue && !ev.queue.closed_reason) host.reload();
    host.changed();
  }

  /** A waiting place learns its position from a read after the draw (or after the tick that places a late joiner). */
  function scheduleDrawRead(): void {
    if (drawTimer !== undefined || !ev || place?.state !== 'waiting' || place.position !== null) return;
    const due = positionReadDelay(Date.parse(ev.start_time), serverNow(), positionReads, Math.random());
    if (due === null) return;
    drawTimer = setTimeout(() => {
      drawTimer = undefined;
      positionReads += 1;
      void readPlace();
    }, due);
  }

  async function readPlace(): Promise<void> {
    if (!api.session.signedIn || reading) return;
    reading = true;
    missed = false;
    try {
      setPlace(await api.myPlace(eventId));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_in_queue') setPlace(null);
      else if (!(e instanceof ApiError && e.status === 401)) {
        // Unknown: offer the join (it answers with the place if there is one).
        setText(message, `Could not read your place: ${describeError(e)}`);
        if (place === undefined) setPlace(null);
      }
    } finally {
      reading = false;
    }
  }

  /** Polls only while the socket is down and the place can still change by itself. */
  function schedulePoll(): void {
    clearInterval(pollTimer);
    const active = place?.state === 'waiting' || place?.state === 'admitted';
    if (!socketLive && active) pollTimer = setInterval(() => void readPlace(), POLL_WHILE_DOWN_MS);
  }

  async function joinQueue(): Promise<void> {
    if (busy || !ev?.queue) return;
    busy = true;
    join.disabled = true;
    setText(message, '');
    try {
      setPlace(await api.joinQueue(eventId));
      // The join button is gone now; keep the keyboard where the news is.
      status.focus();
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'sold_out' || e.code === 'event_ended')) host.closed(e.code === 'sold_out' ? 'sold_out' : 'ended');
      else if (e instanceof ApiError && e.code === 'not_queued') host.reload();
      else setText(message, (e instanceof ApiError && joinRefusal(e.code, ev.queue, e.retryAfterSecs)) || describeError(e));
    } finally {
      busy = false;
    }
  }

  function renderLeave(confirming: boolean): void {
    if (!confirming) {
      const b = h('button', { type: 'button', id: 'queue-leave', class: 'secondary', 'data-testid': 'queue-leave' }, 'Leave the queue');
      b.addEventListener('click', () => {
        renderLeave(true);
        leaveArea.querySelector<HTMLButtonElement>('#queue-leave-confirm')?.focus();
      });
      setChildren(leaveArea, b);
      return;
    }
    const yes = h('button', { type: 'button', id: 'queue-leave-confirm', class: 'danger', 'data-testid': 'queue-leave-confirm' }, 'Yes, leave');
    const no = h('button', { type: 'button', id: 'queue-leave-cancel', class: 'secondary', 'data-testid': 'queue-leave-cancel' }, 'Stay in the queue');
    yes.addEventListener('click', () => void leaveQueue());
    no.addEventListener('click', () => {
      renderLeave(false);
      leaveArea.querySelector<HTMLButtonElement>('#queue-leave')?.focus();
    });
    setChildren(leaveArea, h('p', {}, 'Leave the queue? Your place goes to the people behind you.'), yes, no);
  }

  async function leaveQueue(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      await api.leaveQueue(eventId);
      busy = false;
      setChildren(leaveArea);
      setPlace(place ? { ...place, state: 'left' } : null);
      // The join button is back (drawn by setPlace): the natural next stop.
      join.focus();
    } catch (e) {
      busy = false;
      if (e instanceof ApiError && e.code === 'not_in_queue') {
        setChildren(leaveArea);
        setPlace(null);
      } else {
        setText(message, `Could not leave: ${describeError(e)}`);
        renderLeave(false);
      }
    }
  }

  function tick(now: number): boolean {
    if (!ev?.queue) return false;
    const v = queueView({ now, startTime: Date.parse(ev.start_time), queue: ev.queue, signedIn: api.session.signedIn, place, room });
    element.dataset.stage = v.stage;
    show(status, v.status);
    show(rule, v.rule);
    show(roomLine, v.room);
    setFacts([
      [positionBox, position, v.position],
      [aheadBox, ahead, v.ahead],
      [remainingBox, remaining, v.remaining],
      [waitBox, wait, v.wait],
    ]);
    show(odds, v.odds);
    odds.dataset.odds = place?.odds ?? '';
    setText(claimIn, v.claimIn ?? '');
    claimLine.hidden = v.claimIn === null;
    join.hidden = v.join === 'hidden';
    join.disabled = v.join !== 'enabled' || busy;
    signIn.hidden = !v.signIn;
    if (v.leave !== leaveArea.hasChildNodes()) {
      if (v.leave) renderLeave(false);
      else setChildren(leaveArea);
    }
    setText(commitment, ev.queue.seed_commitment);
    verify.hidden = ev.queue.seed === null && now < Date.parse(ev.start_time);
    return v.stage === 'admitted';
  }

  return {
    element,
    proof,
    setEvent(next) {
      ev = next;
      published ??= next.queue?.seed_commitment ?? null;
      // First read, or another account since: whose place this is changed.
      if (placeOf !== api.session.userId) {
        placeOf = api.session.userId;
        place = undefined;
        setText(message, '');
        void readPlace();
      }
      scheduleDrawRead();
    },
    progress(d) {
      room = { serving: d.serving, waiting: d.waiting, remaining: d.remaining, admittedPerSecond: d.admittedPerSecond };
      host.changed();
    },
    queueAdmitted(f: QueueAdmittedFrame) {
      const base: Place = place ?? {
        event_id: eventId,
        state: 'waiting',
        position: null,
        ahead: null,
        serving: f.data.position,
        waiting: room?.waiting ?? 0,
        remaining: room?.remaining ?? 0,
        claim_by: null,
        joined_at: '',
        odds: null,
      };
      setPlace({ ...base, state: 'admitted', position: f.data.position, claim_by: f.data.claimBy });
    },
    claimed() {
      if (place) setPlace({ ...place, state: 'claimed', claim_by: null });
    },
    recheck() {
      void readPlace();
    },
    connectionChanged(isLive) {
      if (!isLive && socketLive) missed = true;
      socketLive = isLive;
      if (isLive && missed) void readPlace();
      schedulePoll();
    },
    tick,
    destroy() {
      clearInterval(pollTimer);
      clearTimeout(drawTimer);
    },
  };
}
