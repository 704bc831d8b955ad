// What the sale page shows for a sale's state, as pure functions of what the
// page knows, so the rules are tested without a browser: the status, the
// stock bar, the one "get coupon" call to action and the sign-in prompt.

import type { DrawInfo, EventStatus, QueueInfo, SaleEvent } from '../lib/api';

export function statusLabel(s: EventStatus): string {
  return { scheduled: 'Coming up', active: 'On sale', sold_out: 'Sold out', ended: 'Ended' }[s];
}

type StatusInput = Pick<SaleEvent, 'status' | 'start_time' | 'end_time'> & {
  queue?: Pick<QueueInfo, 'closed_reason'> | null;
  draw?: Pick<DrawInfo, 'closed_reason'> | null;
};

/**
 * The status by the server's rules (contract §2.3), from what we know now.
 * A queue event's room or a draw closing (`queue.closed`) ends or sells out
 * the sale at once, before any other frame says so; a draw whose ranked list
 * ran out (`exhausted`) has nothing more to give anyone: it is over.
 */
export function liveStatus(ev: StatusInput, remaining: number, now: number): EventStatus {
  const closed = ev.queue?.closed_reason ?? ev.draw?.closed_reason ?? null;
  if (ev.status === 'ended' || closed === 'ended' || closed === 'closed' || closed === 'exhausted' || now >= Date.parse(ev.end_time)) return 'ended';
  if (now < Date.parse(ev.start_time)) return 'scheduled';
  return remaining <= 0 || closed === 'sold_out' ? 'sold_out' : 'active';
}

/** Nothing more can be had from the sale: nothing on the page may invite anyone to take part. */
export function isFinished(s: EventStatus): boolean {
  return s === 'sold_out' || s === 'ended';
}

export interface StockView {
  left: number;
  /** The bar's filled share, 0 to 1. */
  fraction: number;
  words: string;
}

/**
 * The bar and its text from one clamped count, so they can never disagree:
 * nothing left is an empty bar, whatever the total.
 */
export function stockView(remaining: number, total: number): StockView {
  const left = Math.max(0, Math.min(remaining, total));
  return {
    left,
    fraction: total > 0 ? left / total : 0,
    words: `${left.toLocaleString()} of ${total.toLocaleString()} left`,
  };
}

/**
 * The one sentence a finished sale shows (the page's status badge is part of
 * it, not repeated next to the title); null while the sale is not over.
 * `room`: the sale's waiting room or draw, null for a first-come sale.
 */
export function finishedBanner(phase: EventStatus, room: 'queue' | 'draw' | null): { testid: string; rest: string } | null {
  const closed = room === 'queue' ? ' — the queue is closed.' : room === 'draw' ? ' — the draw is closed.' : null;
  if (phase === 'sold_out') return { testid: 'soldout-banner', rest: closed ?? ' — every coupon has been taken.' };
  if (phase === 'ended') return { testid: 'ended-banner', rest: closed ?? ' — this sale is over.' };
  return null;
}

export interface CtaInput {
  phase: EventStatus;
  signedIn: boolean;
  inFlight: boolean;
  /** Coupons of this sale the user holds. */
  held: number;
  maxPerUser: number;
  /** The start, as the page writes times. */
  startsAt: string;
  /** The countdown to the start, as the page writes it. */
  opensIn: string;
  /** Seconds until a rate-limited user may press again; 0 when not limited. */
  retryInSecs: number;
  /** The last press got no answer; its key is kept for the next one. */
  pendingKey: boolean;
  /** Queue and draw events: whether a coupon is held for this user now (admitted, or won). Null for first-come sales. */
  queueTurn: boolean | null;
}

export interface Cta {
  /** A finished sale has no button at all (its banner says why). */
  hidden: boolean;
  label: string;
  enabled: boolean;
  hint: string;
}

/** The "get coupon" button: its label, whether it can be pressed, and the line under it. */
export function callToAction(i: CtaInput): Cta {
  const cta = (label: string, enabled = false, hint = ''): Cta => ({ hidden: false, label, enabled, hint });
  const none: Cta = { hidden: true, label: '', enabled: false, hint: '' };
  // A coupon held for this user is theirs to claim whatever a stock count says meanwhile; an ended sale is over.
  const holding = i.queueTurn === true && i.phase === 'sold_out';
  if (isFinished(i.phase) && !i.inFlight && !holding) return none;
  // A queue or draw event's call to action is its panel's until the user's turn (or win).
  if (i.queueTurn === false && !i.inFlight) return none;
  if (!i.signedIn) {
    return cta(i.phase === 'scheduled' ? `Opens in ${i.opensIn}` : 'Sign in to get a coupon', false, 'Sign in or create an account below to take part.');
  }
  if (i.inFlight) return cta('Getting your coupon…');
  if (i.phase === 'scheduled') return cta(`Opens in ${i.opensIn}`, false, `The button opens at ${i.startsAt}.`);
  if (i.held >= i.maxPerUser) return cta(i.held === 1 ? 'You have your coupon' : `You have your ${i.held} coupons`, false, 'See "My coupons" below.');
  if (i.retryInSecs > 0) return cta(`Try again in ${i.retryInSecs} s`);
  return cta(i.queueTurn ? 'Get your coupon' : 'Get coupon', true, i.pendingKey ? 'Your last try got no answer; pressing again is safe — you will never get two coupons by accident.' : '');
}

/** The sign-in panel's heading and intro: no invitation to take part in a sale that is over. */
export function signInPrompt(finished: boolean): { title: string; intro: string } {
  return finished
    ? { title: 'Sign in', intro: 'Sign in to see your coupons.' }
    : {
        title: 'Sign in to take part',
        intro: 'You need an account to get a coupon. Signing in before the sale starts means you are ready the second it opens.',
      };
}
