// What a draw event's panel shows one visitor, as a pure function of what the
// page knows (tested in draw-view.test.ts): the stage they are in, one
// sentence about it, the entry window, the live entry count and odds, their
// rank and place on the waitlist, the claim countdown — and when to read the
// draw's public numbers again (no frame carries the seed or the sealed count).

import type { DrawInfo, DrawView, EntryState, EntryView } from '../lib/api';
import type { QueueProgressData } from '../lib/push';
import { describeCountdown, formatClock, formatCountdown, formatLocal } from '../lib/time';

/** The draw's numbers as last heard: from `GET …/draw`, an entry, or a `queue.progress` frame, whichever came later. */
export interface DrawRoom {
  /** Entrants so far; once entries closed, the sealed count. */
  entries: number;
  /** Coupons not claimed yet. */
  remaining: number;
  /** Places that won so far (first draw and backfill); null when not known. */
  winners: number | null;
  drawn: boolean;
}

export function roomOfView(v: DrawView): DrawRoom {
  return { entries: v.entries, remaining: v.remaining, winners: v.winners, drawn: v.drawn };
}

/**
 * A `queue.progress` frame moves the room. Its `waiting` is the entries
 * while the window is open and the waitlist after the draw: every entrant
 * then either won (and holds, claimed or let the coupon lapse) or waits on
 * the list, so the winners are the entries less the waitlist. Between the
 * window's close and the draw the sealed count stays as read.
 */
export function roomAfterProgress(room: DrawRoom | null, d: QueueProgressData, now: number, entryClosesAt: number): DrawRoom | null {
  if (now < entryClosesAt) return { entries: d.waiting, remaining: d.remaining, winners: room?.winners ?? null, drawn: false };
  if (!room) return null;
  if (room.drawn) return { ...room, remaining: d.remaining, winners: Math.max(0, room.entries - d.waiting) };
  return { ...room, remaining: d.remaining };
}

/**
 * A frame after the window closed whose `waiting` is not the sealed count:
 * the waitlist replaced the entries, so the draw was made (with a coupon
 * left, at least one entry wins). Only then is the draw's view read again.
 */
export function progressShowsDraw(room: DrawRoom | null, d: QueueProgressData, now: number, entryClosesAt: number): boolean {
  return room !== null && !room.drawn && now >= entryClosesAt + 1_000 && d.waiting !== room.entries;
}

export type DrawStage =
  | 'closed'
  | 'visitor'
  | 'checking'
  | 'not_open'
  | 'enter'
  | 'withdrawn'
  | 'entries_closed'
  | 'entered'
  | 'won'
  | 'waitlisted'
  | 'expired'
  | 'claimed';

export interface DrawViewInput {
  now: number;
  draw: DrawInfo;
  signedIn: boolean;
  /** Null: no entry; undefined: not known yet (`entries/me` not answered). */
  entry: EntryView | null | undefined;
  room: DrawRoom | null;
}

export interface DrawPanelView {
  stage: DrawStage;
  /** One sentence (or two) on where this visitor stands; null when the page's banner or outcome says it. */
  status: string | null;
  /** Who may enter, when the draw is limited to older accounts. */
  rule: string | null;
  /** The window and the draw time, for everyone. */
  schedule: string;
  /** "Entries close in 00:12", "The draw in 04:00", …; null once drawn. */
  clock: string | null;
  entries: string | null;
  remaining: string | null;
  /** The chance of an entry, in words; null after the draw. */
  odds: string | null;
  /** After the draw, for everyone: how many won. */
  result: string | null;
  rank: string | null;
  /** "#1": places before this one on the waitlist, plus one. */
  waitlist: string | null;
  /** Time left to claim a win (mm:ss). */
  claimIn: string | null;
  enter: 'hidden' | 'disabled' | 'enabled';
  withdraw: boolean;
  signIn: boolean;
  /** The proof can be asked for. */
  verify: boolean;
}

const AFTER_DRAW: readonly EntryState[] = ['won', 'waitlisted', 'expired', 'claimed'];

/** The draw has been made, as far as this page can tell. */
export function isDrawn(i: Pick<DrawViewInput, 'draw' | 'entry' | 'room'>): boolean {
  return Boolean(i.room?.drawn) || i.draw.seed !== null || (i.entry ? AFTER_DRAW.includes(i.entry.state) : false);
}

