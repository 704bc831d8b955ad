// The WebSocket push client (docs/websocket-protocol.md): authenticates with
// a first `auth` frame — or, for a visitor who is not signed in, watches the
// page's events anonymously (first frame `subscribe`) — resumes personal
// messages after a reconnect, re-sends every `subscribe` (each answer is the
// current snapshot), reconnects with exponential backoff and jitter, and
// extends the session with a fresh token before the old one expires. A
// session ended elsewhere (logout on another device, close 4003) signs this
// page out and keeps it watching anonymously.

import type { QueueClosedReason } from './api';
import type { Session } from './session';

export type ConnectionState = 'signed-out' | 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface CouponIssuedFrame {
  type: 'coupon.issued';
  seq: string;
  id: string;
  timestamp: string;
  data: { userId: number; couponId: number; eventId: number; couponCode: string; discountValue: number };
}

export interface StockData {
  eventId: number;
  remaining: number;
  total: number;
}

export interface SoldOutData {
  eventId: number;
  eventTitle: string;
}

export interface EventUpdatedData {
  eventId: number;
  status: 'scheduled' | 'active' | 'sold_out' | 'ended';
  remaining: number;
  total: number;
  startTime: string;
  endTime: string;
  title: string;
}

/** A queue event's waiting room moved (event channel, at most once a second). */
export interface QueueProgressData {
  eventId: number;
  serving: number;
  waiting: number;
  remaining: number;
  admittedPerSecond: number;
}

/**
 * A queue event's waiting room, or a draw, closed for good (event channel,
 * once); `exhausted`: a draw whose ranked list ran out with coupons left.
 */
export interface QueueClosedData {
  eventId: number;
  reason: QueueClosedReason;
}

/** It is this user's turn: a unit is held until `claimBy` (personal, resumable). */
export interface QueueAdmittedFrame {
  type: 'queue.admitted';
  seq: string;
  id: string;
  timestamp: string;
  data: { userId: number; eventId: number; position: number; claimBy: string };
}

/**
 * This user won a draw (at the draw, or later by backfill when a winner did
 * not claim): a unit is held until `claimBy` (personal, resumable).
 */
export interface DrawWonFrame {
  type: 'draw.won';
  seq: string;
  id: string;
  timestamp: string;
  data: { userId: number; eventId: number; rank: number; claimBy: string };
}

/**
 * This user's entry was not drawn once the draw gave out every unit; a later
 * backfill may still send `draw.won` (personal, resumable).
 */
export interface DrawLostFrame {
  type: 'draw.lost';
  seq: string;
  id: string;
  timestamp: string;
  data: { userId: number; eventId: number; rank: number };
}

export interface SubscribedFrame {
  type: 'subscribed';
  event_id: number;
  remaining: number;
  status: 'scheduled' | 'active' | 'sold_out' | 'ended';
}

export interface PushHandlers {
  state?(state: ConnectionState, detail: string): void;
  issued?(frame: CouponIssuedFrame): void;
  stock?(data: StockData): void;
  soldOut?(data: SoldOutData): void;
  /** An admin changed the event (stock, window, title) or closed it. */
  updated?(data: EventUpdatedData): void;
  subscribed?(frame: SubscribedFrame): void;
  queueProgress?(data: QueueProgressData): void;
  queueClosed?(data: QueueClosedData): void;
  queueAdmitted?(frame: QueueAdmittedFrame): void;
  drawWon?(frame: DrawWonFrame): void;
  drawLost?(frame: DrawLostFrame): void;
  /**
   * Personal messages may have been missed (a reconnect with nothing to
   * resume from, or history no longer covering it): refetch "my coupons".
   */
  resync?(): void;
}

/** Reconnect delay: 0.5 s doubling to 30 s, with full jitter in [d/2, d]. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const d = Math.min(30_000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(d / 2 + random() * (d / 2));
}

/** Close codes after which reconnecting without a new token is pointless. */
const AUTH_CLOSE = 4001;
const TOKEN_EXPIRED_CLOSE = 4002;
/** This session was ended (logout elsewhere, a reused refresh token). */
const SESSION_REVOKED_CLOSE = 4003;
const TOO_MANY_CONNECTIONS_CLOSE = 4029;

