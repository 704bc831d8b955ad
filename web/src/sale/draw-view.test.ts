import { describe, expect, it } from 'vitest';
import type { DrawInfo, EntryView } from '../lib/api';
import { formatLocal } from '../lib/time';
import {
  type DrawViewInput,
  RESULT_READS,
  describeChance,
  drawView,
  entryRefusal,
  oddsSentence,
  progressShowsDraw,
  resultReadDelay,
  roomAfterProgress,
  waitlistPlace,
} from './draw-view';

// TZ=Asia/Seoul (vite.config.ts): 01:00Z is 10:00 local.
const OPENS = '2026-02-11T00:30:00Z';
const CLOSES = '2026-02-11T01:00:00Z';
const DRAW_AT = '2026-02-11T01:05:00Z';
const BEFORE_OPEN = Date.parse('2026-02-11T00:10:00Z');
const OPEN = Date.parse('2026-02-11T00:45:00Z');
const SEALED = Date.parse('2026-02-11T01:02:00Z');
const AFTER = Date.parse('2026-02-11T01:10:00Z');

const draw: DrawInfo = {
  entry_opens_at: OPENS,
  entry_closes_at: CLOSES,
  draw_at: DRAW_AT,
  claim_window_secs: 120,
  only_existing_accounts: false,
  seed_commitment: 'ab'.repeat(32),
  beacon_round: null,
  beacon: null,
  entrants_digest: null,
  seed: null,
  closed_reason: null,
  entries: 40,
};

const drawn: DrawInfo = { ...draw, seed: 'cd'.repeat(32), entrants_digest: 'ef'.repeat(32) };

const entry = (over: Partial<EntryView> = {}): EntryView => ({
  event_id: 1,
  state: 'entered',
  rank: null,
  claim_by: null,
  entries: 40,
  remaining: 10,
  odds: 0.25,
  entered_at: OPENS,
  ...over,
});

const input = (over: Partial<DrawViewInput> = {}): DrawViewInput => ({
  now: OPEN,
  draw,
  signedIn: true,
  entry: null,
  room: { entries: 40, remaining: 10, winners: 0, drawn: false },
  ...over,
});