function drawStage(i: DrawViewInput): DrawStage {
  const state = i.entry?.state;
  if (state === 'claimed') return 'claimed';
  if (i.draw.closed_reason || state === 'closed') return 'closed';
  if (!i.signedIn) return 'visitor';
  // No enter button before we know whether this account already entered.
  if (i.entry === undefined) return 'checking';
  if (!i.entry || state === 'withdrawn') {
    if (i.now < Date.parse(i.draw.entry_opens_at)) return state ? 'withdrawn' : 'not_open';
    if (i.now < Date.parse(i.draw.entry_closes_at)) return state ? 'withdrawn' : 'enter';
    return state ? 'withdrawn' : 'entries_closed';
  }
  if (state === 'won') return i.entry.claim_by && Date.parse(i.entry.claim_by) <= i.now ? 'expired' : 'won';
  if (state === 'waitlisted') return 'waitlisted';
  if (state === 'expired') return 'expired';
  return 'entered';
}

const n = (x: number): string => x.toLocaleString();
const plural = (x: number, one: string, many: string): string => `${n(x)} ${x === 1 ? one : many}`;

/** A chance as people say it: "50%", "under 1%", "every entry wins". */
export function describeChance(p: number): string {
  if (p >= 1) return 'every entry wins';
  if (p < 0.01) return 'under 1%';
  return `${Math.round(p * 100)}%`;
}

/** Before the draw: coupons for entries, and the chance of each entry (min(1, remaining / entries)). */
export function oddsSentence(remaining: number, entries: number): string | null {
  if (entries <= 0) return null;
  const p = Math.min(1, remaining / entries);
  const head = `${plural(remaining, 'coupon', 'coupons')} for ${plural(entries, 'entry', 'entries')}`;
  return p >= 1 ? `${head}: every entry wins so far.` : `${head}: each entry has a ${describeChance(p)} chance.`;
}

/** The place on the waitlist: ranks won go in order, so those still ahead are the ranks after the winners. */
export function waitlistPlace(rank: number | null, winners: number | null): number | null {
  if (rank === null || winners === null || rank <= winners) return null;
  return rank - winners;
}

function statusOf(stage: DrawStage, i: DrawViewInput, drawn: boolean, place: number | null): string | null {
  const closes = formatLocal(i.draw.entry_closes_at);
  const open = i.now >= Date.parse(i.draw.entry_opens_at) && i.now < Date.parse(i.draw.entry_closes_at);
  switch (stage) {
    case 'visitor':
      if (drawn) return null;
      if (i.now < Date.parse(i.draw.entry_opens_at)) return `Entries open at ${formatLocal(i.draw.entry_opens_at)}.`;
      return open ? `Entries are open until ${closes}.` : 'Entries are closed.';
    case 'not_open':
      return `Entries open at ${formatLocal(i.draw.entry_opens_at)}.`;
    case 'enter':
      return `Entries are open until ${closes}. When they close, the coupons go to entries drawn at random; you have ${describeCountdown(i.draw.claim_window_secs * 1000)} to claim a win.`;
    case 'withdrawn':
      return open ? `You withdrew from the draw. You can enter again until ${closes}.` : 'You withdrew from the draw.';
    case 'entries_closed':
      return 'Entries are closed: you did not enter this draw.';
    case 'entered':
      return open
        ? `You are in the draw. Keep this page open: the result is shown here when it is drawn (${formatLocal(i.draw.draw_at)}).`
        : 'You are in the draw; entries are closed. Keep this page open: the result is shown here.';
    case 'won': {
      const by = i.entry?.claim_by ? formatClock(i.entry.claim_by) : null;
      return by ? `You won — claim before ${by}.` : 'You won — claim your coupon now.';
    }
    case 'waitlisted': {
      const head = place !== null ? `Not drawn this time — you are #${n(place)} on the waitlist.` : 'Not drawn this time — you are on the waitlist.';
      return `${head} If a winner does not claim in time, their coupon goes down the waitlist: keep this page open.`;
    }
    case 'expired':
      return 'Your win lapsed: the coupon was not claimed in time and went to the next on the waitlist.';
    case 'claimed':
      return 'You won the draw and claimed your coupon.';
    default:
      // closed: the page's banner says it; checking: nothing yet.
      return null;
  }
}

function clockOf(i: DrawViewInput, drawn: boolean): string | null {
  if (drawn || i.draw.closed_reason) return null;
  const opens = Date.parse(i.draw.entry_opens_at);
  const closes = Date.parse(i.draw.entry_closes_at);
  const at = Date.parse(i.draw.draw_at);
  if (i.now < opens) return `Entries open in ${formatCountdown(opens - i.now)}`;
  if (i.now < closes) return `Entries close in ${formatCountdown(closes - i.now)}`;
  if (i.draw.beacon_round && !i.draw.beacon) return `The draw waits for the value of ${i.draw.beacon_round}.`;
  if (i.now < at) return `The draw in ${formatCountdown(at - i.now)}`;
  return 'The draw is being made…';
}

