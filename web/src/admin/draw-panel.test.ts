import { describe, expect, it } from 'vitest';
import { type AdminDrawStats, ApiError } from '../lib/api';
import { formatLocal } from '../lib/time';
import { drawRefusal, drawState } from './draw-panel';

const stats = (over: Partial<AdminDrawStats> = {}): AdminDrawStats => ({
  entries: 2,
  waitlisted: 0,
  held: 0,
  claimed: 0,
  expired: 0,
  withdrawn: 0,
  winners: 0,
  drawn: false,
  drawn_at: null,
  sealed: false,
  closed_reason: null,
  beacon_round: null,
  beacon: null,
  draw_at: '2026-02-11T01:05:00Z',
  rounds: [],
  ...over,
});

describe("the admin's draw panel", () => {
  it('says what the draw waits for, or when it was made', () => {
    expect(drawState(stats())).toBe(`Entries are open; the draw is at ${formatLocal('2026-02-11T01:05:00Z')}.`);
    expect(drawState(stats({ sealed: true, beacon_round: 'drand quicknet round 7' }))).toBe('Entries are closed; the draw waits for the value of drand quicknet round 7.');
    expect(drawState(stats({ sealed: true, beacon_round: 'drand quicknet round 7', beacon: '00ff' }))).toMatch(/^Entries are closed; the draw is at /);
    expect(drawState(stats({ sealed: true, drawn: true, drawn_at: '2026-02-11T01:05:01Z' }))).toBe(`Drawn ${formatLocal('2026-02-11T01:05:01Z')}.`);
  });

  it('shows a refused "draw now" plainly, with its code', () => {
    expect(drawRefusal(new ApiError(409, 'entries_open', 'entries are open'))).toBe('Not drawn (entries_open): entries are still open; the draw can be made once they close.');
    expect(drawRefusal(new ApiError(409, 'beacon_missing', 'x'))).toMatch(/^Not drawn \(beacon_missing\): a beacon round was named/);
    expect(drawRefusal(new ApiError(409, 'something_new', 'the server says why'))).toBe('Not drawn (something_new): the server says why');
    expect(drawRefusal(new ApiError(500, 'internal', 'Internal error'))).toBe('Could not draw: Internal error');
  });
});
