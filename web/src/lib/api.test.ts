import { describe, expect, it } from 'vitest';
import { Api, queryString } from './api';
import { type KeyValueStore, Session } from './session';

const memory = (): KeyValueStore => {
  const map = new Map<string, string>();
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
};

const page = (items: unknown[], total: number) =>
  new Response(JSON.stringify({ items, page: 2, size: 20, total }), { status: 200, headers: { 'Content-Type': 'application/json' } });

describe('list queries', () => {
  it('send only the parameters that are set', () => {
    expect(queryString({ status: undefined, q: '', page: 2, size: 20 })).toBe('?page=2&size=20');
    expect(queryString({})).toBe('');
    expect(queryString({ q: '50% off_day' })).toBe('?q=50%25+off_day');
  });

  it('read the public list as a page', async () => {
    const urls: string[] = [];
    const api = new Api(new Session('k', memory()), async (input) => {
      urls.push(String(input));
      return page([{ id: 7 }], 41);
    });
    const res = await api.events({ status: 'ended', page: 2, size: 20 });
    expect(urls).toEqual(['/api/coupons/events?status=ended&page=2&size=20']);
    expect(res.items.map((e) => e.id)).toEqual([7]);
    expect(res.total).toBe(41);
    await api.events();
    expect(urls[1]).toBe('/api/coupons/events');
  });
});
