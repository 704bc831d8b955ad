import { describe, expect, it } from 'vitest';
import { formatLocal } from '../lib/time';
import {
  AUDIT_PAGE_SIZE,
  NO_AUDIT_FILTER,
  auditDiff,
  auditHash,
  auditQuery,
  changedSummary,
  formatAuditValue,
  parseAuditQuery,
  parseId,
  readAuditFilter,
  sameJson,
  targetTitle,
} from './audit';

describe('the audit trail query', () => {
  it('round-trips the filters and page through the hash, in the order the API takes them', () => {
    const state = { action: 'event.update' as const, target_type: 'event' as const, target_id: 12, actor_id: 3, page: 2 };
    const hash = auditHash(state);
    expect(hash).toBe('#/audit?action=event.update&target_type=event&target_id=12&actor_id=3&page=2');
    expect(parseAuditQuery(hash.slice('#/audit?'.length))).toEqual(state);
    expect(auditHash(NO_AUDIT_FILTER)).toBe('#/audit');
  });

  it('falls back to the default for anything unknown or out of range', () => {
    expect(parseAuditQuery('action=event.delete&target_type=coupon&target_id=0&actor_id=-4&page=10001')).toEqual(NO_AUDIT_FILTER);
    expect(parseAuditQuery('target_type=user&target_id=1.5&actor_id=x').target_id).toBeNull();
    expect(parseAuditQuery('page=1.5').page).toBe(1);
    expect(parseAuditQuery('target_type=event&target_id=92233720368547760').target_id).toBeNull();
  });

  it('drops a target id without its type or an action (event and account ids overlap)', () => {
    expect(parseAuditQuery('target_id=7').target_id).toBeNull();
    expect(parseAuditQuery('action=user.disable&target_id=7')).toMatchObject({ action: 'user.disable', target_id: 7 });
    expect(auditQuery({ ...NO_AUDIT_FILTER, target_id: 7 })).not.toHaveProperty('target_id');
  });

  it('asks the API for the filters that are set, ids from 1, page 1–10,000 and size at most 100', () => {
    expect(auditQuery(NO_AUDIT_FILTER)).toEqual({ page: 1, size: AUDIT_PAGE_SIZE });
    expect(auditQuery({ action: '', target_type: 'event', target_id: 5, actor_id: 1, page: 3 }, 10)).toEqual({
      target_type: 'event',
      target_id: 5,
      actor_id: 1,
      page: 3,
      size: 10,
    });
    const bad = { ...NO_AUDIT_FILTER, target_type: 'user' as const, target_id: 0, actor_id: -1, page: 0 };
    expect(auditQuery(bad)).toEqual({ target_type: 'user', page: 1, size: AUDIT_PAGE_SIZE });
    expect(auditQuery({ ...NO_AUDIT_FILTER, actor_id: 2.5, page: 20_000 })).toEqual({ page: 10_000, size: AUDIT_PAGE_SIZE });
    expect(auditQuery(NO_AUDIT_FILTER, 500).size).toBe(100);
    expect(auditQuery(NO_AUDIT_FILTER, 0).size).toBe(1);
  });

  it('reads ids as whole numbers from 1', () => {
    expect(parseId(' 42 ')).toBe(42);
    expect(parseId('1')).toBe(1);
    for (const bad of ['0', '-1', '1.0', '1e3', 'abc', '', null, undefined, '12345678901234567']) expect(parseId(bad)).toBeNull();
  });

  it('checks the filter form field by field', () => {
    const values = { action: '', target_type: 'event', target_id: '12', actor_id: '' };
    expect(readAuditFilter(values)).toEqual({ state: { ...NO_AUDIT_FILTER, target_type: 'event', target_id: 12 } });
    expect(readAuditFilter({ ...values, target_id: '0', actor_id: 'me' })).toEqual({
      errors: { target_id: 'Enter a whole number from 1.', actor_id: 'Enter a whole number from 1.' },
    });
    expect(readAuditFilter({ ...values, target_type: '' })).toEqual({
      errors: { target_id: 'Choose the target type too: event and account ids overlap.' },
    });
    expect(readAuditFilter({ ...values, target_type: '', action: 'event.close' })).toEqual({
      state: { ...NO_AUDIT_FILTER, action: 'event.close', target_id: 12 },
    });
  });
});

