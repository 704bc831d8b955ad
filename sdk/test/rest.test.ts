import { describe, expect, it } from 'vitest';
import {
  ApiError,
  type AuditEntry,
  type AuditQuery,
  RestClient,
  type components,
  attachmentFilename,
  parseRetryAfter,
  type paths,
  queryString,
} from '../src/rest.js';

// Compile-time: the audit trail's narrower types (the actions, the two
// kinds of target, the snapshots as JSON objects) are still what the
// document declares; a renamed or dropped parameter or field fails tsc here.
type Assignable<A extends B, B> = [A, B];
export type _AuditTypesMatchTheDocument = [
  Assignable<AuditQuery, NonNullable<paths['/api/admin/audit']['get']['parameters']['query']>>,
  Assignable<keyof components['schemas']['AuditEntry'], keyof AuditEntry>,
  Assignable<keyof AuditEntry, keyof components['schemas']['AuditEntry']>,
];

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

function client(answers: Response[] | ((req: Sent) => Response), opts: ConstructorParameters<typeof RestClient>[0] = {}) {
  const sent: Sent[] = [];
  const rest = new RestClient({
    baseUrl: 'https://shop.test/',
    getToken: () => 'tok-1',
    ...opts,
    fetch: async (input, init) => {
      const req: Sent = {
        url: String(input),
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string>,
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
      };
      sent.push(req);
      const next = Array.isArray(answers) ? answers.shift() : answers(req);
      if (!next) throw new Error('no answer left');
      return next;
    },
  });
  return { rest, sent };
}

