// The WebSocket push client (docs/websocket-protocol.md) as a reusable class
// with listeners. One socket carries everything:
//
// - signed in by a first `auth` frame with the token `getToken` gives, or —
//   with no token — an anonymous watcher of the subscribed events (first
//   frame `subscribe`), which signs in later on the same socket when a token
//   appears (`tokenChanged()`);
// - after every (re)connect it resumes the user's personal messages from the
//   last `seq` it saw (kept per user), drops duplicates by seq and message
//   id, and re-sends every `subscribe` (each answer is a fresh snapshot);
// - it reconnects with full-jitter exponential backoff, asks `getToken` again
//   on each connect and before the token expires (a fresh token extends the
//   session with an `auth` frame), and never re-sends a token the server
//   refused (4001/4002) or whose session ended (4003).
//
// States: disconnected → connecting → connected, and closed once `close()`
// was called. Works in browsers and in Node >= 20 (pass `WebSocket` from the
// `ws` package: Node 20 has no global WebSocket).

import { type BackoffOptions, attemptsToCap, backoffDelay } from './backoff.js';
import {
  type ClientFrame,
  CloseCode,
  type CouponIssuedMessage,
  type CouponSoldoutMessage,
  type DrawLostMessage,
  type DrawWonMessage,
  type ErrorFrame,
  type EventStockMessage,
  type EventUpdatedMessage,
  type PersonalMessage,
  type PushMessage,
  type QueueAdmittedMessage,
  type QueueClosedMessage,
  type QueueProgressMessage,
  type ResumedFrame,
  type ServerFrame,
  type SubscribedFrame,
  type UnsubscribedFrame,
  type WelcomeFrame,
  compareSeq,
  isPersonal,
} from './messages.js';

export * from './messages.js';
export { type BackoffOptions, backoffDelay } from './backoff.js';

export type PushState = 'disconnected' | 'connecting' | 'connected' | 'closed';

/**
 * Why the client is `disconnected`: `idle` (nothing to do: no token and
 * nothing subscribed, or not started), `retrying` (a reconnect is scheduled),
 * `offline` (the browser says the network is gone; it reconnects when it is
 * back), `unauthorized` (the server refused the token and `getToken` gave no
 * other; call `tokenChanged()` once there is one).
 */
export type DisconnectReason = 'idle' | 'retrying' | 'offline' | 'unauthorized';

export interface PushStatus {
  state: PushState;
  /** Set while `disconnected`. */
  reason?: DisconnectReason;
  /** The socket is signed in (false: an anonymous watcher, or no socket). */
  signedIn: boolean;
  userId: number | null;
  /** This client was connected before: a (re)connect, not the first. */
  reconnecting: boolean;
  /** Failed attempts since the last connection. */
  attempt: number;
  /** While `retrying`: the delay before the next attempt, ms. */
  retryInMs?: number;
  /** The close code and reason of the socket that just ended, if one did. */
  closeCode?: number;
  closeReason?: string;
}

/**
 * Why `getToken` is asked: `connect` (every connect and reconnect),
 * `changed` (the app called `tokenChanged()`), `expiring` (the session ends
 * soon: return a fresh token to extend it), `expired` (the server closed
 * with 4002 or refused an expired token), `rejected` (4001: the token was
 * refused). Return null for none (anonymous watcher); throw when the token
 * cannot be had right now (e.g. the refresh got no answer): the client
 * retries with backoff.
 */
export type TokenReason = 'connect' | 'changed' | 'expiring' | 'expired' | 'rejected';
export type TokenGetter = (reason: TokenReason) => string | null | undefined | Promise<string | null | undefined>;

/** Where the last `seq` per user is kept (default: in memory). */
export interface SeqStore {
  get(userId: number): string | null;
  set(userId: number, seq: string | null): void;
}

/** A `SeqStore` over Web Storage (e.g. sessionStorage), one key per user. */
export function storageSeqStore(
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>,
  prefix = 'push.seq.',
): SeqStore {
  return {
    get: (userId) => {
      try {
        return storage.getItem(prefix + userId) || null;
      } catch {
        return null;
      }
    },
    set: (userId, seq) => {
      try {
        if (seq) storage.setItem(prefix + userId, seq);
        else storage.removeItem(prefix + userId);
      } catch {
        // storage full or disabled: memory is lost on reload only
      }
    },
  };
}

function memorySeqStore(): SeqStore {
  const map = new Map<number, string>();
  return {
    get: (userId) => map.get(userId) ?? null,
    set: (userId, seq) => void (seq ? map.set(userId, seq) : map.delete(userId)),
  };
}

