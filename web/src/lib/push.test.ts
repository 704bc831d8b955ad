import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConnectionState, PushClient, describeStatus } from './push';
import { type KeyValueStore, Session } from './session';

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { type: string; [k: string]: unknown }[] = [];
  closedByClient: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as { type: string });
  }
  close(code = 1000): void {
    this.closedByClient = code;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const memory = (): KeyValueStore & { map: Map<string, string> } => {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
};

const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
});
afterEach(() => vi.useRealTimers());

describe('the connection indicator', () => {
  it('names the SDK states the way the pages show them', () => {
    const base = { signedIn: false, userId: null, reconnecting: false, attempt: 0 };
    expect(describeStatus({ ...base, state: 'connected' })).toEqual(['live', 'Live']);
    expect(describeStatus({ ...base, state: 'connecting' })).toEqual(['connecting', 'Connecting…']);
    expect(describeStatus({ ...base, state: 'connecting', reconnecting: true })[0]).toBe('reconnecting');
    expect(describeStatus({ ...base, state: 'disconnected', reason: 'retrying', retryInMs: 1500, reconnecting: true, closeCode: 1006 })).toEqual([
      'reconnecting',
      'Connection lost; retrying in 2 s',
    ]);
    expect(describeStatus({ ...base, state: 'disconnected', reason: 'retrying', retryInMs: 20_000, closeCode: 4029 })[1]).toBe(
      'Too many open tabs for this account; retrying in 20 s',
    );
    expect(describeStatus({ ...base, state: 'disconnected', reason: 'offline' })[0]).toBe('offline');
    expect(describeStatus({ ...base, state: 'disconnected', reason: 'idle' })).toEqual(['signed-out', 'Sign in for live updates']);
    expect(describeStatus({ ...base, state: 'closed' })[0]).toBe('signed-out');
  });
});

describe('the pages’ push client', () => {
  it('watches as a visitor, signs in on the same socket, and keeps the seq per user in storage', async () => {
    const session = new Session('push-test-1', memory());
    const seqs = memory();
    const states: ConnectionState[] = [];
    const issued: string[] = [];
    let resyncs = 0;
    const push = new PushClient(
      session,
      { state: (s) => states.push(s), issued: (f) => issued.push(f.data.couponCode), resync: () => resyncs++ },
      { url: 'wss://shop.test/ws', seqStore: seqs, WebSocket: FakeSocket },
    );
    push.start();
    await settle();
    expect(push.state).toBe('signed-out');
    push.watch(4);
    await settle();
    const ws = FakeSocket.all[0];
    ws.open();
    expect(ws.sent).toEqual([{ type: 'subscribe', event_id: 4 }]);
    ws.receive({ type: 'subscribed', event_id: 4, remaining: 9, status: 'active' });
    expect(push.state).toBe('live');

    session.signIn({ access_token: jwt({ sub: '5', role: 'USER', exp: 4_000_000_000 }), refresh_token: 'r1' }, 'a@b.c');
    await settle();
    expect(ws.sent.at(-1)).toMatchObject({ type: 'auth' });
    ws.receive({ type: 'welcome', user_id: 5, heartbeat_ms: 25_000, expires_at: 4_000_000_000 });
    expect(FakeSocket.all).toHaveLength(1);
    expect(resyncs).toBe(1);
    ws.receive({ type: 'coupon.issued', seq: '7-0', id: 'm1', timestamp: 't', data: { userId: 5, couponId: 1, eventId: 4, couponCode: 'W-1', discountValue: 5 } });
    ws.receive({ type: 'coupon.issued', seq: '7-0', id: 'm1', timestamp: 't', data: { userId: 5, couponId: 1, eventId: 4, couponCode: 'W-1', discountValue: 5 } });
    expect(issued).toEqual(['W-1']);
    expect(seqs.map.get('push.seq.5')).toBe('7-0');
    expect(states.at(-1)).toBe('live');
    push.stop();
  });

  it('signs the page out when the server ends its session (4003) and goes on watching anonymously', async () => {
    const session = new Session('push-test-2', memory());
    session.signIn({ access_token: jwt({ sub: '6', role: 'USER', exp: 4_000_000_000 }), refresh_token: 'r2' }, 'x@y.z');
    const seen: [ConnectionState, string][] = [];
    const push = new PushClient(session, { state: (s, d) => seen.push([s, d]) }, { url: 'wss://shop.test/ws', seqStore: null, WebSocket: FakeSocket });
    push.watch(8);
    push.start();
    await settle();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.receive({ type: 'welcome', user_id: 6, heartbeat_ms: 25_000, expires_at: 4_000_000_000 });
    ws.serverClose(4003, 'session revoked');
    expect(session.signedIn).toBe(false);
    expect(seen).toContainEqual(['signed-out', 'Your session was ended — sign in again']);
    await settle();
    const next = FakeSocket.all.at(-1);
    expect(next).not.toBe(ws);
    next?.open();
    expect(next?.sent).toEqual([{ type: 'subscribe', event_id: 8 }]);
    push.stop();
  });
});
