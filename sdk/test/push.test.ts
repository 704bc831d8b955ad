import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PushClientOptions, type PushEventMap, PushClient, type PushStatus, type TokenReason } from '../src/push.js';
import { FakeSocket, issued, token, welcome } from './fake-socket.js';

const settle = () => vi.advanceTimersByTimeAsync(0);

interface Harness {
  push: PushClient;
  states: PushStatus[];
  reasons: TokenReason[];
  events: { [K in keyof PushEventMap]?: PushEventMap[K][] };
  setToken(t: string | null): void;
}

function harness(initial: string | null, opts: Partial<PushClientOptions> = {}): Harness {
  let current = initial;
  const reasons: TokenReason[] = [];
  const push = new PushClient({
    url: 'wss://example.test/ws',
    WebSocket: FakeSocket,
    getToken: (reason) => {
      reasons.push(reason);
      return current;
    },
    random: () => 1,
    ...opts,
  });
  const states: PushStatus[] = [];
  const events: Harness['events'] = {};
  push.on('state', (s) => states.push(s));
  for (const type of ['coupon.issued', 'queue.admitted', 'draw.won', 'event.stock', 'subscribed', 'resync', 'session.revoked', 'welcome', 'resumed', 'message'] as const) {
    push.on(type, ((v: unknown) => void ((events[type] ??= []) as unknown[]).push(v)) as never);
  }
  return { push, states, reasons, events, setToken: (t) => (current = t) };
}

/** Connect a signed-in client: the socket opened, `auth` sent, `welcome` answered. */
async function signedIn(h: Harness, userId = 7): Promise<FakeSocket> {
  h.push.connect();
  await settle();
  const ws = FakeSocket.last();
  ws.open();
  ws.receive(welcome(userId));
  return ws;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('states', () => {
  it('go disconnected → connecting → connected, and disconnected while a retry waits', async () => {
    const h = harness(token(7));
    expect(h.push.state).toBe('disconnected');
    h.push.connect();
    expect(h.push.state).toBe('connecting');
    await settle();
    const ws = FakeSocket.last();
    expect(ws.url).toBe('wss://example.test/ws');
    ws.open();
    expect(ws.sent).toEqual([{ type: 'auth', token: token(7) }]);
    expect(h.push.state).toBe('connecting');
    ws.receive(welcome(7));
    expect(h.push.current).toMatchObject({ state: 'connected', signedIn: true, userId: 7, reconnecting: false });

    ws.serverClose(1001, 'shutting down');
    expect(h.push.current).toMatchObject({ state: 'disconnected', reason: 'retrying', retryInMs: 500, closeCode: 1001 });
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(h.push.current).toMatchObject({ state: 'connecting', reconnecting: true });
    FakeSocket.last().open();
    FakeSocket.last().receive(welcome(7));
    expect(h.push.state).toBe('connected');
    expect(h.states.map((s) => s.state)).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
  });

  it('back off further on each failed attempt and start over once connected', async () => {
    const h = harness(token(7));
    h.push.connect();
    await settle();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      FakeSocket.last().serverClose(1006);
      delays.push(h.push.current.retryInMs ?? -1);
      await vi.advanceTimersByTimeAsync(h.push.current.retryInMs ?? 0);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000]);
    FakeSocket.last().open();
    FakeSocket.last().receive(welcome(7));
    FakeSocket.last().serverClose(1012);
    expect(h.push.current.retryInMs).toBe(500);
  });

  it('stay closed after close(): the socket is closed and nothing reconnects', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    h.push.close();
    expect(h.push.state).toBe('closed');
    expect(ws.closedByClient).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    h.push.connect();
    h.push.subscribe(3);
    await settle();
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('stay disconnected (idle) with neither a token nor a subscription, and a subscription opens the socket', async () => {
    const h = harness(null);
    h.push.connect();
    await settle();
    expect(h.push.current).toMatchObject({ state: 'disconnected', reason: 'idle' });
    expect(FakeSocket.all).toHaveLength(0);
    h.push.subscribe(5);
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    expect(ws.sent).toEqual([{ type: 'subscribe', event_id: 5 }]);
    expect(h.push.state).toBe('connecting');
    ws.receive({ type: 'subscribed', event_id: 5, remaining: 3, status: 'active' });
    expect(h.push.current).toMatchObject({ state: 'connected', signedIn: false, userId: null });
  });

  it('replace a socket that stops answering, and one that never says welcome', async () => {
    const h = harness(token(7), { pingIntervalMs: 1000, deadAfterMs: 3000, welcomeTimeoutMs: 2000 });
    const ws = await signedIn(h);
    await vi.advanceTimersByTimeAsync(2000);
    expect(ws.types().filter((t) => t === 'ping').length).toBeGreaterThanOrEqual(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(ws.closedByClient).toBe(1000);
    expect(h.push.current).toMatchObject({ state: 'disconnected', reason: 'retrying' });
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeSocket.last();
    expect(next).not.toBe(ws);
    next.open();
    await vi.advanceTimersByTimeAsync(2000);
    expect(next.closedByClient).toBe(1000);
  });

  it('back off to the cap after 4029 (too many connections)', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    ws.serverClose(4029);
    expect(h.push.current.retryInMs).toBe(20_000);
  });

  it('retry with backoff when getToken throws, asking again for the same reason', async () => {
    let fail = true;
    const reasons: TokenReason[] = [];
    const push = new PushClient({
      url: 'wss://x/ws',
      WebSocket: FakeSocket,
      random: () => 1,
      getToken: (r) => {
        reasons.push(r);
        if (fail) throw new Error('refresh got no answer');
        return token(7, 2);
      },
    });
    push.connect();
    await settle();
    expect(push.current).toMatchObject({ state: 'disconnected', reason: 'retrying', retryInMs: 500 });
    fail = false;
    await vi.advanceTimersByTimeAsync(500);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent[0]).toEqual({ type: 'auth', token: token(7, 2) });
    expect(reasons).toEqual(['connect', 'connect']);
  });
});

