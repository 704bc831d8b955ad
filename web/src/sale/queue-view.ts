// What a queue event's waiting room shows one visitor, as a pure function of
// what the page knows (tested in queue-view.test.ts): the stage they are in,
// one sentence about it, the room's numbers, their place, the odds and the
// estimated wait.

import type { Place, QueueInfo } from '../lib/api';
import { describeCountdown, formatCountdown, formatLocal } from '../lib/time';

/** The room's numbers as last heard: from `queue/me` or a `queue.progress` frame, whichever came later. */
export interface Room {
  serving: number;
  waiting: number;
  remaining: number;
  /** Only frames carry it: null until the first one. */
  admittedPerSecond: number | null;
}

export function roomOf(place: Place, admittedPerSecond: number | null): Room {
  return { serving: place.serving, waiting: place.waiting, remaining: place.remaining, admittedPerSecond };
}

export type QueueStage = 'closed' | 'visitor' | 'checking' | 'not_open' | 'join' | 'left' | 'waiting' | 'admitted' | 'claimed' | 'expired';

export interface QueueViewInput {
  now: number;
  /** The sale's start, ms since the epoch. */
  startTime: number;
  queue: QueueInfo;
  signedIn: boolean;
  /** Null: not in the room; undefined: not known yet (`queue/me` not answered). */
  place: Place | null | undefined;
  room: Room | null;
}

export interface QueueView {
  stage: QueueStage;
  /** One sentence on where this visitor stands; null when the page's banner or outcome says it. */
  status: string | null;
  /** Who may join, when the room is limited to older accounts. */
  rule: string | null;
  /** The room for everyone: how many wait, how far it has served. */
  room: string | null;
  remaining: string | null;
  /** "#12", or when the order will be drawn. */
  position: string | null;
  ahead: string | null;
  odds: string | null;
  wait: string | null;
  /** Time left to claim a held coupon (mm:ss). */
  claimIn: string | null;
  join: 'hidden' | 'disabled' | 'enabled';
  leave: boolean;
  signIn: boolean;
}

function queueStage(i: QueueViewInput): QueueStage {
  const state = i.place?.state;
  if (state === 'claimed') return 'claimed';
  if (i.queue.closed_reason || state === 'closed') return 'closed';
  if (!i.signedIn) return 'visitor';
  // No join button before we know whether this account already holds a place.
  if (i.place === undefined) return 'checking';
  if (!i.place) return i.now < Date.parse(i.queue.opens_at) ? 'not_open' : 'join';
  if (state === 'admitted') return i.place.claim_by && Date.parse(i.place.claim_by) <= i.now ? 'expired' : 'admitted';
  return state === 'waiting' ? 'waiting' : state === 'left' ? 'left' : 'expired';
}

const people = (n: number): string => (n === 1 ? '1 person' : `${n.toLocaleString()} people`);

/**
 * Places ahead now: the place's count less the coupons claimed since it was
 * read. While this visitor waits every claim is by someone ahead (only
 * admitted places claim, and all of them are ahead), so this is exact but
 * for places ahead that lapsed or left meanwhile: an upper bound.
 */
export function estimateAhead(place: Place, room: Room | null): number | null {
  if (place.ahead === null) return null;
  const claimedSince = room ? Math.max(0, place.remaining - room.remaining) : 0;
  return Math.max(0, place.ahead - claimedSince);
}