/** The part of a WebSocket this client uses: the browser's and `ws`'s both fit. */
export interface SocketLike {
  readonly readyState: number;
  // biome-ignore lint: the event types differ between implementations
  onopen: ((ev: any) => void) | null;
  // biome-ignore lint: the event types differ between implementations
  onmessage: ((ev: any) => void) | null;
  // biome-ignore lint: the event types differ between implementations
  onclose: ((ev: any) => void) | null;
  // biome-ignore lint: the event types differ between implementations
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => SocketLike;

export interface PushClientOptions {
  /** `wss://host/ws`; in a browser the default is this page's origin + `/ws`. */
  url?: string;
  /** The access token for each (re)connect and refresh; absent: always anonymous. */
  getToken?: TokenGetter;
  /** A WebSocket constructor; default: the global one (Node 20 has none: pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect delays (default 0.5 s doubling to 20 s, full jitter). */
  backoff?: BackoffOptions;
  /** Where the last seq per user is kept (default: memory, this client only). */
  seqStore?: SeqStore;
  /** How often the client pings (default 15 s). */
  pingIntervalMs?: number;
  /** No frame for this long: the socket is presumed dead and replaced (default 40 s). */
  deadAfterMs?: number;
  /** How long to wait for `welcome` (or, anonymous, the first `subscribed`) (default 10 s). */
  welcomeTimeoutMs?: number;
  /** Ask for a fresh token this long before the session expires (default 60 s). */
  refreshBeforeExpiryMs?: number;
  /** Follow the browser's online/offline events (default true where they exist). */
  watchNetwork?: boolean;
  /** Randomness of the jitter (tests). */
  random?: () => number;
}

/** Personal messages may have been missed: refetch what they would have said (e.g. "my coupons"). */
export interface ResyncInfo {
  /** `no-seq`: connected with nothing to resume from; `not-recovered`: history no longer covers it; `invalid-since`: the saved seq was refused. */
  reason: 'no-seq' | 'not-recovered' | 'invalid-since';
  userId: number | null;
}

/** The server ended this socket's session (logout elsewhere, a reused refresh token, a disabled account). */
export interface SessionRevokedInfo {
  userId: number | null;
  code: number;
  reason: string;
}

export interface PushEventMap {
  state: PushStatus;
  /** Every push message: personal ones once each, event-wide ones as they come. */
  message: PushMessage;
  'coupon.issued': CouponIssuedMessage;
  'coupon.soldout': CouponSoldoutMessage;
  'event.stock': EventStockMessage;
  'event.updated': EventUpdatedMessage;
  'queue.progress': QueueProgressMessage;
  'queue.closed': QueueClosedMessage;
  'queue.admitted': QueueAdmittedMessage;
  'draw.won': DrawWonMessage;
  'draw.lost': DrawLostMessage;
  subscribed: SubscribedFrame;
  unsubscribed: UnsubscribedFrame;
  welcome: WelcomeFrame;
  resumed: ResumedFrame;
  error: ErrorFrame;
  resync: ResyncInfo;
  'session.revoked': SessionRevokedInfo;
}

export type PushListener<K extends keyof PushEventMap> = (value: PushEventMap[K]) => void;

const OPEN = 1;
/** Recent seqs and message ids remembered per user to drop duplicates. */
const DEDUPE_WINDOW = 1024;

/** The `sub` claim of a JWT as a user id, read without verifying (null when it is not one). */
export function tokenUserId(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '='))) as { sub?: unknown };
    const id = Number(claims.sub);
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

export class PushClient {
  private readonly opts: PushClientOptions;
  private readonly url: string;
  private readonly seqStore: SeqStore;
  private readonly WebSocket: WebSocketConstructor | null;
  private readonly listeners = new Map<keyof PushEventMap, Set<(v: never) => void>>();
  private readonly watched = new Set<number>();

  private ws: SocketLike | null = null;
  /** Bumped whenever the current socket (or connect in progress) is given up. */
  private generation = 0;
  private started = false;
  private closedForGood = false;
  private status: PushStatus = { state: 'disconnected', reason: 'idle', signedIn: false, userId: null, reconnecting: false, attempt: 0 };
  private attempt = 0;
  private everConnected = false;

