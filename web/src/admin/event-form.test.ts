import { describe, expect, it } from 'vitest';
import type { AdminEvent } from '../lib/api';
import { bodyFrom, changedFields, formValues } from './event-form';

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
