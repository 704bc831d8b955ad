// A WebSocket stand-in the tests drive from the server's side.

import type { ClientFrame, ServerFrame } from '../src/push.js';

export class FakeSocket {
  static all: FakeSocket[] = [];
  static last(): FakeSocket {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error('no socket was opened');
    return s;
  }
  static reset(): void {
    FakeSocket.all = [];
  }

  readyState = 0;
  sent: ClientFrame[] = [];
  closedByClient: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(code = 1000): void {
    this.closedByClient = code;
    this.readyState = 3;
  }

  // --- the server's side ---

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: ServerFrame | ServerFrame[] | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  types(): string[] {
    return this.sent.map((f) => f.type);
  }
}

/** A JWT-shaped token for user `sub` (unsigned: the client only reads `sub`). */
export function token(sub: number, n = 0): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'EdDSA' })}.${b64({ sub: String(sub), n })}.sig`;
}

export const issued = (seq: string, id: string, couponId = 1, userId = 7) => ({
  type: 'coupon.issued' as const,
  seq,
  id,
  timestamp: '2026-02-11T10:30:00Z',
  data: { userId, couponId, eventId: 1, couponCode: `WELCOME-${couponId}`, discountValue: 10 },
});

export const welcome = (userId = 7, expiresAt = Math.floor(Date.now() / 1000) + 900) => ({
  type: 'welcome' as const,
  user_id: userId,
  heartbeat_ms: 25_000,
  expires_at: expiresAt,
});
