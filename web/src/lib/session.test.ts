import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api, ApiError } from './api';
import { type KeyValueStore, Session, decodeClaims } from './session';

function jwt(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'EdDSA', typ: 'JWT' })}.${b64(claims)}.sig`;
}

class MemoryStore implements KeyValueStore {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });

describe('claims', () => {
  it('reads sub, role and exp of a JWT without verifying it', () => {
    expect(decodeClaims(jwt({ sub: '42', role: 'ADMIN', exp: 99 }))).toEqual({ sub: '42', role: 'ADMIN', exp: 99 });
    expect(decodeClaims(jwt({ sub: '7', role: 'USER', exp: 1 }))?.role).toBe('USER');
    expect(decodeClaims('garbage')).toBeNull();
  });
});

describe('session storage', () => {
  it('keeps the pair in the given store and forgets it on clear', () => {
    const store = new MemoryStore();
    const s = new Session('k', store);
    s.signIn({ access_token: jwt({ sub: '5', role: 'USER', exp: 10 }), refresh_token: 'r1' }, 'a@b.c');
    expect(new Session('k', store).userId).toBe(5);
    expect(new Session('k', store).email).toBe('a@b.c');
    s.clear();
    expect(new Session('k', store).signedIn).toBe(false);
  });
});

describe('refresh on 401', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('refreshes once, retries with the new token, and shares one refresh between callers', async () => {
    const store = new MemoryStore();
    const session = new Session('k', store);
    session.signIn({ access_token: jwt({ sub: '5', role: 'USER', exp: 10 }), refresh_token: 'r1' }, 'a@b.c');
    const fresh = jwt({ sub: '5', role: 'USER', exp: 20 });
    const refreshCalls: string[] = [];
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      refreshCalls.push(JSON.parse(String(init.body)).refresh_token);
      return json(200, { access_token: fresh, refresh_token: 'r2', token_type: 'Bearer', expires_in: 900 });
    });
    const seen: string[] = [];
    const api = new Api(session, async (_input, init) => {
      const auth = new Headers(init?.headers).get('Authorization') ?? '';
      seen.push(auth);
      return auth === `Bearer ${fresh}` ? json(200, { items: [], page: 1, size: 50, total: 0 }) : json(401, { error: { code: 'token_expired', message: 'expired' } });
    });
    const [a, b] = await Promise.all([api.myCoupons(), api.myCoupons()]);
    expect(a.total).toBe(0);
    expect(b.total).toBe(0);
    expect(refreshCalls).toEqual(['r1']);
    expect(session.currentRefreshToken).toBe('r2');
    expect(JSON.parse(store.getItem('k') ?? '{}').refresh).toBe('r2');
  });

  it('signs out when the refresh token is refused', async () => {
    const session = new Session('k', new MemoryStore());
    session.signIn({ access_token: jwt({ sub: '5', role: 'USER', exp: 10 }), refresh_token: 'r1' }, 'a@b.c');
    vi.stubGlobal('fetch', async () => json(401, { error: { code: 'invalid_token', message: 'no' } }));
    const api = new Api(session, async () => json(401, { error: { code: 'token_expired', message: 'expired' } }));
    await expect(api.myCoupons()).rejects.toMatchObject({ status: 401 });
    expect(session.signedIn).toBe(false);
  });

  it('keeps the session when the refresh itself cannot get through', async () => {
    const session = new Session('k', new MemoryStore());
    session.signIn({ access_token: jwt({ sub: '5', role: 'USER', exp: 10 }), refresh_token: 'r1' }, 'a@b.c');
    vi.stubGlobal('fetch', async () => json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '2' }));
    const api = new Api(session, async () => json(401, { error: { code: 'token_expired', message: 'expired' } }));
    await expect(api.myCoupons()).rejects.toMatchObject({ status: 401 });
    expect(session.signedIn).toBe(true);
    expect(session.currentRefreshToken).toBe('r1');
  });

  it('turns error envelopes into ApiError with fields and Retry-After', async () => {
    const api = new Api(new Session('k', new MemoryStore()), async () =>
      json(422, { error: { code: 'validation_failed', message: 'x', fields: { code_prefix: 'must be 1 to 12 characters A-Z or 0-9' } } }, { 'Retry-After': '3' }),
    );
    const err = await api.signup('a', 'b', 'c').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).fields.code_prefix).toMatch(/A-Z/);
    expect((err as ApiError).retryAfterSecs).toBe(3);
  });

  it('reports a network failure as status 0', async () => {
    const api = new Api(new Session('k', new MemoryStore()), async () => {
      throw new TypeError('Failed to fetch');
    });
    const err = (await api.events().catch((e: unknown) => e)) as ApiError;
    expect(err.isNetwork).toBe(true);
  });
});
