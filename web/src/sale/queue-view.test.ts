import { describe, expect, it } from 'vitest';
import type { Place, QueueInfo } from '../lib/api';
import { formatLocal } from '../lib/time';
import { POSITION_READS, type QueueViewInput, estimateAhead, estimateWait, joinRefusal, oddsSentence, positionReadDelay, queueView, roomOf } from './queue-view';

const OPENS = '2026-02-11T00:30:00Z';
const START = Date.parse('2026-02-11T01:00:00Z');
const BEFORE_OPEN = Date.parse('2026-02-11T00:10:00Z');
const BEFORE_START = Date.parse('2026-02-11T00:45:00Z');
const DURING = Date.parse('2026-02-11T01:10:00Z');

const queue: QueueInfo = {
  opens_at: OPENS,
  claim_window_secs: 120,
  only_existing_accounts: false,
  seed_commitment: 'ab'.repeat(32),
  seed: null,
  closed_reason: null,
  joined: 40,
};

const place = (over: Partial<Place> = {}): Place => ({
  event_id: 1,
  state: 'waiting',
  position: 30,
  ahead: 12,
  serving: 17,
  waiting: 200,
  remaining: 5,
  claim_by: null,
  joined_at: OPENS,
  odds: 'unlikely',
  ...over,
});

const input = (over: Partial<QueueViewInput> = {}): QueueViewInput => ({
  now: DURING,
  startTime: START,
  queue,
  signedIn: true,
  place: null,
  room: null,
  ...over,
});

describe('the waiting room stage', () => {
  it('shows visitors the room and asks them to sign in to join', () => {
    const v = queueView(input({ signedIn: false, room: { serving: 17, waiting: 200, remaining: 5, admittedPerSecond: 2 } }));
    expect(v).toMatchObject({ stage: 'visitor', signIn: true, join: 'hidden', room: '200 waiting · now serving #17', remaining: '5', status: null });
    expect(queueView(input({ signedIn: false, now: BEFORE_OPEN })).status).toBe(`The queue opens at ${formatLocal(OPENS)}.`);
    expect(queueView(input({ signedIn: false })).room).toBe('40 people joined so far.');
  });

  it('offers joining once the queue is open, and says how the order is made', () => {
    expect(queueView(input({ now: BEFORE_OPEN }))).toMatchObject({ stage: 'not_open', join: 'disabled' });
    const early = queueView(input({ now: BEFORE_START }));
    expect(early).toMatchObject({ stage: 'join', join: 'enabled', leave: false });
    expect(early.status).toMatch(/drawn at random/);
    expect(queueView(input()).status).toMatch(/next place in line/);
  });

  it('offers nothing to a signed-in visitor until their place is known', () => {
    expect(queueView(input({ place: undefined }))).toMatchObject({ stage: 'checking', join: 'hidden', leave: false, status: null });
  });

  it('names the account rule to those who could still join', () => {
    const limited = { ...queue, only_existing_accounts: true };
    expect(queueView(input({ queue: limited })).rule).toMatch(/Only accounts that existed/);
    expect(queueView(input({ queue: limited, place: place() })).rule).toBeNull();
  });

  it('says the order is drawn at the start until it is', () => {
    const v = queueView(input({ now: BEFORE_START, place: place({ position: null, ahead: null, odds: null }) }));
    expect(v).toMatchObject({ stage: 'waiting', position: 'Drawn at the start', ahead: null, odds: null, wait: null, leave: true });
  });

  it('shows a waiting place with the people ahead, the stock, the odds and the wait', () => {
    const p = place();
    const v = queueView(input({ place: p, room: { ...roomOf(p, null), admittedPerSecond: 0.1 } }));
    expect(v).toMatchObject({
      stage: 'waiting',
      position: '#30',
      ahead: '12',
      remaining: '5',
      odds: '12 people ahead, 5 left: you are unlikely to get one.',
      wait: 'About 2 minutes',
      join: 'hidden',
      leave: true,
    });
  });

  it('switches to the claim with a countdown when admitted, and to a lapsed hold after it', () => {
    const p = place({ state: 'admitted', claim_by: new Date(DURING + 95_000).toISOString() });
    expect(queueView(input({ place: p }))).toMatchObject({ stage: 'admitted', claimIn: '01:35', leave: false, join: 'hidden' });
    expect(queueView(input({ place: p, now: DURING + 95_000 }))).toMatchObject({ stage: 'expired', claimIn: null });
    expect(queueView(input({ place: place({ state: 'expired' }) })).status).toMatch(/hold lapsed/);
  });

  it('leaves a closed room to the page banner, and a claim to the outcome', () => {
    const closed = queueView(input({ queue: { ...queue, closed_reason: 'sold_out' }, place: place() }));
    expect(closed).toMatchObject({ stage: 'closed', status: null, room: null, join: 'hidden', leave: false, signIn: false });
    expect(queueView(input({ signedIn: false, queue: { ...queue, closed_reason: 'ended' } })).signIn).toBe(false);
    expect(queueView(input({ place: place({ state: 'closed' }) })).stage).toBe('closed');
    expect(queueView(input({ place: place({ state: 'claimed' }), queue: { ...queue, closed_reason: 'sold_out' } }))).toMatchObject({ stage: 'claimed', status: null });
  });

  it('lets someone who left join again', () => {
    expect(queueView(input({ place: place({ state: 'left' }) }))).toMatchObject({ stage: 'left', join: 'enabled', status: 'You left the queue.' });
  });
});