describe('what an audit entry changed', () => {
  const event = {
    id: 12,
    title: 'Spring sale',
    description: 'One coupon.',
    total_count: 1,
    end_time: '2026-02-11T02:00:00Z',
    closed_at: null,
    draw_at: null,
    updated_at: '2026-02-10T00:00:00Z',
    state_version: 1,
  };

  it('lists the changed top-level fields old → new, by name, bookkeeping last', () => {
    const after = {
      ...event,
      description: 'Three coupons.',
      total_count: 3,
      end_time: '2026-02-11T03:00:00Z',
      updated_at: '2026-02-10T00:05:00Z',
      state_version: 2,
    };
    expect(auditDiff(event, after)).toEqual({
      kind: 'changed',
      fields: [
        { field: 'description', before: 'One coupon.', after: 'Three coupons.' },
        { field: 'end_time', before: '2026-02-11T02:00:00Z', after: '2026-02-11T03:00:00Z' },
        { field: 'total_count', before: 1, after: 3 },
        { field: 'state_version', before: 1, after: 2 },
        { field: 'updated_at', before: '2026-02-10T00:00:00Z', after: '2026-02-10T00:05:00Z' },
      ],
    });
    expect(changedSummary({ before: event, after })).toBe('description, end_time, total_count');
    expect(changedSummary({ before: event, after }, 2)).toBe('description, end_time +1');
  });

  it('shows a creation as the values it was created with, leaving out the empty ones', () => {
    const created = auditDiff(null, event);
    expect(created.kind).toBe('created');
    expect(created.fields.map((f) => f.field)).toEqual(['description', 'end_time', 'id', 'title', 'total_count', 'state_version', 'updated_at']);
    expect(created.fields.find((f) => f.field === 'title')).toEqual({ field: 'title', after: 'Spring sale' });
    expect(auditDiff(undefined, { id: 1 }).kind).toBe('created');
    expect(changedSummary({ after: event })).toBe('created');
  });

  it('counts a field missing on one side as null, and compares nested values as JSON', () => {
    // An account disabled: {id, email, name, role, disabled_at}.
    const account = { id: 7, email: 'a@example.com', name: 'A', role: 'USER', disabled_at: null };
    expect(auditDiff(account, { ...account, disabled_at: '2026-02-11T10:00:00Z' }).fields).toEqual([
      { field: 'disabled_at', before: null, after: '2026-02-11T10:00:00Z' },
    ]);
    expect(auditDiff({ draw_at: 'x' }, { draw_at: 'x', beacon: null }).fields).toEqual([]);
    expect(auditDiff({ a: null }, {}).fields).toEqual([]);
    expect(auditDiff({ rounds: [{ at: 1, count: 2 }] }, { rounds: [{ count: 2, at: 1 }] }).fields).toEqual([]);
    expect(auditDiff({ rounds: [1, 2] }, { rounds: [1, 2, 3] }).fields).toEqual([{ field: 'rounds', before: [1, 2], after: [1, 2, 3] }]);
    expect(changedSummary({ before: { updated_at: 'a', state_version: 1 }, after: { updated_at: 'b', state_version: 2 } })).toBe('bookkeeping only');
    expect(changedSummary({ before: account, after: account })).toBe('nothing');
  });

  it('compares JSON values whatever the order of their keys', () => {
    expect(sameJson({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJson([1], { 0: 1 })).toBe(false);
    expect(sameJson(0, false)).toBe(false);
  });

  it('formats values for people: none, instants in the local zone, quoted text, JSON', () => {
    expect(formatAuditValue(null)).toBe('—');
    expect(formatAuditValue(undefined)).toBe('—');
    expect(formatAuditValue('2026-02-11T01:00:00Z')).toBe(formatLocal('2026-02-11T01:00:00Z'));
    expect(formatAuditValue('2026-02-11T01:00:00Z')).toMatch(/GMT\+9/);
    expect(formatAuditValue('')).toBe('“”');
    expect(formatAuditValue('first_come')).toBe('“first_come”');
    expect(formatAuditValue(100_000)).toBe('100000');
    expect(formatAuditValue(false)).toBe('false');
    expect(formatAuditValue({ b: [1, 2] })).toBe('{"b":[1,2]}');
    const long = formatAuditValue('x'.repeat(500));
    expect(long).toHaveLength(202);
    expect(long.endsWith('…”')).toBe(true);
  });

  it('names an event target by the title its snapshot carries', () => {
    expect(targetTitle({ before: { title: 'Old' }, after: { title: 'New' } })).toBe('New');
    expect(targetTitle({ before: { title: 'Old' }, after: null })).toBe('Old');
    expect(targetTitle({ before: null, after: { draw_at: 'x' } })).toBeNull();
  });
});