  /** The socket may carry `subscribe` frames (welcomed, or an anonymous watcher). */
  private ready = false;
  /** The socket is signed in (a `welcome` came). */
  private welcomed = false;
  /** The token the current session runs on, and one sent in an `auth` not answered yet. */
  private socketToken: string | null = null;
  private pendingAuth: string | null = null;
  /** Tokens the server refused or whose session ended: never sent again. */
  private readonly refused = new Set<string>();
  /** The server said `user_mismatch`: the close after it does not refuse the new token. */
  private userMismatch = false;
  private nextReason: TokenReason = 'connect';
  private userId: number | null = null;
  /** A `resume` not answered yet (asked again after `error unavailable`). */
  private pendingResume: string | null = null;
  private seenSeqs = new Set<string>();
  private seenIds = new Set<string>();
  private lastFrameAt = 0;

  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryFramesTimer: ReturnType<typeof setTimeout> | undefined;
  private unwatchNetwork: (() => void) | null = null;

  constructor(opts: PushClientOptions = {}) {
    this.opts = opts;
    this.url = opts.url ?? defaultUrl();
    this.seqStore = opts.seqStore ?? memorySeqStore();
    this.WebSocket = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? null;
    if (!this.WebSocket) throw new Error('no global WebSocket: pass the `WebSocket` option (in Node 20, `WebSocket` of the `ws` package)');
  }

  // --- public ------------------------------------------------------------------

  get state(): PushState {
    return this.status.state;
  }

  /** The state with its details (what the `state` listeners get). */
  get current(): PushStatus {
    return { ...this.status };
  }

  /** The events subscribed to (kept across reconnects). */
  get subscriptions(): number[] {
    return [...this.watched];
  }

  /** The last seq seen for a user (default: the signed-in one). */
  lastSeq(userId: number | null = this.userId): string | null {
    return userId === null ? null : this.seqStore.get(userId);
  }