/** Winners as the room says once drawn; null before (its count is from before the draw) or when not known. */
function winnersOf(room: DrawRoom | null): number | null {
  return room?.drawn ? room.winners : null;
}

function resultOf(room: DrawRoom | null): string | null {
  const winners = winnersOf(room);
  if (!room || winners === null) return null;
  const waiting = Math.max(0, room.entries - winners);
  return `${plural(winners, 'entry', 'entries')} of ${n(room.entries)} won so far; ${n(waiting)} on the waitlist.`;
}

export function drawView(i: DrawViewInput): DrawPanelView {
  const stage = drawStage(i);
  const drawn = isDrawn(i);
  const over = stage === 'closed' || stage === 'claimed';
  const rank = i.entry?.rank ?? null;
  const place = stage === 'waitlisted' ? waitlistPlace(rank, winnersOf(i.room)) : null;
  const claimBy = stage === 'won' && i.entry?.claim_by ? Date.parse(i.entry.claim_by) : null;
  const windowOpen = i.now >= Date.parse(i.draw.entry_opens_at) && i.now < Date.parse(i.draw.entry_closes_at);
  const entries = i.room?.entries ?? i.draw.entries;
  return {
    stage,
    status: statusOf(stage, i, drawn, place),
    rule:
      i.draw.only_existing_accounts && ['visitor', 'not_open', 'enter', 'withdrawn'].includes(stage) && !drawn
        ? `Only accounts that existed when entries opened (${formatLocal(i.draw.entry_opens_at)}) can enter.`
        : null,
    schedule: `Entries from ${formatLocal(i.draw.entry_opens_at)} to ${formatLocal(i.draw.entry_closes_at)}; drawn at ${formatLocal(i.draw.draw_at)}.`,
    clock: clockOf(i, drawn),
    entries: over && drawn ? null : n(entries),
    remaining: over || !i.room ? null : n(i.room.remaining),
    odds: drawn || over || !i.room ? null : oddsSentence(i.room.remaining, i.room.entries),
    result: resultOf(i.room),
    rank: rank !== null && drawn ? `#${n(rank)}` : null,
    waitlist: place === null ? null : `#${n(place)}`,
    claimIn: claimBy === null ? null : formatCountdown(claimBy - i.now),
    enter: stage === 'enter' || (stage === 'withdrawn' && windowOpen) ? 'enabled' : stage === 'not_open' ? 'disabled' : 'hidden',
    withdraw: stage === 'entered' && windowOpen,
    signIn: stage === 'visitor' && !drawn && i.now < Date.parse(i.draw.entry_closes_at),
    verify: drawn,
  };
}

/** Reads of the draw's view for the result, at most, once the draw time passed (see `resultReadDelay`). */
export const RESULT_READS = 4;

/**
 * When to read the draw's view for its result, in ms from `now`; null once
 * it has been read for it `RESULT_READS` times. The first read comes 2–20 s
 * after the draw time, spread because every open page makes it; a read that
 * found no draw yet (it waits for a beacon, or runs late) is made again
 * 3–6 s later, a few times at most, never a loop: entrants learn the result
 * from their own frame anyway.
 */
export function resultReadDelay(drawAt: number, now: number, readsDone: number, random: number): number | null {
  if (readsDone >= RESULT_READS) return null;
  if (readsDone === 0) return Math.max(1_000, drawAt - now + 2_000 + random * 18_000);
  return 3_000 + random * 3_000;
}

/** A refused entry in words; null for the codes the page acts on instead (the sale over, not a draw at all). */
export function entryRefusal(code: string, draw: DrawInfo, retryAfterSecs: number | null): string | null {
  switch (code) {
    case 'entries_not_open':
      return `Entries are not open yet: they open at ${formatLocal(draw.entry_opens_at)}.`;
    case 'entries_closed':
      return `Entries closed at ${formatLocal(draw.entry_closes_at)}.`;
    case 'entries_full':
      return 'The draw is full: no more entries are taken.';
    case 'account_too_new':
      return `Only accounts that existed when entries opened (${formatLocal(draw.entry_opens_at)}) can enter this draw.`;
    case 'rate_limited': {
      const secs = retryAfterSecs ?? 1;
      return `Too many tries — please wait ${secs} second${secs === 1 ? '' : 's'} and try again.`;
    }
    default:
      return null;
  }
}