describe('personal messages', () => {
  it('are delivered once: duplicates by seq or by message id are dropped', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    ws.receive(issued('100-0', 'a', 1));
    ws.receive(issued('100-0', 'a', 1)); // the same frame again
    ws.receive(issued('100-0', 'b', 1)); // same seq
    ws.receive(issued('101-0', 'a', 1)); // same message id
    ws.receive(issued('102-0', 'c', 2));
    // Two produced at the same moment may arrive swapped: the older one is new.
    ws.receive(issued('101-5', 'd', 3));
    expect(h.events['coupon.issued']?.map((m) => m.id)).toEqual(['a', 'c', 'd']);
    expect(h.events.message?.map((m) => m.id)).toEqual(['a', 'c', 'd']);
    // The highest seq is kept for resume, not the last one to arrive.
    expect(h.push.lastSeq()).toBe('102-0');
  });

  it('compare seqs as numbers, not as text', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    ws.receive(issued('999-0', 'a'));
    ws.receive(issued('1000-0', 'b'));
    ws.receive(issued('1000-10', 'c'));
    ws.receive(issued('1000-9', 'd'));
    expect(h.push.lastSeq()).toBe('1000-10');
  });

  it('are taken apart when a frame packs several', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    ws.receive([issued('5-0', 'a', 1), issued('5-1', 'b', 2), issued('5-0', 'a', 1)]);
    expect(h.events['coupon.issued']?.map((m) => m.data.couponId)).toEqual([1, 2]);
  });

  it('carry every personal kind to its own listeners', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    ws.receive({ type: 'queue.admitted', seq: '1-0', id: 'q', timestamp: 't', data: { userId: 7, eventId: 1, position: 4, claimBy: 'x' } });
    ws.receive({ type: 'draw.won', seq: '2-0', id: 'w', timestamp: 't', data: { userId: 7, eventId: 1, rank: 2, claimBy: 'x' } });
    ws.receive({ type: 'draw.won', seq: '2-0', id: 'w', timestamp: 't', data: { userId: 7, eventId: 1, rank: 2, claimBy: 'x' } });
    ws.receive({ type: 'event.stock', id: 's', timestamp: 't', data: { eventId: 1, remaining: 3, total: 9 } });
    ws.receive({ type: 'event.stock', id: 's', timestamp: 't', data: { eventId: 1, remaining: 3, total: 9 } });
    expect(h.events['queue.admitted']).toHaveLength(1);
    expect(h.events['draw.won']).toHaveLength(1);
    // Event-wide snapshots are not deduplicated (a repeat is harmless).
    expect(h.events['event.stock']).toHaveLength(2);
    expect(h.events.message?.map((m) => m.type)).toEqual(['queue.admitted', 'draw.won', 'event.stock', 'event.stock']);
  });
});