describe('the REST client', () => {
  it('sends typed calls to the base URL with the token and the query', async () => {
    const { rest, sent } = client([json(200, { items: [], page: 2, size: 20, total: 0 }), json(200, { items: [], page: 1, size: 50, total: 0 })]);
    await rest.events({ status: 'ended', page: 2, size: 20 });
    await rest.myCoupons({ page: 1, size: 50 });
    expect(sent[0]).toMatchObject({ url: 'https://shop.test/api/coupons/events?status=ended&page=2&size=20', method: 'GET' });
    expect(sent[0]?.headers.Authorization).toBeUndefined();
    expect(sent[1]).toMatchObject({ url: 'https://shop.test/api/coupons/my?page=1&size=50' });
    expect(sent[1]?.headers.Authorization).toBe('Bearer tok-1');
  });

  it('presses with an Idempotency-Key: a fresh one per press, or the one given to retry that press', async () => {
    const coupon = { coupon: { id: 1, code: 'W-1' }, remaining: 3 };
    const { rest, sent } = client(() => json(201, coupon));
    expect(await rest.issue(4)).toEqual(coupon);
    await rest.issue(4);
    await rest.issue(4, 'press-1');
    expect(sent.map((s) => s.body)).toEqual([{ event_id: 4 }, { event_id: 4 }, { event_id: 4 }]);
    const keys = sent.map((s) => s.headers['Idempotency-Key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).not.toBe(keys[0]);
    expect(keys[2]).toBe('press-1');
  });

  it('turns the error envelope into an ApiError with its code, fields and Retry-After', async () => {
    const { rest } = client([
      json(422, { error: { code: 'validation_failed', message: 'bad', fields: { code_prefix: 'A-Z only' } } }),
      json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '3' }),
      new Response('<html>', { status: 502 }),
    ]);
    const e1 = (await rest.createEvent({} as never).catch((e: unknown) => e)) as ApiError;
    expect(e1).toBeInstanceOf(ApiError);
    expect(e1).toMatchObject({ status: 422, code: 'validation_failed', message: 'bad', fields: { code_prefix: 'A-Z only' }, retryAfterSecs: null });
    const e2 = (await rest.issue(1).catch((e: unknown) => e)) as ApiError;
    expect(e2).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSecs: 3 });
    const e3 = (await rest.event(1).catch((e: unknown) => e)) as ApiError;
    expect(e3).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('reports no answer as status 0 and lets an abort through', async () => {
    const rest = new RestClient({
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const err = (await rest.events().catch((e: unknown) => e)) as ApiError;
    expect(err.isNetwork).toBe(true);
    expect(err.code).toBe('network_error');
    const aborting = new RestClient({
      fetch: async () => {
        throw new DOMException('aborted', 'AbortError');
      },
    });
    await expect(aborting.events()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a call that needs a token when there is none, without sending it', async () => {
    const { rest, sent } = client([], { getToken: () => null });
    await expect(rest.myCoupons()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(sent).toEqual([]);
  });

  it('refreshes once on a 401 and sends the call again with the new token', async () => {
    let tok = 'old';
    let asked = 0;
    const { rest, sent } = client([json(401, { error: { code: 'token_expired', message: 'expired' } }), json(204, undefined)], {
      getToken: () => tok,
      onUnauthorized: async (e) => {
        asked++;
        expect(e.code).toBe('token_expired');
        tok = 'new';
        return true;
      },
    });
    await rest.leaveQueue(3);
    expect(asked).toBe(1);
    expect(sent.map((s) => s.headers.Authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('gives up after one refresh, and when the refresh says no', async () => {
    const expired = () => json(401, { error: { code: 'invalid_token', message: 'no' } });
    const once = client([expired(), expired()], { onUnauthorized: () => true });
    await expect(once.rest.myEntry(1)).rejects.toMatchObject({ status: 401, code: 'invalid_token' });
    expect(once.sent).toHaveLength(2);
    const refused = client([expired()], { onUnauthorized: () => false });
    await expect(refused.rest.myEntry(1)).rejects.toMatchObject({ code: 'invalid_token' });
    // Public calls never trigger a refresh.
    const pub = client([expired()], { onUnauthorized: () => Promise.reject(new Error('not asked')) });
    await expect(pub.rest.event(1)).rejects.toMatchObject({ status: 401 });
  });

  it('reads the audit trail with its filters, as an admin', async () => {
    const entry = {
      id: 9,
      at: '2026-02-11T10:30:00Z',
      actor_id: 1,
      action: 'event.update',
      target_type: 'event',
      target_id: 5,
      before: { total_count: 1 },
      after: { total_count: 3 },
      request_id: 'req-1',
      trace_id: null,
    };
    const { rest, sent } = client([json(200, { items: [entry], page: 2, size: 10, total: 11 }), json(200, { items: [], page: 1, size: 20, total: 0 })]);
    const res = await rest.auditTrail({ action: 'event.update', target_type: 'event', target_id: 5, actor_id: undefined, page: 2, size: 10 });
    expect(res.items[0]?.after).toEqual({ total_count: 3 });
    await rest.auditTrail();
    expect(sent.map((s) => s.url)).toEqual([
      'https://shop.test/api/admin/audit?action=event.update&target_type=event&target_id=5&page=2&size=10',
      'https://shop.test/api/admin/audit',
    ]);
    expect(sent.every((s) => s.method === 'GET' && s.headers.Authorization === 'Bearer tok-1')).toBe(true);
  });

  it('shows every response to onResponse', async () => {
    const seen: string[] = [];
    const { rest } = client([json(200, { id: 1 }, { Date: 'Wed, 11 Feb 2026 10:30:00 GMT' })], {
      onResponse: (res) => seen.push(res.headers.get('Date') ?? ''),
    });
    await rest.event(1);
    expect(seen).toEqual(['Wed, 11 Feb 2026 10:30:00 GMT']);
  });
});

describe('helpers', () => {
  it('build query strings of the values that are set', () => {
    expect(queryString({ status: undefined, q: '', page: 2, size: 20 })).toBe('?page=2&size=20');
    expect(queryString({})).toBe('');
    expect(queryString({ q: '50% off_day' })).toBe('?q=50%25+off_day');
  });

  it('read Retry-After in seconds or as a date', () => {
    expect(parseRetryAfter('5')).toBe(5);
    expect(parseRetryAfter('0')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('Wed, 11 Feb 2026 10:30:10 GMT', Date.parse('2026-02-11T10:30:00Z'))).toBe(10);
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('the coupon export (CSV)', () => {
  const csv = (body: string, disposition: string | null = 'attachment; filename="event-7-coupons.csv"') =>
    new Response(body, { status: 200, headers: { 'Content-Type': 'text/csv; charset=utf-8', ...(disposition ? { 'Content-Disposition': disposition } : {}) } });

  it('downloads the CSV with the token as a File named by the server', async () => {
    const { rest, sent } = client([csv('code,user_id,issued_at,redeemed_at\nSPRING-1,3,2026-02-11T01:00:00Z,\n')]);
    const file = await rest.exportCoupons(7);
    expect(sent[0]).toMatchObject({ url: 'https://shop.test/api/admin/events/7/coupons.csv', method: 'GET' });
    expect(sent[0]?.headers.Authorization).toBe('Bearer tok-1');
    expect(file).toBeInstanceOf(Blob);
    expect(file.name).toBe('event-7-coupons.csv');
    expect(file.type).toMatch(/^text\/csv/);
    expect(await file.text()).toBe('code,user_id,issued_at,redeemed_at\nSPRING-1,3,2026-02-11T01:00:00Z,\n');
  });

  it('names the file itself when the server does not, and refreshes once on a 401', async () => {
    let refreshed = 0;
    const { rest, sent } = client([json(401, { error: { code: 'token_expired', message: 'expired' } }), csv('code,user_id,issued_at,redeemed_at\n', null)], {
      onUnauthorized: () => {
        refreshed += 1;
        return true;
      },
    });
    const file = await rest.exportCoupons(9);
    expect(refreshed).toBe(1);
    expect(sent).toHaveLength(2);
    expect(file.name).toBe('event-9-coupons.csv');
  });

  it('turns a refusal into an ApiError with its Retry-After', async () => {
    const { rest } = client([json(429, { error: { code: 'rate_limited', message: 'Too many exports' } }, { 'Retry-After': '12' })]);
    const err = await rest.exportCoupons(7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSecs: 12 });
    const missing = client([json(404, { error: { code: 'event_not_found', message: 'No such event' } })]);
    await expect(missing.rest.exportCoupons(8)).rejects.toMatchObject({ status: 404, code: 'event_not_found' });
  });

  it("reads Content-Disposition's file name", () => {
    expect(attachmentFilename('attachment; filename="event-7-coupons.csv"')).toBe('event-7-coupons.csv');
    expect(attachmentFilename('attachment; filename=plain.csv')).toBe('plain.csv');
    expect(attachmentFilename("attachment; filename=\"x.csv\"; filename*=UTF-8''caf%C3%A9.csv")).toBe('café.csv');
    expect(attachmentFilename('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(attachmentFilename('attachment')).toBeNull();
    expect(attachmentFilename(null)).toBeNull();
  });
});