/** How often we ping, and how long without any frame before the socket is presumed dead. */
const PING_EVERY_MS = 15_000;
const DEAD_AFTER_MS = 40_000;
const AUTH_WAIT_MS = 10_000;

export interface PushOptions {
  url?: string;
  /** Where the last personal `seq` is kept across reloads (per user). */
  seqStore?: Pick<Storage, 'getItem' | 'setItem'> | null;
}

export class PushClient {
  private ws: WebSocket | null = null;
  private watched = new Set<number>();
  private seen = new Set<string>();
  private attempt = 0;
  private everConnected = false;
  /** The socket may carry `subscribe`s: welcomed, or opened anonymously. */
  private authed = false;
  /** The current socket is an anonymous watcher (no personal messages). */
  private anonymous = false;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private extendTimer: ReturnType<typeof setTimeout> | undefined;
  /** The `since` of a `resume` not answered yet: asked again if the history was unavailable. */
  private pendingResume: string | null = null;
  private lastFrameAt = 0;
  private currentState: ConnectionState = 'signed-out';
  private readonly url: string;
  private readonly seqStore: PushOptions['seqStore'];

  constructor(
    private readonly session: Session,
    private readonly handlers: PushHandlers,
    opts: PushOptions = {},
  ) {
    this.url = opts.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.seqStore = opts.seqStore === undefined ? safeSessionStorage() : opts.seqStore;
    session.onChange((why) => {
      if (why === 'signed-out') {
        // Keep watching the page's events, anonymously.
        this.everConnected = false;
        this.reconnectNow();
      } else if (why === 'signed-in') {
        this.everConnected = false;
        this.reconnectNow();
      } else if (why === 'refreshed') {
        // Extend the live session with the fresh token (same user).
        if (this.ws && this.authed) this.send({ type: 'auth', token: session.accessToken });
        else if (!this.ws && !this.stopped) this.reconnectNow();
      }
    });
    window.addEventListener('online', () => {
      if (!this.stopped) this.reconnectNow();
    });
    window.addEventListener('offline', () => {
      if (this.stopped || !this.wanted()) return;
      // The socket is as good as dead; say so now rather than after the timeout.
      this.dropSocket();
      this.setState('offline', 'No network — will reconnect when it is back');
    });
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  start(): void {
    this.stopped = false;
    this.reconnectNow();
  }

  stop(): void {
    this.stopped = true;
    this.disconnect('signed-out', 'Stopped');
  }

  /** Watch an event's stock and sell-out; kept across reconnects. */
  watch(eventId: number): void {
    this.watched.add(eventId);
    if (this.authed) this.send({ type: 'subscribe', event_id: eventId });
    // A visitor's first watch opens the socket.
    else if (!this.ws && !this.stopped && !this.session.signedIn && this.watched.size === 1) this.reconnectNow();
  }

  unwatch(eventId: number): void {
    if (this.watched.delete(eventId) && this.authed) this.send({ type: 'unsubscribe', event_id: eventId });
  }

  /** Signed in, or a visitor watching something: a socket is worth having. */
  private wanted(): boolean {
    return this.session.signedIn || this.watched.size > 0;
  }

  /** Drop the current socket and reconnect (used by tests and after errors). */
  reconnectNow(): void {
    clearTimeout(this.retryTimer);
    this.dropSocket();
    if (this.stopped) return;
    if (!this.wanted()) {
      this.setState('signed-out', 'Sign in for live updates');
      return;
    }
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this.setState('offline', 'No network — will reconnect when it is back');
      return;
    }
    this.connect();
  }

