// The push client over real sockets (the `ws` package, as in Node apps)
// against a small stand-in of notify-service that speaks the protocol's
// auth / subscribe / resume / ping and can cut a connection. The real
// service is exercised by test/stack.test.mjs.

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type CouponIssuedMessage, PushClient } from '../src/push.js';

interface Conn {
  socket: WebSocket;
  userId: number | null;
}

function fakeNotify() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  const conns: Conn[] = [];
  const history: CouponIssuedMessage[] = [];
  const frames: unknown[] = [];
  let n = 0;
  wss.on('connection', (socket) => {
    const conn: Conn = { socket, userId: null };
    conns.push(conn);
    socket.on('message', (raw) => {
      const f = JSON.parse(String(raw)) as { type: string; token?: string; event_id?: number; since?: string };
      frames.push(f);
      const send = (v: unknown) => socket.send(JSON.stringify(v));
      if (f.type === 'auth') {
        if (f.token?.startsWith('user-7')) {
          conn.userId = 7;
          send({ type: 'welcome', user_id: 7, heartbeat_ms: 25_000, expires_at: Math.floor(Date.now() / 1000) + 900 });
        } else {
          send({ type: 'error', code: 'invalid_token', message: 'bad token' });
          socket.close(4001, 'invalid token');
        }
      } else if (f.type === 'subscribe') {
        send({ type: 'subscribed', event_id: f.event_id, remaining: 5, status: 'active' });
      } else if (f.type === 'resume') {
        const missed = history.filter((m) => Number(m.seq.split('-')[0]) > Number(f.since?.split('-')[0]));
        for (const m of missed) send(m);
        send({ type: 'resumed', recovered: true, replayed: missed.length });
      } else if (f.type === 'ping') {
        send({ type: 'pong' });
      }
    });
  });
  const port = new Promise<number>((resolve) => wss.on('listening', () => resolve((wss.address() as { port: number }).port)));
  return {
    port,
    frames,
    conns,
    /** A coupon for user 7: kept in history, sent to every signed-in socket of the user. */
    issue(): CouponIssuedMessage {
      n++;
      const m: CouponIssuedMessage = {
        type: 'coupon.issued',
        seq: `${1000 + n}-0`,
        id: `m${n}`,
        timestamp: '2026-02-11T10:30:00Z',
        data: { userId: 7, couponId: n, eventId: 1, couponCode: `W-${n}`, discountValue: 10 },
      };
      history.push(m);
      for (const c of conns) if (c.userId === 7 && c.socket.readyState === WebSocket.OPEN) c.socket.send(JSON.stringify(m));
      return m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

async function until<T>(what: string, check: () => T | undefined | false, timeout = 3000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the push client over ws', () => {
  it('connects, reconnects after the server cuts it, resumes what it missed and re-subscribes', async () => {
    const server = fakeNotify();
    cleanups.push(server.close);
    const url = `ws://127.0.0.1:${await server.port}/ws`;
    // Back in exactly 200 ms: time to win a coupon while it is away.
    const push = new PushClient({ url, WebSocket, getToken: () => 'user-7', backoff: { baseMs: 200, capMs: 200 }, random: () => 1 });
    cleanups.push(() => push.close());
    const got: string[] = [];
    const closes: (number | undefined)[] = [];
    push.on('coupon.issued', (m) => got.push(m.data.couponCode));
    push.on('state', (s) => s.state === 'disconnected' && closes.push(s.closeCode));
    push.subscribe(1);
    push.connect();
    await until('connected', () => push.state === 'connected');
    server.issue();
    await until('the live coupon', () => got.length === 1);

    server.conns[0]?.socket.terminate();
    await until('the loss', () => closes.length === 1);
    server.issue(); // while it is away
    await until('the reconnect', () => server.conns.length === 2 && push.state === 'connected');
    await until('the missed coupon', () => got.length === 2);
    expect(got).toEqual(['W-1', 'W-2']);
    expect(server.conns[1]?.socket.readyState).toBe(WebSocket.OPEN);
    expect(closes[0]).toBe(1006);
    expect(server.frames.slice(-3)).toEqual([
      { type: 'auth', token: 'user-7' },
      { type: 'resume', since: '1001-0' },
      { type: 'subscribe', event_id: 1 },
    ]);
  });

  it('watches anonymously, signs in on the same socket, and asks again after a refused token (4001)', async () => {
    const server = fakeNotify();
    cleanups.push(server.close);
    const url = `ws://127.0.0.1:${await server.port}/ws`;
    let token: string | null = null;
    const push = new PushClient({ url, WebSocket, getToken: () => token, backoff: { baseMs: 20, capMs: 20 } });
    cleanups.push(() => push.close());
    push.subscribe(3);
    push.connect();
    await until('a watcher', () => push.state === 'connected');
    expect(push.current.signedIn).toBe(false);
    token = 'user-7-a';
    await push.tokenChanged();
    await until('signed in', () => push.current.signedIn);
    expect(server.conns).toHaveLength(1);

    // A refused token: the server closes 4001, the client asks again ("rejected").
    const reasons: string[] = [];
    const again = new PushClient({
      url,
      WebSocket,
      backoff: { baseMs: 20, capMs: 20 },
      getToken: (r) => {
        reasons.push(r);
        return reasons.length === 1 ? 'nonsense' : 'user-7-b';
      },
    });
    cleanups.push(() => again.close());
    again.connect();
    await until('signed in after the refusal', () => again.current.signedIn);
    expect(reasons.slice(0, 2)).toEqual(['connect', 'rejected']);
  });
});