describe('people ahead', () => {
  it('drop by the coupons claimed since the place was read', () => {
    const p = place({ ahead: 12, remaining: 5 });
    expect(estimateAhead(p, null)).toBe(12);
    expect(estimateAhead(p, { serving: 20, waiting: 190, remaining: 2, admittedPerSecond: 1 })).toBe(9);
    // Stock raised since: nobody ahead gained a place.
    expect(estimateAhead(p, { serving: 20, waiting: 190, remaining: 9, admittedPerSecond: 1 })).toBe(12);
    expect(estimateAhead(place({ ahead: null }), null)).toBeNull();
  });
});

describe('the wait', () => {
  it('is the places ahead at the rate the room admits', () => {
    expect(estimateWait(0, null)).toBe('You are next');
    expect(estimateWait(10, null)).toBe('Not known yet');
    expect(estimateWait(10, 0)).toBe('Not known yet');
    expect(estimateWait(10, 1)).toBe('Under a minute');
    expect(estimateWait(60, 1)).toBe('About 1 minute');
    expect(estimateWait(61, 1)).toBe('About 2 minutes');
    expect(estimateWait(3 * 3600 + 5 * 60, 1)).toBe('About 3 h 5 min');
    expect(estimateWait(null, 1)).toBeNull();
  });
});

describe('the odds', () => {
  it('say plainly what the numbers mean', () => {
    expect(oddsSentence('unlikely', 1, 0)).toBe('1 person ahead, 0 left: you are unlikely to get one.');
    expect(oddsSentence('uncertain', 6, 5)).toMatch(/^6 people ahead, 5 left: you may get one/);
    expect(oddsSentence('good', 2, 5)).toMatch(/^2 people ahead, 5 left: you should get one/);
    expect(oddsSentence(null, 2, 5)).toBeNull();
  });

  it('say why an "unlikely" with no more people ahead than coupons left: those coupons are held', () => {
    // Place #2 behind #1, who holds the only coupon: nobody ahead, 1 left.
    expect(oddsSentence('unlikely', 0, 1)).toBe('0 people ahead, 1 left, but it is held for people admitted before you: you are unlikely to get one.');
    expect(oddsSentence('unlikely', 5, 5)).toBe('5 people ahead, 5 left, but some are held for people admitted before you: you are unlikely to get one.');
    const second = place({ position: 2, ahead: 0, serving: 1, waiting: 1, remaining: 1, odds: 'unlikely' });
    expect(queueView(input({ place: second, room: roomOf(second, 0.1) })).odds).toMatch(/^0 people ahead, 1 left, but it is held .*: you are unlikely to get one\.$/);
  });

  it('drop an "unlikely" read before a stock raise', () => {
    expect(oddsSentence('unlikely', 5, 5, true)).toBeNull();
    const second = place({ position: 2, ahead: 0, serving: 1, waiting: 1, remaining: 1, odds: 'unlikely' });
    expect(queueView(input({ place: second, room: { ...roomOf(second, 0.1), remaining: 3 } })).odds).toBeNull();
  });
});

describe('reading a waiting place for its position', () => {
  it('comes 2–20 s after the start for a place that joined before it', () => {
    expect(positionReadDelay(START, BEFORE_START, 0, 0)).toBe(START - BEFORE_START + 2_000);
    expect(positionReadDelay(START, BEFORE_START, 0, 1)).toBe(START - BEFORE_START + 20_000);
  });

  it('waits for the next tick after a late join instead of reading at once', () => {
    expect(positionReadDelay(START, DURING, 0, 0.5)).toBe(1_500);
  });

  it('is made again, a few times at most, while a read still finds no position', () => {
    // The draw ran late: the read 2 s after the start found none.
    for (let done = 1; done < POSITION_READS; done++) {
      const again = positionReadDelay(START, START + 2_000, done, 0.5);
      expect(again).toBeGreaterThanOrEqual(3_000);
      expect(again).toBeLessThanOrEqual(6_000);
    }
    expect(positionReadDelay(START, DURING, POSITION_READS, 0.5)).toBeNull();
  });
});

describe('a refused join', () => {
  it('is explained, or left to the page when it closes the room', () => {
    expect(joinRefusal('queue_not_open', queue, null)).toBe(`The queue is not open yet: it opens at ${formatLocal(OPENS)}.`);
    expect(joinRefusal('account_too_new', queue, null)).toMatch(/existed when the queue opened/);
    expect(joinRefusal('rate_limited', queue, 3)).toBe('Too many tries — please wait 3 seconds and try again.');
    expect(joinRefusal('sold_out', queue, null)).toBeNull();
  });
});
