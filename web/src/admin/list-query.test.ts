import { describe, expect, it } from 'vitest';
import { listHash, pageRange, parseListQuery } from './list-query';

describe('admin list state in the hash', () => {
  it('round-trips status, search and page', () => {
    const state = { status: 'sold_out' as const, q: '50% off_day', page: 3 };
    const hash = listHash(state);
    expect(hash).toBe('#/?status=sold_out&q=50%25+off_day&page=3');
    expect(parseListQuery(hash.slice('#/?'.length))).toEqual(state);
  });

  it('leaves defaults out and falls back to them for anything unknown', () => {
    expect(listHash({ status: '', q: '', page: 1 })).toBe('#/');
    expect(parseListQuery('status=bogus&page=-2&q=%20%20')).toEqual({ status: '', q: '', page: 1 });
    expect(parseListQuery('page=1.5').page).toBe(1);
    expect(parseListQuery('page=92233720368547760').page).toBe(1);
    expect(parseListQuery(`q=${'x'.repeat(150)}`).q).toHaveLength(100);
  });

  it('describes the range a page shows', () => {
    expect(pageRange(1, 20, 20, 75)).toBe('1–20 of 75');
    expect(pageRange(4, 20, 15, 75)).toBe('61–75 of 75');
    expect(pageRange(1, 20, 0, 0)).toBe('0 of 0');
  });
});
