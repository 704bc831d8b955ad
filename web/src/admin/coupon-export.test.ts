import { describe, expect, it } from 'vitest';
import { Api, ApiError } from '../lib/api';
import { type KeyValueStore, Session } from '../lib/session';
import { exportFailure, fetchCouponExport } from './coupon-export';

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

describe('the coupon export', () => {
  it("fetches the CSV with the session's token as a file named by the server", async () => {
    const session = new Session('k', memory());
    const access = token();
    session.signIn({ access_token: access, refresh_token: 'r' }, 'admin@example.com');
    const sent: { url: string; auth: string | undefined }[] = [];
    const api = new Api(session, async (input, init) => {
      sent.push({ url: String(input), auth: (init?.headers as Record<string, string>).Authorization });
      return new Response('code,user_id,issued_at,redeemed_at\nSPRING-1,3,2026-02-11T01:00:00Z,\n', {
        status: 200,
        headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="event-7-coupons.csv"' },
      });
    });
    const file = await fetchCouponExport(api, 7);
    expect(sent).toEqual([{ url: '/api/admin/events/7/coupons.csv', auth: `Bearer ${access}` }]);
    expect(file.name).toBe('event-7-coupons.csv');
    expect((await file.text()).startsWith('code,user_id,issued_at,redeemed_at\n')).toBe(true);
  });

  it('says how long to wait when the server is busy exporting, and why it failed otherwise', () => {
    expect(exportFailure(new ApiError(429, 'rate_limited', 'Too many exports', {}, 12))).toBe(
      'Could not export: the server is already running its exports. Try again in 12 seconds.',
    );
    expect(exportFailure(new ApiError(429, 'rate_limited', 'x'))).toMatch(/Try again in a moment\.$/);
    expect(exportFailure(new ApiError(404, 'event_not_found', 'No such event'))).toBe('Could not export: this event no longer exists.');
    expect(exportFailure(new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection.'))).toBe(
      'Could not export: Cannot reach the server. Check your connection.',
    );
  });
});