describe('resume', () => {
  it('sends resume from the last seq as the first frame after welcome, then re-subscribes', async () => {
    const h = harness(token(7));
    h.push.subscribe(1);
    h.push.subscribe(2);
    const ws = await signedIn(h);
    // With subscriptions, they are the first frames (no ping needed).
    expect(ws.types()).toEqual(['auth', 'subscribe', 'subscribe']);
    // Nothing to resume from: whatever came before is only in "my coupons".
    expect(h.events.resync).toEqual([{ reason: 'no-seq', userId: 7 }]);
    ws.receive(issued('10-0', 'a', 1));
    ws.receive(issued('11-0', 'b', 2));
    ws.serverClose(1012);
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeSocket.last();
    next.open();
    next.receive(welcome(7));
    expect(next.sent).toEqual([
      { type: 'auth', token: token(7) },
      { type: 'resume', since: '11-0' },
      { type: 'subscribe', event_id: 1 },
      { type: 'subscribe', event_id: 2 },
    ]);
    // The replay, with a message the old socket already delivered: dropped.
    next.receive(issued('11-0', 'b', 2));
    next.receive(issued('12-0', 'c', 3));
    next.receive({ type: 'resumed', recovered: true, replayed: 2 });
    expect(h.events['coupon.issued']?.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(h.events.resync).toHaveLength(1);
    expect(h.push.lastSeq()).toBe('12-0');
  });

  it('asks for a resync when history no longer covers the seq, or the seq is refused', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    ws.receive(issued('10-0', 'a'));
    ws.serverClose(1001);
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeSocket.last();
    next.open();
    next.receive(welcome(7));
    next.receive({ type: 'resumed', recovered: false, replayed: 0 });
    next.receive({ type: 'error', code: 'invalid_since', message: 'no' });
    expect(h.events.resync?.map((r) => r.reason)).toEqual(['no-seq', 'not-recovered', 'invalid-since']);
    expect(h.push.lastSeq()).toBeNull();
  });

  it('asks again from the same seq when the history was unavailable', async () => {
    const store = new Map<number, string>([[7, '50-0']]);
    const h = harness(token(7), { seqStore: { get: (u) => store.get(u) ?? null, set: (u, s) => void (s ? store.set(u, s) : store.delete(u)) } });
    h.push.subscribe(4);
    const ws = await signedIn(h);
    expect(ws.sent.slice(1)).toEqual([{ type: 'resume', since: '50-0' }, { type: 'subscribe', event_id: 4 }]);
    ws.receive({ type: 'error', code: 'unavailable', message: 'later' });
    ws.receive(issued('51-0', 'live')); // live messages move the saved seq on meanwhile
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws.sent.slice(3)).toEqual([{ type: 'resume', since: '50-0' }, { type: 'subscribe', event_id: 4 }]);
    expect(store.get(7)).toBe('51-0');
  });

  it('keeps the last seq per user', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h, 7);
    ws.receive(issued('10-0', 'a', 1, 7));
    h.setToken(token(8));
    await h.push.tokenChanged(); // another user: a new socket
    expect(ws.closedByClient).toBe(1000);
    await settle();
    const second = FakeSocket.last();
    second.open();
    second.receive(welcome(8));
    expect(second.types()).toEqual(['auth', 'ping']);
    second.receive(issued('3-0', 'x', 9, 8));
    expect(h.push.lastSeq(7)).toBe('10-0');
    expect(h.push.lastSeq(8)).toBe('3-0');
    // A message id seen for user 7 is no duplicate for user 8's window.
    second.receive(issued('4-0', 'a', 10, 8));
    expect(h.events['coupon.issued']?.map((m) => m.id)).toEqual(['a', 'x', 'a']);
  });
});