  on<K extends keyof PushEventMap>(type: K, fn: PushListener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (v: never) => void);
    return () => this.off(type, fn);
  }

  off<K extends keyof PushEventMap>(type: K, fn: PushListener<K>): void {
    this.listeners.get(type)?.delete(fn as (v: never) => void);
  }

  /** Start: connect now when there is a token or something subscribed. */
  connect(): void {
    if (this.closedForGood || this.started) return;
    this.started = true;
    this.watchNetwork();
    this.reconnect();
  }

  /** Stop for good: the socket is closed, no reconnect, state `closed`. */
  close(): void {
    if (this.closedForGood) return;
    this.closedForGood = true;
    this.started = false;
    this.dropSocket();
    clearTimeout(this.retryTimer);
    this.unwatchNetwork?.();
    this.unwatchNetwork = null;
    this.setStatus({ state: 'closed' });
  }

  /** Drop the current socket (if any) and connect again now. */
  reconnect(): void {
    if (!this.started) return;
    clearTimeout(this.retryTimer);
    this.dropSocket();
    void this.open();
  }

  /** Watch an event (stock, sell-out, changes, its room); kept across reconnects. */
  subscribe(eventId: number): void {
    if (this.watched.has(eventId)) return;
    this.watched.add(eventId);
    if (this.ready) this.send({ type: 'subscribe', event_id: eventId });
    // A visitor's first subscription is what opens the socket.
    else if (this.started && !this.ws && this.status.state === 'disconnected' && this.status.reason !== 'retrying' && this.status.reason !== 'offline') {
      this.reconnect();
    }
  }

  unsubscribe(eventId: number): void {
    if (this.watched.delete(eventId) && this.ready) this.send({ type: 'unsubscribe', event_id: eventId });
  }

  /**
   * The app's token changed (signed in, refreshed, signed out): `getToken`
   * is asked now. A watcher signs in on its socket, a signed-in socket is
   * extended with the fresh token, a sign-out or another user reconnects.
   */
  async tokenChanged(): Promise<void> {
    if (!this.started) return;
    const gen = this.generation;
    let token: string | null;
    try {
      token = (await this.opts.getToken?.('changed')) ?? null;
    } catch {
      return; // the next connect asks again
    }
    if (gen !== this.generation || !this.started) return; // a new connect reads it itself
    if (token && this.refused.has(token)) token = null;
    const ws = this.ws;
    if (!ws) {
      // Waiting to retry, idle, refused, or still asking getToken for the
      // old token: start over with the new one.
      if (this.status.state === 'connecting' || (this.status.state === 'disconnected' && this.status.reason !== 'offline')) this.reconnect();
      return;
    }
    const signedInSocket = this.welcomed || this.pendingAuth !== null || this.socketToken !== null;
    if (!token) {
      if (signedInSocket) this.reconnect(); // a socket cannot sign out: watch anonymously anew
      return;
    }
    if (token === this.socketToken || token === this.pendingAuth) return;
    const other = tokenUserId(token);
    if (this.welcomed && other !== null && this.userId !== null && other !== this.userId) {
      this.reconnect(); // another user: a socket keeps its user
      return;
    }
    if (ws.readyState === OPEN && this.ready) this.sendAuth(token);
    else this.reconnect(); // still opening with the old token
  }

  // --- connecting --------------------------------------------------------------

  private async open(): Promise<void> {
    const gen = ++this.generation;
    if (this.isOffline()) {
      this.setStatus({ state: 'disconnected', reason: 'offline' });
      return;
    }
    this.setStatus({ state: 'connecting' });
    let token: string | null = null;
    const reason = this.nextReason;
    if (this.opts.getToken) {
      try {
        token = (await this.opts.getToken(reason)) ?? null;
      } catch {
        if (gen === this.generation) this.scheduleRetry();
        return;
      }
      if (gen !== this.generation) return; // given up meanwhile
    }
    this.nextReason = 'connect';
    if (token && this.refused.has(token)) token = null;
    if (!token && this.watched.size === 0) {
      this.setStatus({ state: 'disconnected', reason: reason === 'connect' || reason === 'changed' ? 'idle' : 'unauthorized' });
      return;
    }
    let ws: SocketLike;
    try {
      ws = new (this.WebSocket as WebSocketConstructor)(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.ready = false;
    this.welcomed = false;
    this.socketToken = null;
    this.pendingAuth = null;
    this.userMismatch = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      if (token) {
        this.sendAuth(token);
      } else {
        // An anonymous watcher: its first `subscribe` makes it one, the
        // first `subscribed` says it is live.
        this.ready = true;
        for (const id of this.watched) this.send({ type: 'subscribe', event_id: id });
      }
      this.welcomeTimer = setTimeout(() => {
        if (this.ws === ws && this.status.state !== 'connected') this.lost(undefined, 'no welcome from the server');
      }, this.opts.welcomeTimeoutMs ?? 10_000);
    };
    ws.onmessage = (e: { data: unknown }) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      if (typeof e.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(e.data);
      } catch {
        return;
      }
      // The server sends one message a frame; a packed array is taken apart
      // all the same.
      for (const f of Array.isArray(parsed) ? parsed : [parsed]) {
        if (f && typeof f === 'object' && typeof (f as { type?: unknown }).type === 'string') this.onFrame(f as ServerFrame);
        if (this.ws !== ws) return;
      }
    };
    ws.onclose = (e: { code?: number; reason?: string }) => {
      if (this.ws !== ws) return;
      this.lost(e.code ?? 1006, e.reason ?? '');
    };
    ws.onerror = () => {
      // always followed by onclose
    };
  }

  private onFrame(frame: ServerFrame): void {
    if (isPersonal(frame)) {
      if (this.firstTime(frame)) this.deliver(frame);
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame);
        break;
      case 'subscribed':
        if (!this.welcomed && this.status.state !== 'connected') this.connected();
        this.emit('subscribed', frame);
        break;
      case 'resumed':
        this.pendingResume = null;
        this.emit('resumed', frame);
        if (!frame.recovered) this.emit('resync', { reason: 'not-recovered', userId: this.userId });
        break;
      case 'unsubscribed':
        this.emit('unsubscribed', frame);
        break;
      case 'error':
        this.onError(frame);
        break;
      case 'pong':
        break;
      case 'coupon.soldout':
      case 'event.stock':
      case 'event.updated':
      case 'queue.progress':
      case 'queue.closed':
        this.deliver(frame);
        break;
      default:
        break; // a newer server's frame
    }
  }

  private onWelcome(frame: WelcomeFrame): void {
    clearTimeout(this.welcomeTimer);
    const extension = this.welcomed;
    const upgraded = !this.welcomed && this.ready; // an anonymous watcher signed in on its socket
    this.welcomed = true;
    this.ready = true;
    if (this.pendingAuth) this.socketToken = this.pendingAuth;
    this.pendingAuth = null;
    this.scheduleExpiry(frame.expires_at);
    if (extension) {
      this.emit('welcome', frame);
      return;
    }
    if (frame.user_id !== this.userId) {
      this.seenSeqs = new Set();
      this.seenIds = new Set();
    }
    this.userId = frame.user_id;
    const since = this.seqStore.get(frame.user_id);
    // `resume` first: personal messages are held back until our first frame.
    this.pendingResume = since;
    if (since) this.send({ type: 'resume', since });
    if (!upgraded) for (const id of this.watched) this.send({ type: 'subscribe', event_id: id });
    if (!since && (upgraded || this.watched.size === 0)) this.send({ type: 'ping' });
    this.connected();
    this.emit('welcome', frame);
    if (!since) this.emit('resync', { reason: 'no-seq', userId: this.userId });
  }

  private connected(): void {
    clearTimeout(this.welcomeTimer);
    this.attempt = 0;
    this.startPinging();
    this.setStatus({ state: 'connected' });
    this.everConnected = true;
  }

  private onError(frame: ErrorFrame): void {
    const ws = this.ws;
    switch (frame.code) {
      case 'unavailable': {
        // A snapshot or the history could not be read (e.g. a Redis
        // failover): ask again shortly, the resume from the same point.
        const since = this.pendingResume;
        clearTimeout(this.retryFramesTimer);
        this.retryFramesTimer = setTimeout(() => {
          if (this.ws !== ws || !this.ready) return;
          if (since && this.pendingResume === since) this.send({ type: 'resume', since });
          for (const id of this.watched) this.send({ type: 'subscribe', event_id: id });
        }, 1000);
        break;
      }
      case 'invalid_since':
        this.pendingResume = null;
        if (this.userId !== null) this.seqStore.set(this.userId, null);
        this.emit('resync', { reason: 'invalid-since', userId: this.userId });
        break;
      case 'user_mismatch':
        this.userMismatch = true;
        break;
      case 'invalid_token':
      case 'token_expired':
        // An `auth` on an open socket was refused: the socket stays as it
        // was (the current token stands, or it stays a watcher). A fresh
        // socket's refusal is followed by its close, handled there.
        if (this.pendingAuth && this.ready) {
          const bad = this.pendingAuth;
          this.refused.add(bad);
          this.pendingAuth = null;
          void this.retryAuth(frame.code === 'token_expired' ? 'expired' : 'rejected', bad);
        }
        break;
      default:
        break;
    }
    this.emit('error', frame);
  }

  /** After an `auth` on an open socket was refused: one more try if the app has another token. */
  private async retryAuth(reason: TokenReason, bad: string): Promise<void> {
    const gen = this.generation;
    let token: string | null = null;
    try {
      token = (await this.opts.getToken?.(reason)) ?? null;
    } catch {
      return;
    }
    if (gen !== this.generation || !token || token === bad || this.refused.has(token)) return;
    if (token === this.socketToken || token === this.pendingAuth) return;
    if (this.ws?.readyState === OPEN && this.ready) this.sendAuth(token);
  }

  private lost(code: number | undefined, reason: string): void {
    const sent = this.pendingAuth ?? this.socketToken;
    const wasWelcomed = this.welcomed;
    const mismatch = this.userMismatch;
    this.dropSocket();
    if (!this.started) return;
    const closeInfo = code === undefined ? { closeReason: reason } : { closeCode: code, closeReason: reason };
    switch (code) {
      case CloseCode.SESSION_REVOKED:
        // Never again with this session's tokens; the app signs out (or in
        // anew) in its listener, then we connect with whatever it gives.
        if (sent) this.refused.add(sent);
        this.emit('session.revoked', { userId: wasWelcomed ? this.userId : null, code, reason });
        if (this.started) this.open().catch(() => undefined);
        return;
      case CloseCode.AUTH_FAILED:
      case CloseCode.TOKEN_EXPIRED:
        if (sent && !mismatch) {
          this.refused.add(sent);
          this.nextReason = code === CloseCode.TOKEN_EXPIRED ? 'expired' : 'rejected';
        }
        break;
      case CloseCode.TOO_MANY_CONNECTIONS:
        this.attempt = Math.max(this.attempt, attemptsToCap(this.opts.backoff));
        break;
      default:
        break;
    }
    this.scheduleRetry(closeInfo);
  }

  private scheduleRetry(extra: Partial<PushStatus> = {}): void {
    clearTimeout(this.retryTimer);
    if (!this.started) return;
    if (this.isOffline()) {
      this.setStatus({ state: 'disconnected', reason: 'offline', ...extra });
      return;
    }
    const delay = backoffDelay(this.attempt++, this.opts.backoff, this.opts.random);
    this.setStatus({ state: 'disconnected', reason: 'retrying', retryInMs: delay, ...extra });
    this.retryTimer = setTimeout(() => {
      if (this.started && !this.ws) void this.open();
    }, delay);
  }

  // --- personal messages -------------------------------------------------------

  /** False for a message this client already had (by seq or message id); keeps the highest seq. */
  private firstTime(m: PersonalMessage): boolean {
    if (this.seenSeqs.has(m.seq) || this.seenIds.has(m.id)) return false;
    remember(this.seenSeqs, m.seq);
    remember(this.seenIds, m.id);
    if (this.userId !== null && m.seq) {
      const last = this.seqStore.get(this.userId);
      if (!last || compareSeq(m.seq, last) > 0) this.seqStore.set(this.userId, m.seq);
    }
    return true;
  }

  private deliver(m: PushMessage): void {
    this.emit(m.type, m as never);
    this.emit('message', m);
  }

  // --- timers and plumbing -----------------------------------------------------

  private sendAuth(token: string): void {
    this.pendingAuth = token;
    this.send({ type: 'auth', token });
  }

  /** Ask for a fresh token shortly before the session ends; a new one extends it. */
  private scheduleExpiry(expiresAt: number): void {
    clearTimeout(this.expiryTimer);
    if (!Number.isFinite(expiresAt) || expiresAt <= 0 || !this.opts.getToken) return;
    const due = expiresAt * 1000 - Date.now() - (this.opts.refreshBeforeExpiryMs ?? 60_000);
    const ws = this.ws;
    this.expiryTimer = setTimeout(
      () => {
        void (async () => {
          let token: string | null = null;
          try {
            token = (await this.opts.getToken?.('expiring')) ?? null;
          } catch {
            return; // the server closes with 4002 at the expiry; we come back then
          }
          if (this.ws !== ws || !token || this.refused.has(token)) return;
          if (token !== this.socketToken && token !== this.pendingAuth && this.ready) this.sendAuth(token);
        })();
      },
      Math.max(5_000, due),
    );
  }

  private startPinging(): void {
    clearInterval(this.pingTimer);
    const every = this.opts.pingIntervalMs ?? 15_000;
    const deadAfter = this.opts.deadAfterMs ?? 40_000;
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > deadAfter) {
        this.lost(undefined, 'no answer from the server');
        return;
      }
      this.send({ type: 'ping' });
    }, every);
  }

  private send(frame: ClientFrame): void {
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(JSON.stringify(frame));
  }

  private dropSocket(): void {
    this.generation++;
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    this.welcomed = false;
    this.socketToken = null;
    this.pendingAuth = null;
    this.pendingResume = null;
    clearInterval(this.pingTimer);
    clearTimeout(this.welcomeTimer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.retryFramesTimer);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }

  private isOffline(): boolean {
    if (this.opts.watchNetwork === false) return false;
    const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
    return nav?.onLine === false;
  }

  private watchNetwork(): void {
    if (this.opts.watchNetwork === false) return;
    const target = globalThis as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
      window?: unknown;
    };
    if (typeof target.addEventListener !== 'function' || target.window === undefined) return;
    const online = (): void => {
      if (this.started && !this.ws) this.reconnect();
    };
    const offline = (): void => {
      if (!this.started || (!this.ws && this.status.reason !== 'retrying')) return;
      // The socket is as good as dead; say so now rather than after the timeout.
      clearTimeout(this.retryTimer);
      this.dropSocket();
      this.setStatus({ state: 'disconnected', reason: 'offline' });
    };
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    this.unwatchNetwork = () => {
      target.removeEventListener?.('online', online);
      target.removeEventListener?.('offline', offline);
    };
  }

  private setStatus(next: Pick<PushStatus, 'state'> & Partial<PushStatus>): void {
    const signedIn = next.state === 'connected' && this.welcomed;
    this.status = {
      signedIn,
      userId: signedIn ? this.userId : null,
      reconnecting: this.everConnected,
      attempt: this.attempt,
      ...next,
    };
    if (next.state !== 'disconnected') delete this.status.reason;
    this.emit('state', { ...this.status });
  }

  private emit<K extends keyof PushEventMap>(type: K, value: PushEventMap[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as PushListener<K>)(value);
      } catch (e) {
        // A listener's bug must not break the socket's bookkeeping.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}

function remember(set: Set<string>, value: string): void {
  set.add(value);
  if (set.size > DEDUPE_WINDOW) set.delete(set.values().next().value as string);
}

function defaultUrl(): string {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!loc) throw new Error('PushClient needs `url` outside a browser');
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}