/** Estimated wait: the places ahead at the rate the room admits. */
export function estimateWait(ahead: number | null, admittedPerSecond: number | null): string | null {
  if (ahead === null) return null;
  if (ahead === 0) return 'You are next';
  if (!admittedPerSecond || admittedPerSecond <= 0) return 'Not known yet';
  const secs = ahead / admittedPerSecond;
  if (secs < 60) return 'Under a minute';
  const minutes = Math.ceil(secs / 60);
  if (minutes < 60) return `About ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `About ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * The server's verdict in plain words with the numbers it rests on.
 * `remaining` counts every coupon not claimed yet, those held for people
 * admitted before this place included, and they are no longer "ahead": so
 * an "unlikely" with no more people ahead than coupons left means coupons
 * are held, and says so. An "unlikely" read before a stock raise
 * (`raisedSince`) is not shown.
 */
export function oddsSentence(odds: Place['odds'], ahead: number | null, remaining: number, raisedSince = false): string | null {
  if (!odds || ahead === null) return null;
  const numbers = `${people(ahead)} ahead, ${remaining.toLocaleString()} left`;
  if (odds === 'unlikely') {
    if (raisedSince) return null;
    if (ahead > remaining) return `${numbers}: you are unlikely to get one.`;
    return `${numbers}, but ${remaining === 1 ? 'it is' : 'some are'} held for people admitted before you: you are unlikely to get one.`;
  }
  if (odds === 'uncertain') return `${numbers}: you may get one if some of them do not claim theirs in time.`;
  return `${numbers}: you should get one if you claim it in time.`;
}

function statusOf(stage: QueueStage, i: QueueViewInput): string | null {
  const opensAt = formatLocal(i.queue.opens_at);
  const claimWindow = describeCountdown(i.queue.claim_window_secs * 1000);
  switch (stage) {
    case 'visitor':
    case 'not_open':
      return i.now < Date.parse(i.queue.opens_at) ? `The queue opens at ${opensAt}.` : null;
    case 'join':
      return i.now < i.startTime
        ? `The queue is open. Everyone who joins before the start (${formatLocal(new Date(i.startTime).toISOString())}) gets a place in an order drawn at random then.`
        : 'The queue is open: join to take the next place in line.';
    case 'left':
      return 'You left the queue.';
    case 'waiting':
      return `You are in the queue. Keep this page open: when your turn comes, you have ${claimWindow} to get your coupon.`;
    case 'admitted':
      return 'It is your turn: a coupon is held for you. Get it before the time runs out.';
    case 'expired':
      return 'Your hold lapsed: the coupon held for you was not claimed in time and went to the next person in line.';
    default:
      // closed: the page's banner says it; claimed: the outcome shows the code.
      return null;
  }
}

function roomLine(room: Room | null, joined: number): string {
  if (!room) return `${people(joined)} joined so far.`;
  const parts = [`${room.waiting.toLocaleString()} waiting`];
  if (room.serving > 0) parts.push(`now serving #${room.serving.toLocaleString()}`);
  return parts.join(' · ');
}

function positionOf(place: Place, i: QueueViewInput): string {
  if (place.position !== null) return `#${place.position.toLocaleString()}`;
  return i.now < i.startTime ? 'Drawn at the start' : 'Being drawn…';
}

export function queueView(i: QueueViewInput): QueueView {
  const stage = queueStage(i);
  const over = stage === 'closed' || stage === 'claimed';
  const waiting = stage === 'waiting' && i.place ? i.place : null;
  const ahead = waiting ? estimateAhead(waiting, i.room) : null;
  const remaining = i.room?.remaining ?? null;
  const claimBy = stage === 'admitted' && i.place?.claim_by ? Date.parse(i.place.claim_by) : null;
  return {
    stage,
    status: statusOf(stage, i),
    rule: i.queue.only_existing_accounts && ['visitor', 'not_open', 'join'].includes(stage) ? `Only accounts that existed when the queue opened (${formatLocal(i.queue.opens_at)}) can join.` : null,
    room: over ? null : roomLine(i.room, i.queue.joined),
    remaining: over || remaining === null ? null : remaining.toLocaleString(),
    position: i.place && (waiting || stage === 'admitted') ? positionOf(i.place, i) : null,
    ahead: ahead === null ? null : ahead.toLocaleString(),
    // More left now than when the place was read: only a stock raise does that.
    odds: waiting && remaining !== null ? oddsSentence(waiting.odds, ahead, remaining, remaining > waiting.remaining) : null,
    wait: waiting && waiting.position !== null ? estimateWait(ahead, i.room?.admittedPerSecond ?? null) : null,
    claimIn: claimBy === null ? null : formatCountdown(claimBy - i.now),
    join: stage === 'join' || stage === 'left' ? 'enabled' : stage === 'not_open' ? 'disabled' : 'hidden',
    leave: stage === 'waiting',
    signIn: stage === 'visitor',
  };
}

/** Reads of a waiting place for the position it is given, at most (see `positionReadDelay`). */
export const POSITION_READS = 4;

/**
 * When to read a waiting place that has no position yet, in ms from `now`;
 * null once it has been read for it `POSITION_READS` times. No frame carries
 * a position: a place joined before the start gets it from the draw a second
 * after the start, a later one from the next tick (within a second of
 * joining). The first read comes 2–20 s after the start, spread because
 * every waiting page makes it, and never sooner than 1.5 s from now (a late
 * joiner's tick). A read that found no position yet (the draw or the tick
 * ran late, as a big room's draw may) is made again 3–6 s later: bounded,
 * never a loop.
 */
export function positionReadDelay(startTime: number, now: number, readsDone: number, random: number): number | null {
  if (readsDone >= POSITION_READS) return null;
  if (readsDone === 0) return Math.max(1_500, startTime - now + 2_000 + random * 18_000);
  return 3_000 + random * 3_000;
}

/** A refused join in words; null for the codes the page acts on instead (the room closed, no queue at all). */
export function joinRefusal(code: string, queue: QueueInfo, retryAfterSecs: number | null): string | null {
  switch (code) {
    case 'queue_not_open':
      return `The queue is not open yet: it opens at ${formatLocal(queue.opens_at)}.`;
    case 'account_too_new':
      return `Only accounts that existed when the queue opened (${formatLocal(queue.opens_at)}) can join this queue.`;
    case 'rate_limited': {
      const secs = retryAfterSecs ?? 1;
      return `Too many tries — please wait ${secs} second${secs === 1 ? '' : 's'} and try again.`;
    }
    default:
      return null;
  }
}