describe('the draw stage', () => {
  it('shows visitors the window, the count and the odds, and asks them to sign in to enter', () => {
    const v = drawView(input({ signedIn: false }));
    expect(v).toMatchObject({
      stage: 'visitor',
      signIn: true,
      enter: 'hidden',
      entries: '40',
      remaining: '10',
      odds: '10 coupons for 40 entries: each entry has a 25% chance.',
      status: `Entries are open until ${formatLocal(CLOSES)}.`,
      clock: 'Entries close in 15:00',
      verify: false,
    });
    expect(drawView(input({ signedIn: false, now: BEFORE_OPEN })).status).toBe(`Entries open at ${formatLocal(OPENS)}.`);
    expect(drawView(input({ signedIn: false, now: SEALED })).signIn).toBe(false);
  });

  it('offers nothing to a signed-in visitor until their entry is known', () => {
    expect(drawView(input({ entry: undefined }))).toMatchObject({ stage: 'checking', enter: 'hidden', withdraw: false, status: null });
  });

  it('offers the entry while the window is open, and says when it opens', () => {
    expect(drawView(input({ now: BEFORE_OPEN }))).toMatchObject({ stage: 'not_open', enter: 'disabled', clock: 'Entries open in 20:00' });
    const open = drawView(input());
    expect(open).toMatchObject({ stage: 'enter', enter: 'enabled', withdraw: false });
    expect(open.status).toMatch(/drawn at random; you have 2 minutes to claim a win/);
    expect(drawView(input({ now: SEALED }))).toMatchObject({ stage: 'entries_closed', enter: 'hidden', status: 'Entries are closed: you did not enter this draw.' });
  });

  it('lets an entrant withdraw while the window is open, and enter again', () => {
    expect(drawView(input({ entry: entry() }))).toMatchObject({ stage: 'entered', withdraw: true, enter: 'hidden', rank: null });
    expect(drawView(input({ entry: entry(), now: SEALED }))).toMatchObject({ stage: 'entered', withdraw: false, clock: 'The draw in 03:00' });
    const out = drawView(input({ entry: entry({ state: 'withdrawn' }) }));
    expect(out).toMatchObject({ stage: 'withdrawn', enter: 'enabled', withdraw: false });
    expect(out.status).toMatch(/^You withdrew from the draw\. You can enter again until /);
    expect(drawView(input({ entry: entry({ state: 'withdrawn' }), now: SEALED }))).toMatchObject({ stage: 'withdrawn', enter: 'hidden', status: 'You withdrew from the draw.' });
  });

  it('names the account rule to those who could still enter', () => {
    const limited = { ...draw, only_existing_accounts: true };
    expect(drawView(input({ draw: limited })).rule).toMatch(/^Only accounts that existed when entries opened .* can enter\.$/);
    expect(drawView(input({ draw: limited, entry: entry() })).rule).toBeNull();
  });

  it('says the draw waits for the beacon named in advance', () => {
    const named = { ...draw, beacon_round: 'drand quicknet round 12345678' };
    expect(drawView(input({ draw: named, entry: entry(), now: AFTER })).clock).toBe('The draw waits for the value of drand quicknet round 12345678.');
    expect(drawView(input({ draw: { ...named, beacon: '00ff' }, entry: entry(), now: AFTER })).clock).toBe('The draw is being made…');
  });

  it('switches to the win with the claim time and a countdown, and to a lapsed win after it', () => {
    const claimBy = new Date(AFTER + 95_000).toISOString();
    const won = drawView(input({ draw: drawn, now: AFTER, entry: entry({ state: 'won', rank: 3, claim_by: claimBy }), room: { entries: 40, remaining: 10, winners: 10, drawn: true } }));
    // 01:11:35Z is 10:11:35 in Seoul.
    expect(won).toMatchObject({ stage: 'won', status: 'You won — claim before 10:11:35.', claimIn: '01:35', rank: '#3', waitlist: null, odds: null, verify: true });
    expect(drawView(input({ draw: drawn, now: AFTER + 95_000, entry: entry({ state: 'won', rank: 3, claim_by: claimBy }) }))).toMatchObject({ stage: 'expired', claimIn: null });
    expect(drawView(input({ draw: drawn, now: AFTER, entry: entry({ state: 'expired', rank: 3 }) })).status).toMatch(/^Your win lapsed/);
  });

  it('tells an entry not drawn its place on the waitlist, which moves with the winners', () => {
    const lost = entry({ state: 'waitlisted', rank: 13 });
    const v = drawView(input({ draw: drawn, now: AFTER, entry: lost, room: { entries: 40, remaining: 10, winners: 10, drawn: true } }));
    expect(v).toMatchObject({ stage: 'waitlisted', rank: '#13', waitlist: '#3', odds: null, result: '10 entries of 40 won so far; 30 on the waitlist.' });
    expect(v.status).toMatch(/^Not drawn this time — you are #3 on the waitlist\. If a winner does not claim in time/);
    // Two backfills later.
    expect(drawView(input({ draw: drawn, now: AFTER, entry: lost, room: { entries: 40, remaining: 8, winners: 12, drawn: true } })).waitlist).toBe('#1');
    // Winners not known yet: no number rather than a wrong one.
    const unknown = drawView(input({ draw: drawn, now: AFTER, entry: lost, room: { entries: 40, remaining: 10, winners: null, drawn: true } }));
    expect(unknown).toMatchObject({ waitlist: null, result: null });
    expect(unknown.status).toMatch(/^Not drawn this time — you are on the waitlist\./);
    // Winners counted before the draw say nothing about the ranks that won.
    expect(drawView(input({ draw: drawn, now: AFTER, entry: lost, room: { entries: 40, remaining: 10, winners: 0, drawn: false } })).waitlist).toBeNull();
  });

  it('a later win for a waitlisted entry switches to the win', () => {
    const v = drawView(input({ draw: drawn, now: AFTER, entry: entry({ state: 'won', rank: 13, claim_by: new Date(AFTER + 30_000).toISOString() }) }));
    expect(v).toMatchObject({ stage: 'won', waitlist: null, claimIn: '00:30' });
  });

  it('knows the draw was made from the seed, the room or the entry', () => {
    expect(drawView(input({ signedIn: false, now: AFTER, draw: drawn })).verify).toBe(true);
    expect(drawView(input({ signedIn: false, now: AFTER, room: { entries: 40, remaining: 10, winners: 10, drawn: true } })).verify).toBe(true);
    expect(drawView(input({ now: AFTER, entry: entry({ state: 'waitlisted', rank: 20 }) })).verify).toBe(true);
    expect(drawView(input({ now: AFTER, entry: entry() })).verify).toBe(false);
  });

  it('leaves a closed draw to the page banner, and a claim says so', () => {
    const closed = drawView(input({ draw: { ...drawn, closed_reason: 'sold_out' }, now: AFTER, entry: entry({ state: 'waitlisted', rank: 20 }) }));
    expect(closed).toMatchObject({ stage: 'closed', status: null, enter: 'hidden', withdraw: false, signIn: false, remaining: null, odds: null, verify: true });
    expect(drawView(input({ now: AFTER, entry: entry({ state: 'closed' }) })).stage).toBe('closed');
    expect(drawView(input({ draw: { ...drawn, closed_reason: 'sold_out' }, now: AFTER, entry: entry({ state: 'claimed', rank: 2 }) }))).toMatchObject({
      stage: 'claimed',
      status: 'You won the draw and claimed your coupon.',
    });
  });
});

describe('the odds', () => {
  it('are the coupons over the entries, said plainly', () => {
    expect(oddsSentence(1, 2)).toBe('1 coupon for 2 entries: each entry has a 50% chance.');
    expect(oddsSentence(3, 2)).toBe('3 coupons for 2 entries: every entry wins so far.');
    expect(oddsSentence(1, 1)).toBe('1 coupon for 1 entry: every entry wins so far.');
    expect(oddsSentence(5, 0)).toBeNull();
    expect(describeChance(1 / 3)).toBe('33%');
    expect(describeChance(0.004)).toBe('under 1%');
  });
});

describe('the waitlist place', () => {
  it('is the rank after the ranks that won', () => {
    expect(waitlistPlace(2, 1)).toBe(1);
    expect(waitlistPlace(13, 10)).toBe(3);
    expect(waitlistPlace(3, 10)).toBeNull();
    expect(waitlistPlace(null, 10)).toBeNull();
    expect(waitlistPlace(13, null)).toBeNull();
  });
});

describe('progress frames', () => {
  const closes = Date.parse(CLOSES);
  const frame = (waiting: number, remaining = 10) => ({ eventId: 1, serving: 0, waiting, remaining, admittedPerSecond: 0 });

  it('carry the entries while the window is open', () => {
    expect(roomAfterProgress(null, frame(41), OPEN, closes)).toEqual({ entries: 41, remaining: 10, winners: null, drawn: false });
  });

  it('leave the sealed count alone until the draw, then carry the waitlist', () => {
    const sealed = { entries: 40, remaining: 10, winners: 0, drawn: false };
    expect(roomAfterProgress(sealed, frame(40), SEALED, closes)).toEqual(sealed);
    expect(roomAfterProgress(null, frame(40), SEALED, closes)).toBeNull();
    const after = { ...sealed, drawn: true };
    expect(roomAfterProgress(after, frame(30, 9), AFTER, closes)).toEqual({ entries: 40, remaining: 9, winners: 10, drawn: true });
  });

  it('show the draw was made when the waitlist replaces the sealed count', () => {
    const sealed = { entries: 40, remaining: 10, winners: 0, drawn: false };
    expect(progressShowsDraw(sealed, frame(30), AFTER, closes)).toBe(true);
    expect(progressShowsDraw(sealed, frame(40), AFTER, closes)).toBe(false);
    expect(progressShowsDraw({ ...sealed, drawn: true }, frame(30), AFTER, closes)).toBe(false);
    // The last frames of the window may lag the sealed count by a moment.
    expect(progressShowsDraw(sealed, frame(39), closes + 500, closes)).toBe(false);
    expect(progressShowsDraw(null, frame(30), AFTER, closes)).toBe(false);
  });
});

describe('reading the draw for its result', () => {
  const drawAt = Date.parse(DRAW_AT);

  it('comes 2–20 s after the draw time, never sooner than a second from now', () => {
    expect(resultReadDelay(drawAt, SEALED, 0, 0)).toBe(drawAt - SEALED + 2_000);
    expect(resultReadDelay(drawAt, SEALED, 0, 1)).toBe(drawAt - SEALED + 20_000);
    expect(resultReadDelay(drawAt, AFTER, 0, 0.5)).toBe(1_000);
  });

  it('is made again, a few times at most, while the draw is not made', () => {
    for (let done = 1; done < RESULT_READS; done++) {
      const again = resultReadDelay(drawAt, AFTER, done, 0.5);
      expect(again).toBeGreaterThanOrEqual(3_000);
      expect(again).toBeLessThanOrEqual(6_000);
    }
    expect(resultReadDelay(drawAt, AFTER, RESULT_READS, 0.5)).toBeNull();
  });
});

describe('a refused entry', () => {
  it('is explained, or left to the page when the sale is over', () => {
    expect(entryRefusal('entries_not_open', draw, null)).toBe(`Entries are not open yet: they open at ${formatLocal(OPENS)}.`);
    expect(entryRefusal('entries_closed', draw, null)).toBe(`Entries closed at ${formatLocal(CLOSES)}.`);
    expect(entryRefusal('entries_full', draw, null)).toMatch(/full/);
    expect(entryRefusal('account_too_new', draw, null)).toMatch(/existed when entries opened/);
    expect(entryRefusal('rate_limited', draw, 2)).toBe('Too many tries — please wait 2 seconds and try again.');
    expect(entryRefusal('event_ended', draw, null)).toBeNull();
  });
});
