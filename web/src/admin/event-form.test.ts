import { describe, expect, it } from 'vitest';
import type { AdminEvent } from '../lib/api';
import { bodyFrom, changedFields, fieldApplies, formValues } from './event-form';

// TZ=Asia/Seoul (vite.config.ts): the form shows UTC+9.
const form = (over: Record<string, string> = {}): Record<string, string> => ({
  title: ' Spring ',
  description: ' as typed ',
  total_count: '100',
  max_per_user: '1',
  start_time: '2026-02-11T10:00',
  end_time: '2026-02-11T11:00',
  discount_type: 'percentage',
  discount_value: '10',
  min_purchase_amount: '',
  valid_days: '30',
  code_prefix: 'SPRING',
  admission: 'first_come',
  queue_opens_at: '2026-02-11T09:30',
  claim_window_secs: '120',
  queue_only_existing_accounts: 'true',
  entry_opens_at: '',
  entry_closes_at: '2026-02-11T09:50',
  draw_at: '2026-02-11T10:05:30',
  draw_beacon_round: ' drand quicknet round 12345678 ',
  draw_beacon: '',
  ...over,
});

describe('the event form body', () => {
  it('sends a first-come event without the queue settings', () => {
    expect(bodyFrom(form())).toEqual({
      title: 'Spring',
      description: ' as typed ',
      total_count: 100,
      max_per_user: 1,
      start_time: '2026-02-11T01:00:00Z',
      end_time: '2026-02-11T02:00:00Z',
      discount_type: 'percentage',
      discount_value: 10,
      valid_days: 30,
      code_prefix: 'SPRING',
      admission: 'first_come',
    });
  });

  it('sends the queue settings with admission "queue", times in UTC', () => {
    expect(bodyFrom(form({ admission: 'queue' }))).toMatchObject({
      admission: 'queue',
      queue_opens_at: '2026-02-11T00:30:00Z',
      claim_window_secs: 120,
      queue_only_existing_accounts: true,
    });
  });

  it('leaves an empty queue opening and claim window to the server', () => {
    const body = bodyFrom(form({ admission: 'queue', queue_opens_at: '', claim_window_secs: '', queue_only_existing_accounts: 'false' }));
    expect(body).not.toHaveProperty('queue_opens_at');
    expect(body).not.toHaveProperty('claim_window_secs');
    expect(body.queue_only_existing_accounts).toBe(false);
  });
});

describe('the draw settings', () => {
  it('go only with admission "draw", times in UTC, the shared claim window and account rule with them', () => {
    const body = bodyFrom(form({ admission: 'draw' }));
    expect(body).toMatchObject({
      admission: 'draw',
      entry_closes_at: '2026-02-11T00:50:00Z',
      draw_at: '2026-02-11T01:05:30Z',
      draw_beacon_round: 'drand quicknet round 12345678',
      claim_window_secs: 120,
      queue_only_existing_accounts: true,
    });
    // Empty: the server's defaults, no beacon value yet; and nothing of the queue's own.
    expect(body).not.toHaveProperty('entry_opens_at');
    expect(body).not.toHaveProperty('draw_beacon');
    expect(body).not.toHaveProperty('queue_opens_at');
    for (const name of ['entry_closes_at', 'draw_at', 'draw_beacon_round']) {
      expect(bodyFrom(form({ admission: 'queue' }))).not.toHaveProperty(name);
      expect(bodyFrom(form())).not.toHaveProperty(name);
    }
  });

  it('are shown only for a draw, the claim window and account rule for a queue too', () => {
    expect(fieldApplies('draw_beacon', 'draw')).toBe(true);
    expect(fieldApplies('draw_beacon', 'queue')).toBe(false);
    expect(fieldApplies('claim_window_secs', 'draw')).toBe(true);
    expect(fieldApplies('claim_window_secs', 'first_come')).toBe(false);
    expect(fieldApplies('queue_opens_at', 'draw')).toBe(false);
    expect(fieldApplies('title', 'draw')).toBe(true);
  });

  const drawEvent = {
    title: 'Spring',
    admission: 'draw',
    queue: null,
    draw: {
      entry_opens_at: '2026-02-11T00:00:00Z',
      entry_closes_at: '2026-02-11T00:50:00Z',
      draw_at: '2026-02-11T01:05:30Z',
      claim_window_secs: 60,
      only_existing_accounts: true,
      seed_commitment: '00',
      beacon_round: 'drand quicknet round 12345678',
      beacon: null,
      entrants_digest: null,
      seed: null,
      closed_reason: null,
      entries: 0,
    },
  } as Partial<AdminEvent>;

  it('are read from the event’s draw, so entering the beacon sends only the beacon', () => {
    const values = formValues(drawEvent);
    expect(values).toMatchObject({
      entry_opens_at: '2026-02-11T09:00',
      entry_closes_at: '2026-02-11T09:50',
      draw_at: '2026-02-11T10:05:30',
      draw_beacon_round: 'drand quicknet round 12345678',
      draw_beacon: '',
      claim_window_secs: '60',
      queue_only_existing_accounts: 'true',
    });
    expect(changedFields(bodyFrom(values), bodyFrom(values))).toEqual({});
    expect(changedFields(bodyFrom(values), bodyFrom({ ...values, draw_beacon: ' 00ff ' }))).toEqual({ draw_beacon: '00ff' });
  });
});

describe('the event form values', () => {
  const ev = {
    title: 'Spring',
    start_time: '2026-02-11T01:00:00Z',
    admission: 'queue',
    queue: {
      opens_at: '2026-02-11T00:30:00Z',
      claim_window_secs: 90,
      only_existing_accounts: false,
      seed_commitment: '00',
      seed: null,
      closed_reason: null,
      joined: 0,
    },
  } as Partial<AdminEvent>;

  it('reads the queue settings from the event’s queue', () => {
    expect(formValues(ev)).toMatchObject({
      start_time: '2026-02-11T10:00',
      admission: 'queue',
      queue_opens_at: '2026-02-11T09:30',
      claim_window_secs: '90',
      queue_only_existing_accounts: 'false',
      description: '',
    });
    expect(formValues({ admission: 'first_come', queue: null }).claim_window_secs).toBe('');
  });

  it('round-trips, so an untouched form changes nothing', () => {
    const values = formValues(ev);
    expect(changedFields(bodyFrom(values), bodyFrom(values))).toEqual({});
    expect(changedFields(bodyFrom(values), bodyFrom({ ...values, claim_window_secs: '60' }))).toEqual({ claim_window_secs: 60 });
  });

  it('switching to first come sends only the admission', () => {
    const values = formValues(ev);
    expect(changedFields(bodyFrom(values), bodyFrom({ ...values, admission: 'first_come' }))).toEqual({ admission: 'first_come' });
  });
});
