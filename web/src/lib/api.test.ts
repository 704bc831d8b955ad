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

const token = (): string => {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'EdDSA', typ: 'JWT' })}.${b64({ sub: '1', role: 'ADMIN', exp: 4_102_444_800 })}.sig`;
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

  it('read the audit trail with the admin token and only the filters set', async () => {
    const sent: [string, string | null][] = [];
    const session = new Session('k', memory());
    const api = new Api(session, async (input, init) => {
      sent.push([String(input), new Headers(init?.headers).get('Authorization')]);
      return page([{ id: 3, action: 'event.close' }], 21);
    });
    await expect(api.auditTrail({ target_type: 'event', target_id: 9, page: 2, size: 20 })).rejects.toMatchObject({ status: 401 });
    expect(sent).toEqual([]);
    session.signIn({ access_token: token(), refresh_token: 'r' }, 'admin@example.com');
    const res = await api.auditTrail({ target_type: 'event', target_id: 9, page: 2, size: 20 });
    expect(res.items[0]?.action).toBe('event.close');
    expect(sent).toEqual([['/api/admin/audit?target_type=event&target_id=9&page=2&size=20', `Bearer ${token()}`]]);
  });
});
