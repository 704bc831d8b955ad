// The WebSocket protocol's frames (docs/websocket-protocol.md): what the
// server sends, what a client sends, close codes. The message bodies are the
// platform's published messages unchanged (docs/contract.md §3, camelCase
// inside `data`); personal ones carry the `seq` to resume from.

/** A sale's status by coupon-service's rules. */
export type SaleStatus = 'scheduled' | 'active' | 'sold_out' | 'ended';

/** Why a waiting room or a draw closed; `exhausted` (draws): nobody left to win, units left. */
export type RoomClosedReason = 'sold_out' | 'ended' | 'closed' | 'exhausted';

/** The envelope every published message has. */
export interface Envelope<T extends string, D> {
  type: T;
  /** The message id: the same on every device and across redeliveries. */
  id: string;
  /** RFC 3339, whole seconds. */
  timestamp: string;
  data: D;
}

/** A personal message (to every socket of its user): resumable by `seq`. */
export interface Personal<T extends string, D> extends Envelope<T, D> {
  /** Opaque, ordered per user ("<ms>-<n>"); keep the highest for `resume`. */
  seq: string;
}

export interface CouponIssuedData {
  userId: number;
  couponId: number;
  eventId: number;
  couponCode: string;
  discountValue: number;
}

export interface CouponSoldoutData {
  eventId: number;
  eventTitle: string;
}

/** A snapshot of the live stock (not a delta), at most ~10 a second per event. */
export interface EventStockData {
  eventId: number;
  remaining: number;
  total: number;
}

/** The event as it stands after an admin's change or close. */
export interface EventUpdatedData {
  eventId: number;
  status: SaleStatus;
  remaining: number;
  total: number;
  startTime: string;
  endTime: string;
  title: string;
}

/** A waiting room's or a draw's progress, at most once a second (a snapshot). */
export interface QueueProgressData {
  eventId: number;
  serving: number;
  waiting: number;
  remaining: number;
  admittedPerSecond: number;
}

export interface QueueClosedData {
  eventId: number;
  reason: RoomClosedReason;
}

/** It is this user's turn: a unit is held until `claimBy`. */
export interface QueueAdmittedData {
  userId: number;
  eventId: number;
  position: number;
  claimBy: string;
}

/** This user won a draw (at the draw or by backfill): a unit is held until `claimBy`. */
export interface DrawWonData {
  userId: number;
  eventId: number;
  rank: number;
  claimBy: string;
}

/** This user's entry was not drawn; a later backfill may still send `draw.won`. */
export interface DrawLostData {
  userId: number;
  eventId: number;
  rank: number;
}

/**
 * A session ended (logout, a reused refresh token, an account disabled).
 * Never sent as a frame: the server closes that session's sockets with 4003,
 * which the push client reports as its `session.revoked` event.
 */
export interface SessionRevokedData {
  userId: number;
  sessionId?: string;
}

export type CouponIssuedMessage = Personal<'coupon.issued', CouponIssuedData>;
export type QueueAdmittedMessage = Personal<'queue.admitted', QueueAdmittedData>;
export type DrawWonMessage = Personal<'draw.won', DrawWonData>;
export type DrawLostMessage = Personal<'draw.lost', DrawLostData>;
export type CouponSoldoutMessage = Envelope<'coupon.soldout', CouponSoldoutData>;
export type EventStockMessage = Envelope<'event.stock', EventStockData>;
export type EventUpdatedMessage = Envelope<'event.updated', EventUpdatedData>;
export type QueueProgressMessage = Envelope<'queue.progress', QueueProgressData>;
export type QueueClosedMessage = Envelope<'queue.closed', QueueClosedData>;
export type SessionRevokedMessage = Envelope<'session.revoked', SessionRevokedData>;

/** To every socket of one user; each carries a `seq`. */
export type PersonalMessage = CouponIssuedMessage | QueueAdmittedMessage | DrawWonMessage | DrawLostMessage;
/** To every socket watching the event (anonymous watchers too). */
export type EventMessage =
  | CouponSoldoutMessage
  | EventStockMessage
  | EventUpdatedMessage
  | QueueProgressMessage
  | QueueClosedMessage;
export type PushMessage = PersonalMessage | EventMessage;

/** Signed in (by header or `auth` frame), or a token extension accepted. */
export interface WelcomeFrame {
  type: 'welcome';
  user_id: number;
  heartbeat_ms: number;
  /** Unix seconds the session ends unless a fresh `auth` extends it. */
  expires_at: number;
}

/** The event's state now, answering every `subscribe`. */
export interface SubscribedFrame {
  type: 'subscribed';
  event_id: number;
  remaining: number;
  status: SaleStatus;
}

export interface UnsubscribedFrame {
  type: 'unsubscribed';
  event_id: number;
}

/** After `resume`: `recovered: false` means history is gone (refetch "my coupons"). */
export interface ResumedFrame {
  type: 'resumed';
  recovered: boolean;
  replayed: number;
}

export interface PongFrame {
  type: 'pong';
}

/** Error codes of `error` frames (docs/websocket-protocol.md); newer servers may add some. */
export type PushErrorCode =
  | 'invalid_json'
  | 'unknown_type'
  | 'invalid_frame'
  | 'invalid_since'
  | 'unsupported_frame'
  | 'event_not_found'
  | 'too_many_subscriptions'
  | 'unavailable'
  | 'rate_limited'
  | 'auth_required'
  | 'auth_timeout'
  | 'invalid_token'
  | 'token_expired'
  | 'user_mismatch'
  | 'too_many_connections'
  | 'server_full';

export interface ErrorFrame {
  type: 'error';
  code: PushErrorCode | (string & {});
  message: string;
}

export type ControlFrame = WelcomeFrame | SubscribedFrame | UnsubscribedFrame | ResumedFrame | PongFrame | ErrorFrame;
/** Everything the server sends on the socket. */
export type ServerFrame = PushMessage | ControlFrame;

export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'subscribe'; event_id: number }
  | { type: 'unsubscribe'; event_id: number }
  | { type: 'resume'; since: string }
  | { type: 'ping' };

/** Close codes (notify-service/src/protocol/close.rs). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  INVALID_PAYLOAD: 1007,
  MESSAGE_TOO_BIG: 1009,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  HEARTBEAT_TIMEOUT: 4000,
  AUTH_FAILED: 4001,
  TOKEN_EXPIRED: 4002,
  SESSION_REVOKED: 4003,
  SLOW_CONSUMER: 4008,
  TOO_MANY_CONNECTIONS: 4029,
} as const;

const PERSONAL = new Set<string>(['coupon.issued', 'queue.admitted', 'draw.won', 'draw.lost']);

export function isPersonal(frame: { type: string }): frame is PersonalMessage {
  return PERSONAL.has(frame.type);
}

/**
 * Orders two seqs ("<ms>-<n>", Redis stream ids) numerically; anything else
 * falls back to string order. Negative when a < b.
 */
export function compareSeq(a: string, b: string): number {
  const pa = /^(\d+)-(\d+)$/.exec(a);
  const pb = /^(\d+)-(\d+)$/.exec(b);
  if (pa && pb) {
    const ms = Number(pa[1]) - Number(pb[1]);
    return ms !== 0 ? ms : Number(pa[2]) - Number(pb[2]);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
