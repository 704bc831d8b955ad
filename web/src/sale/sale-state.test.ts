import { describe, expect, it } from 'vitest';
import { type CtaInput, callToAction, finishedBanner, liveStatus, signInPrompt, stockView } from './sale-state';

const sale = { status: 'active' as const, start_time: '2026-02-11T01:00:00Z', end_time: '2026-02-11T02:00:00Z' };
const during = Date.parse('2026-02-11T01:30:00Z');

describe('the stock bar', () => {
  it('is empty when nothing is left, whatever the total', () => {
    expect(stockView(0, 3)).toEqual({ left: 0, fraction: 0, words: '0 of 3 left' });
    expect(stockView(-2, 3).fraction).toBe(0);
    expect(stockView(0, 0)).toEqual({ left: 0, fraction: 0, words: '0 of 0 left' });
  });

  it('fills as much as the text says', () => {
    expect(stockView(1, 4)).toEqual({ left: 1, fraction: 0.25, words: '1 of 4 left' });
    expect(stockView(3, 3).fraction).toBe(1);
  });

  it('never shows more than the total (a count newer than the total it is read against)', () => {
    expect(stockView(5, 4)).toEqual({ left: 4, fraction: 1, words: '4 of 4 left' });
  });
});

describe('the status', () => {
  it('follows the clock and the count', () => {
    expect(liveStatus(sale, 1, Date.parse('2026-02-11T00:59:59Z'))).toBe('scheduled');
    expect(liveStatus(sale, 1, during)).toBe('active');
    expect(liveStatus(sale, 0, during)).toBe('sold_out');
    expect(liveStatus(sale, 1, Date.parse('2026-02-11T02:00:00Z'))).toBe('ended');
    expect(liveStatus({ ...sale, status: 'ended' }, 1, during)).toBe('ended');
  });

  it("follows a queue event's room closing before any other news", () => {
    expect(liveStatus({ ...sale, queue: { closed_reason: 'sold_out' } }, 3, during)).toBe('sold_out');
    expect(liveStatus({ ...sale, queue: { closed_reason: 'ended' } }, 3, during)).toBe('ended');
    expect(liveStatus({ ...sale, queue: { closed_reason: 'closed' } }, 3, during)).toBe('ended');
    expect(liveStatus({ ...sale, queue: { closed_reason: null } }, 3, during)).toBe('active');
  });

  it('is said once, in a banner, only when the sale is over', () => {
    expect(finishedBanner('sold_out', null)?.testid).toBe('soldout-banner');
    expect(finishedBanner('ended', null)?.testid).toBe('ended-banner');
    expect(finishedBanner('active', null)).toBeNull();
    expect(finishedBanner('scheduled', 'queue')).toBeNull();
  });

  it("says a queue event's room is closed", () => {
    expect(finishedBanner('sold_out', 'queue')).toEqual({ testid: 'soldout-banner', rest: ' — the queue is closed.' });
    expect(finishedBanner('ended', 'queue')?.rest).toBe(' — the queue is closed.');
  });

  it("says a draw is closed, and a draw whose ranked list ran out is over", () => {
    expect(finishedBanner('sold_out', 'draw')).toEqual({ testid: 'soldout-banner', rest: ' — the draw is closed.' });
    expect(liveStatus({ ...sale, draw: { closed_reason: 'exhausted' } }, 2, during)).toBe('ended');
    expect(liveStatus({ ...sale, draw: { closed_reason: 'sold_out' } }, 2, during)).toBe('sold_out');
    expect(liveStatus({ ...sale, queue: null, draw: { closed_reason: null } }, 2, during)).toBe('active');
  });
});

describe('the call to action', () => {
  const base: CtaInput = {
    phase: 'active',
    signedIn: true,
    inFlight: false,
    held: 0,
    maxPerUser: 1,
    startsAt: 'at ten',
    opensIn: '01:00',
    retryInSecs: 0,
    pendingKey: false,
    queueTurn: null,
  };

  it('is gone once the sale is sold out or over, for visitors too', () => {
    for (const phase of ['sold_out', 'ended'] as const) {
      expect(callToAction({ ...base, phase }).hidden).toBe(true);
      const visitor = callToAction({ ...base, phase, signedIn: false });
      expect(visitor.hidden).toBe(true);
      expect(`${visitor.label} ${visitor.hint}`).not.toMatch(/sign in/i);
    }
  });

  it('keeps a press in flight visible when the sell-out lands meanwhile', () => {
    expect(callToAction({ ...base, phase: 'sold_out', inFlight: true })).toMatchObject({ hidden: false, label: 'Getting your coupon…', enabled: false });
  });

  it('asks visitors to sign in while the sale can be had', () => {
    expect(callToAction({ ...base, signedIn: false })).toMatchObject({ label: 'Sign in to get a coupon', enabled: false });
    expect(callToAction({ ...base, phase: 'scheduled', signedIn: false }).label).toBe('Opens in 01:00');
  });

  it('opens at the start, stops at the limit and while rate limited', () => {
    expect(callToAction({ ...base, phase: 'scheduled' })).toMatchObject({ label: 'Opens in 01:00', enabled: false, hint: 'The button opens at at ten.' });
    expect(callToAction(base)).toMatchObject({ label: 'Get coupon', enabled: true, hint: '' });
    expect(callToAction({ ...base, held: 1 })).toMatchObject({ label: 'You have your coupon', enabled: false });
    expect(callToAction({ ...base, held: 2, maxPerUser: 2 }).label).toBe('You have your 2 coupons');
    expect(callToAction({ ...base, retryInSecs: 3 })).toMatchObject({ label: 'Try again in 3 s', enabled: false });
    expect(callToAction({ ...base, pendingKey: true }).hint).toMatch(/safe/);
  });

  it("leaves a queue event to its waiting room until the user's turn", () => {
    expect(callToAction({ ...base, queueTurn: false }).hidden).toBe(true);
    expect(callToAction({ ...base, queueTurn: false, signedIn: false }).hidden).toBe(true);
    expect(callToAction({ ...base, queueTurn: true })).toMatchObject({ hidden: false, label: 'Get your coupon', enabled: true });
    // The hold lapsing while the press is on its way: the press stays visible.
    expect(callToAction({ ...base, queueTurn: false, inFlight: true }).label).toBe('Getting your coupon…');
    // Holding a coupon: a count of 0 does not take it away; the end does.
    expect(callToAction({ ...base, queueTurn: true, phase: 'sold_out' })).toMatchObject({ hidden: false, enabled: true });
    expect(callToAction({ ...base, queueTurn: true, phase: 'ended' }).hidden).toBe(true);
  });
});

describe('the sign-in prompt', () => {
  it('invites to take part only while the sale can be had', () => {
    expect(signInPrompt(false).title).toBe('Sign in to take part');
    const over = signInPrompt(true);
    expect(`${over.title} ${over.intro}`).not.toMatch(/take part|get a coupon/i);
  });
});