describe('tokens', () => {
  it('extends the session with a fresh token before it expires, without a new socket', async () => {
    const h = harness(token(7, 1), { refreshBeforeExpiryMs: 60_000, deadAfterMs: 3_600_000 });
    h.push.connect();
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive(welcome(7, Math.floor(Date.now() / 1000) + 120));
    h.setToken(token(7, 2));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(h.reasons).toEqual(['connect']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.reasons).toEqual(['connect', 'expiring']);
    expect(ws.sent.filter((f) => f.type === 'auth').at(-1)).toEqual({ type: 'auth', token: token(7, 2) });
    ws.receive(welcome(7, Math.floor(Date.now() / 1000) + 900));
    // An extension is no new session: no resume, no re-subscribe.
    expect(ws.types().filter((t) => t === 'resume' || t === 'subscribe')).toEqual([]);
    expect(FakeSocket.all).toHaveLength(1);
    expect(h.events.welcome).toHaveLength(2);
  });

  it('sends the refreshed token when the app says it changed, once', async () => {
    const h = harness(token(7, 1));
    const ws = await signedIn(h);
    await h.push.tokenChanged(); // the same token: nothing to do
    expect(ws.types()).toEqual(['auth', 'ping']);
    h.setToken(token(7, 2));
    await h.push.tokenChanged();
    await h.push.tokenChanged();
    expect(ws.sent.filter((f) => f.type === 'auth')).toHaveLength(2);
  });

  it('asks for a fresh token after 4002 and never sends the expired one again', async () => {
    const h = harness(token(7, 1));
    const ws = await signedIn(h);
    ws.serverClose(4002, 'token expired');
    await vi.advanceTimersByTimeAsync(500);
    expect(h.reasons.at(-1)).toBe('expired');
    // The app could not refresh and gives the old token: not used.
    expect(FakeSocket.all).toHaveLength(1);
    expect(h.push.current).toMatchObject({ state: 'disconnected', reason: 'unauthorized' });
    h.setToken(token(7, 2));
    await h.push.tokenChanged();
    await settle();
    FakeSocket.last().open();
    expect(FakeSocket.last().sent[0]).toEqual({ type: 'auth', token: token(7, 2) });
  });

  it('after 4001 asks with reason rejected and watches anonymously when there is no other token', async () => {
    const h = harness(token(7, 1));
    h.push.subscribe(9);
    const ws = await signedIn(h);
    ws.serverClose(4001, 'auth failed');
    await vi.advanceTimersByTimeAsync(500);
    expect(h.reasons.at(-1)).toBe('rejected');
    const next = FakeSocket.last();
    next.open();
    expect(next.sent).toEqual([{ type: 'subscribe', event_id: 9 }]);
  });

  it('signs an anonymous watcher in on the same socket, keeping its subscriptions', async () => {
    const h = harness(null);
    h.push.subscribe(3);
    h.push.connect();
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: 'subscribed', event_id: 3, remaining: 5, status: 'active' });
    expect(h.push.current).toMatchObject({ state: 'connected', signedIn: false });
    h.setToken(token(7));
    await h.push.tokenChanged();
    expect(ws.sent).toEqual([
      { type: 'subscribe', event_id: 3 },
      { type: 'auth', token: token(7) },
    ]);
    ws.receive(welcome(7));
    expect(FakeSocket.all).toHaveLength(1);
    expect(h.push.current).toMatchObject({ state: 'connected', signedIn: true, userId: 7 });
    // First frame after welcome right away (no resume: nothing seen yet); no re-subscribe.
    expect(ws.types()).toEqual(['subscribe', 'auth', 'ping']);
    expect(h.events.resync).toEqual([{ reason: 'no-seq', userId: 7 }]);
    ws.receive(issued('1-0', 'a'));
    expect(h.events['coupon.issued']).toHaveLength(1);
  });

  it('an upgraded watcher resumes from the seq it knows for the user', async () => {
    const h = harness(token(7));
    const first = await signedIn(h);
    first.receive(issued('20-0', 'a'));
    h.setToken(null);
    h.push.subscribe(3);
    await h.push.tokenChanged(); // signed out: watch anonymously anew
    await settle();
    const watcher = FakeSocket.last();
    expect(watcher).not.toBe(first);
    watcher.open();
    watcher.receive({ type: 'subscribed', event_id: 3, remaining: 5, status: 'active' });
    expect(h.push.current).toMatchObject({ state: 'connected', signedIn: false });
    h.setToken(token(7, 5));
    await h.push.tokenChanged();
    watcher.receive(welcome(7));
    expect(watcher.types()).toEqual(['subscribe', 'auth', 'resume']);
    expect(watcher.sent.at(-1)).toEqual({ type: 'resume', since: '20-0' });
  });

  it('keeps a watcher anonymous when its auth is refused, and tries a fresher token once', async () => {
    const h = harness(null);
    h.push.subscribe(3);
    h.push.connect();
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: 'subscribed', event_id: 3, remaining: 5, status: 'active' });
    h.setToken(token(7, 1));
    await h.push.tokenChanged();
    h.setToken(token(7, 2));
    ws.receive({ type: 'error', code: 'token_expired', message: 'expired' });
    await settle();
    expect(h.reasons.at(-1)).toBe('expired');
    expect(ws.sent.filter((f) => f.type === 'auth')).toEqual([
      { type: 'auth', token: token(7, 1) },
      { type: 'auth', token: token(7, 2) },
    ]);
    expect(h.push.current).toMatchObject({ state: 'connected', signedIn: false });
  });

  it('reports a revoked session (4003), never reuses its token and goes on watching anonymously', async () => {
    const h = harness(token(7));
    h.push.subscribe(2);
    const ws = await signedIn(h);
    h.push.on('session.revoked', () => h.setToken(token(7))); // an app that forgot to sign out
    ws.serverClose(4003, 'session revoked');
    expect(h.events['session.revoked']).toEqual([{ userId: 7, code: 4003, reason: 'session revoked' }]);
    await settle();
    const next = FakeSocket.last();
    expect(next).not.toBe(ws);
    next.open();
    expect(next.sent).toEqual([{ type: 'subscribe', event_id: 2 }]);
  });

  it('does not mistake user_mismatch for a bad token', async () => {
    const h = harness('opaque-token-1');
    const ws = await signedIn(h);
    h.setToken('opaque-token-2'); // not a JWT: the client cannot tell the user
    await h.push.tokenChanged();
    ws.receive({ type: 'error', code: 'user_mismatch', message: 'another user' });
    ws.serverClose(4001);
    await vi.advanceTimersByTimeAsync(500);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent[0]).toEqual({ type: 'auth', token: 'opaque-token-2' });
  });
});

describe('subscriptions', () => {
  it('are sent at once while connected and restored after a reconnect, minus the dropped ones', async () => {
    const h = harness(token(7));
    const ws = await signedIn(h);
    h.push.subscribe(1);
    h.push.subscribe(2);
    h.push.subscribe(2);
    h.push.unsubscribe(1);
    expect(ws.sent.slice(2)).toEqual([
      { type: 'subscribe', event_id: 1 },
      { type: 'subscribe', event_id: 2 },
      { type: 'unsubscribe', event_id: 1 },
    ]);
    expect(h.push.subscriptions).toEqual([2]);
    ws.serverClose(4008, 'slow');
    await vi.advanceTimersByTimeAsync(500);
    FakeSocket.last().open();
    FakeSocket.last().receive(welcome(7));
    expect(FakeSocket.last().types()).toEqual(['auth', 'subscribe']);
  });

  it('are re-sent after an unavailable snapshot', async () => {
    const h = harness(null);
    h.push.subscribe(6);
    h.push.connect();
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: 'error', code: 'unavailable', message: 'try again' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws.sent).toEqual([
      { type: 'subscribe', event_id: 6 },
      { type: 'subscribe', event_id: 6 },
    ]);
  });
});
