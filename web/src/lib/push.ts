// The pages' push connection: the SDK's PushClient (sdk/src/push.ts: auth
// or anonymous watching, sign-in on the same socket, resume and dedupe by
// seq, re-subscribe, full-jitter backoff, token extension, online/offline)
// bound to this page's Session, with the handlers and connection states
// the pages were written against. What stays here is the page's part: which
// token to give (refreshing it when the socket says it expired or is about
// to), signing the page out when the server ends its session (close 4003;
// the page then goes on watching anonymously), and the words for the
// connection indicator.

import {
  type CouponIssuedMessage,
  type CouponSoldoutData,
  type DrawLostMessage,
  type DrawWonMessage,
  type EventStockData,
  type PushStatus,
  PushClient as SdkPushClient,
  type QueueAdmittedMessage,
  type SubscribedFrame,
  type TokenReason,
  type WebSocketConstructor,
  storageSeqStore,
} from '@coupon-platform/sdk/push';
import type { Session } from './session';

export type {
  EventUpdatedData,
  QueueClosedData,
  QueueProgressData,
  SubscribedFrame,
} from '@coupon-platform/sdk/push';

export type ConnectionState = 'signed-out' | 'connecting' | 'live' | 'reconnecting' | 'offline';

export type CouponIssuedFrame = CouponIssuedMessage;
export type StockData = EventStockData;
export type SoldOutData = CouponSoldoutData;
/** It is this user's turn: a unit is held until `claimBy` (personal, resumable). */
export type QueueAdmittedFrame = QueueAdmittedMessage;
/** This user won a draw (at the draw or by backfill): claim before `claimBy`. */
export type DrawWonFrame = DrawWonMessage;
/** Not drawn once every unit was out; a later backfill may still send `draw.won`. */
export type DrawLostFrame = DrawLostMessage;

type Data<K extends keyof SdkEvents> = SdkEvents[K] extends { data: infer D } ? D : never;
type SdkEvents = import('@coupon-platform/sdk/push').PushEventMap;

export interface PushHandlers {
  state?(state: ConnectionState, detail: string): void;
  issued?(frame: CouponIssuedFrame): void;
  stock?(data: StockData): void;
  soldOut?(data: SoldOutData): void;
  /** An admin changed the event (stock, window, title) or closed it. */
  updated?(data: Data<'event.updated'>): void;
  subscribed?(frame: SubscribedFrame): void;
  queueProgress?(data: Data<'queue.progress'>): void;
  queueClosed?(data: Data<'queue.closed'>): void;
  queueAdmitted?(frame: QueueAdmittedFrame): void;
  drawWon?(frame: DrawWonFrame): void;
  drawLost?(frame: DrawLostFrame): void;
  /**
   * Personal messages may have been missed (a reconnect with nothing to
   * resume from, or history no longer covering it): refetch "my coupons".
   */
  resync?(): void;
}

export interface PushOptions {
  url?: string;
  /** Where the last personal `seq` is kept across reloads (per user); default sessionStorage. */
  seqStore?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  /** Tests: a stand-in WebSocket. */
  WebSocket?: WebSocketConstructor;
}

/** The indicator's state and words for the SDK's connection status. */
export function describeStatus(s: PushStatus): [ConnectionState, string] {
  switch (s.state) {
    case 'connected':
      return ['live', 'Live'];
    case 'connecting':
      return [s.reconnecting ? 'reconnecting' : 'connecting', 'Connecting…'];
    case 'closed':
      return ['signed-out', 'Stopped'];
    default:
      break;
  }
  switch (s.reason) {
    case 'offline':
      return ['offline', 'No network — will reconnect when it is back'];
    case 'retrying': {
      const why =
        s.closeCode === 4029
          ? 'Too many open tabs for this account'
          : s.closeCode === 4001 || s.closeCode === 4002
            ? 'Reconnecting with a fresh token…'
            : s.closeReason
              ? `Connection lost (${s.closeReason})`
              : 'Connection lost';
      return [s.reconnecting ? 'reconnecting' : 'connecting', `${why}; retrying in ${Math.ceil((s.retryInMs ?? 0) / 1000)} s`];
    }
    case 'unauthorized':
      return ['signed-out', 'Signed out — please sign in again'];
    default:
      return ['signed-out', 'Sign in for live updates'];
  }
}

export class PushClient {
  private readonly client: SdkPushClient;
  private mapped: ConnectionState = 'signed-out';

  constructor(
    private readonly session: Session,
    handlers: PushHandlers,
    opts: PushOptions = {},
  ) {
    const store = opts.seqStore === undefined ? safeSessionStorage() : opts.seqStore;
    this.client = new SdkPushClient({
      ...(opts.url ? { url: opts.url } : {}),
      ...(opts.WebSocket ? { WebSocket: opts.WebSocket } : {}),
      ...(store ? { seqStore: storageSeqStore(store, 'push.seq.') } : {}),
      getToken: (reason) => this.token(reason),
    });
    const c = this.client;
    c.on('state', (s) => {
      const [state, detail] = describeStatus(s);
      this.mapped = state;
      handlers.state?.(state, detail);
    });
    c.on('coupon.issued', (m) => handlers.issued?.(m));
    c.on('queue.admitted', (m) => handlers.queueAdmitted?.(m));
    c.on('draw.won', (m) => handlers.drawWon?.(m));
    c.on('draw.lost', (m) => handlers.drawLost?.(m));
    c.on('event.stock', (m) => handlers.stock?.(m.data));
    c.on('coupon.soldout', (m) => handlers.soldOut?.(m.data));
    c.on('event.updated', (m) => handlers.updated?.(m.data));
    c.on('queue.progress', (m) => handlers.queueProgress?.(m.data));
    c.on('queue.closed', (m) => handlers.queueClosed?.(m.data));
    c.on('subscribed', (f) => handlers.subscribed?.(f));
    c.on('resync', () => handlers.resync?.());
    c.on('session.revoked', () => {
      if (!session.signedIn) return;
      // Logged out on another device (or the session was ended): this
      // page's tokens are dead. Forget them here only (the other tabs of
      // this browser get their own close); the page goes on anonymously.
      this.mapped = 'signed-out';
      handlers.state?.('signed-out', 'Your session was ended — sign in again');
      session.clear(false);
    });
    // Signed in (a watcher signs in on its socket), refreshed (extends the
    // session), signed out (watch anonymously anew).
    session.onChange(() => void c.tokenChanged());
  }

  get state(): ConnectionState {
    return this.mapped;
  }

  start(): void {
    this.client.connect();
  }

  stop(): void {
    this.client.close();
  }

  /** Watch an event's stock and sell-out; kept across reconnects. A visitor's first watch opens the socket. */
  watch(eventId: number): void {
    this.client.subscribe(eventId);
  }

  unwatch(eventId: number): void {
    this.client.unsubscribe(eventId);
  }

  /** Drop the current socket and reconnect. */
  reconnectNow(): void {
    this.client.reconnect();
  }

  /**
   * The token for the socket: the session's, refreshed first when the
   * socket says it expired, was refused, or is about to expire. A refresh
   * the server refuses signs the page out (null: watch anonymously); one
   * that gets no answer throws, and the SDK retries with backoff.
   */
  private async token(reason: TokenReason): Promise<string | null> {
    const s = this.session;
    if ((reason === 'expiring' || reason === 'expired' || reason === 'rejected') && s.hasRefreshToken) {
      return (await s.refresh()) ? s.accessToken : null;
    }
    return s.accessToken;
  }
}

function safeSessionStorage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}