  private connect(): void {
    this.setState(this.everConnected ? 'reconnecting' : 'connecting', 'Connecting…');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect('Cannot open a connection');
      return;
    }
    this.ws = ws;
    this.authed = false;
    this.anonymous = !this.session.signedIn;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      if (this.anonymous) {
        // A visitor: the first `subscribe` makes this a public watcher; the
        // first snapshot (`subscribed`) says it is live.
        this.authed = true;
        for (const id of this.watched) this.send({ type: 'subscribe', event_id: id });
      } else {
        this.send({ type: 'auth', token: this.session.accessToken });
      }
      this.authTimer = setTimeout(() => {
        if (this.ws === ws && !this.authed) this.reconnectAfterFailure('No welcome from the server');
      }, AUTH_WAIT_MS);
    };
    ws.onmessage = (e: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      if (typeof e.data !== 'string') return;
      let frame: { type?: string; [k: string]: unknown };
      try {
        frame = JSON.parse(e.data) as typeof frame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.authed = false;
      this.clearTimers();
      void this.onClose(e.code, e.reason);
    };
    // onerror is always followed by onclose.
  }

  private onFrame(frame: { type?: string; [k: string]: unknown }): void {
    switch (frame.type) {
      case 'welcome': {
        clearTimeout(this.authTimer);
        const wasAuthed = this.authed;
        this.authed = true;
        this.scheduleExtension(Number(frame.expires_at));
        if (wasAuthed) return; // a token extension answered
        this.everConnected = true;
        this.attempt = 0;
        const since = this.lastSeq();
        // `resume` first: personal messages are held back until our first frame.
        this.pendingResume = since || null;
        if (since) this.send({ type: 'resume', since });
        for (const id of this.watched) this.send({ type: 'subscribe', event_id: id });
        if (!since && this.watched.size === 0) this.send({ type: 'ping' });
        // Nothing to resume from: whatever happened before this socket is
        // only in "my coupons".
        if (!since) this.handlers.resync?.();
        this.startPinging();
        this.setState('live', 'Live');
        break;
      }
      case 'coupon.issued': {
        const f = frame as unknown as CouponIssuedFrame;
        if (this.firstTime(f)) this.handlers.issued?.(f);
        break;
      }
      case 'queue.admitted': {
        const f = frame as unknown as QueueAdmittedFrame;
        if (this.firstTime(f)) this.handlers.queueAdmitted?.(f);
        break;
      }
      case 'draw.won': {
        const f = frame as unknown as DrawWonFrame;
        if (this.firstTime(f)) this.handlers.drawWon?.(f);
        break;
      }
      case 'draw.lost': {
        const f = frame as unknown as DrawLostFrame;
        if (this.firstTime(f)) this.handlers.drawLost?.(f);
        break;
      }
      case 'queue.progress':
        this.handlers.queueProgress?.((frame as unknown as { data: QueueProgressData }).data);
        break;
      case 'queue.closed':
        this.handlers.queueClosed?.((frame as unknown as { data: QueueClosedData }).data);
        break;
      case 'event.stock':
        this.handlers.stock?.((frame as unknown as { data: StockData }).data);
        break;
      case 'coupon.soldout':
        this.handlers.soldOut?.((frame as unknown as { data: SoldOutData }).data);
        break;
      case 'event.updated':
        this.handlers.updated?.((frame as unknown as { data: EventUpdatedData }).data);
        break;
      case 'subscribed':
        if (this.anonymous && this.currentState !== 'live') {
          clearTimeout(this.authTimer);
          this.everConnected = true;
          this.attempt = 0;
          this.startPinging();
          this.setState('live', 'Live');
        }
        this.handlers.subscribed?.(frame as unknown as SubscribedFrame);
        break;
      case 'resumed':
        this.pendingResume = null;
        if (frame.recovered === false) this.handlers.resync?.();
        break;
      case 'error':
        if (frame.code === 'unavailable') {
          // A snapshot or the history could not be read (a Redis failover);
          // ask again shortly. A resume is asked again from the same point:
          // live messages flow meanwhile and move the saved seq past what
          // the failed resume was to bring back.
          const ws = this.ws;
          const since = this.pendingResume;
          setTimeout(() => {
            if (!this.authed || this.ws !== ws) return;
            if (since && this.pendingResume === since) this.send({ type: 'resume', since });
            for (const id of this.watched) this.send({ type: 'subscribe', event_id: id });
          }, 1000);
        } else if (frame.code === 'invalid_since') {
          this.saveSeq('');
          this.handlers.resync?.();
        }
        break;
      default:
        break; // pong, unsubscribed, anything newer
    }
  }

  /**
   * A personal message: its seq is kept for `resume`; false when this page
   * already had it (another socket of this tab's past, a redelivery).
   */
  private firstTime(f: { seq?: string; id?: string }): boolean {
    if (f.seq) this.saveSeq(f.seq);
    if (!f.id) return true;
    if (this.seen.has(f.id)) return false;
    this.seen.add(f.id);
    if (this.seen.size > 500) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }

  private async onClose(code: number, reason: string): Promise<void> {
    if (this.stopped || !this.wanted()) {
      this.setState('signed-out', 'Sign in for live updates');
      return;
    }
    if (code === SESSION_REVOKED_CLOSE && this.session.signedIn) {
      // Logged out on another device (or the session was ended): this
      // page's tokens are dead. Forget them here only (the other tabs of
      // this browser get their own close); the page goes on anonymously.
      this.setState('signed-out', 'Your session was ended — sign in again');
      this.session.clear(false);
      return;
    }
    if (this.anonymous) {
      this.scheduleReconnect(reason ? `Connection lost (${reason})` : 'Connection lost');
      return;
    }
    if (code === TOKEN_EXPIRED_CLOSE || code === AUTH_CLOSE) {
      // Get a valid token first; never retry blindly with the same one.
      let ok = false;
      try {
        ok = await this.session.refresh();
      } catch {
        ok = true; // network trouble: the token may still be fine, back off and retry
      }
      if (!ok) {
        this.setState('signed-out', 'Signed out — please sign in again');
        return;
      }
      // The refresh itself ("refreshed") may already have reconnected us.
      if (this.ws || this.stopped) return;
      this.scheduleReconnect('Reconnecting with a fresh token…');
      return;
    }
    if (code === TOO_MANY_CONNECTIONS_CLOSE) {
      this.attempt = Math.max(this.attempt, 6); // ~30 s
      this.scheduleReconnect('Too many open tabs for this account');
      return;
    }
    this.scheduleReconnect(reason ? `Connection lost (${reason})` : 'Connection lost');
  }

  private reconnectAfterFailure(why: string): void {
    this.dropSocket();
    this.scheduleReconnect(why);
  }

  private scheduleReconnect(why: string): void {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this.setState('offline', 'No network — will reconnect when it is back');
      return;
    }
    const delay = backoffMs(this.attempt++);
    this.setState(this.everConnected ? 'reconnecting' : 'connecting', `${why}; retrying in ${Math.ceil(delay / 1000)} s`);
    this.retryTimer = setTimeout(() => this.reconnectNow(), delay);
  }

  /** Ask for a fresh token a minute before this one expires, then send it as `auth`. */
  private scheduleExtension(expiresAt: number): void {
    clearTimeout(this.extendTimer);
    if (!Number.isFinite(expiresAt) || expiresAt <= 0) return;
    const due = expiresAt * 1000 - Date.now() - 60_000;
    this.extendTimer = setTimeout(
      () => {
        void this.session.refresh().catch(() => undefined);
      },
      Math.max(5_000, due),
    );
  }

  private startPinging(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > DEAD_AFTER_MS) {
        this.reconnectAfterFailure('No answer from the server');
        return;
      }
      this.send({ type: 'ping' });
    }, PING_EVERY_MS);
  }

  private send(frame: object): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private dropSocket(): void {
    const ws = this.ws;
    this.ws = null;
    this.authed = false;
    this.clearTimers();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }

  private disconnect(state: ConnectionState, detail: string): void {
    clearTimeout(this.retryTimer);
    this.dropSocket();
    this.setState(state, detail);
  }

  private clearTimers(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.authTimer);
    clearTimeout(this.extendTimer);
  }

  private seqKey(): string {
    return `push.seq.${this.session.userId ?? 'anon'}`;
  }

  private lastSeq(): string {
    return this.seqStore?.getItem(this.seqKey()) ?? '';
  }

  private saveSeq(seq: string): void {
    try {
      this.seqStore?.setItem(this.seqKey(), seq);
    } catch {
      // storage full or disabled
    }
  }

  private setState(state: ConnectionState, detail: string): void {
    this.currentState = state;
    this.handlers.state?.(state, detail);
  }
}

function safeSessionStorage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}
