// The public HTTP API (docs/contract.md §2), same origin through nginx at /api.
// Every error is {"error":{"code","message","fields"?}}; a 401 on an
// authenticated call triggers one refresh of the token pair and one retry.

import type { Session, TokenPair } from './session';
import { observeServerDate } from './time';

export type EventStatus = 'scheduled' | 'active' | 'sold_out' | 'ended';

/**
 * `first_come`: the first presses win; `queue`: a waiting room admits people
 * in a drawn order; `draw`: a lottery among those who entered in a window.
 */
export type Admission = 'first_come' | 'queue' | 'draw';

/** Why a waiting room or a draw closed; `exhausted` (draws only): its ranked list ran out with coupons left. */
export type QueueClosedReason = 'sold_out' | 'ended' | 'closed' | 'exhausted';

/** A queue event's waiting room, as the event view shows it to everyone. */
export interface QueueInfo {
  opens_at: string;
  claim_window_secs: number;
  only_existing_accounts: boolean;
  /** Hex SHA-256 of the seed, public from the moment the queue opens. */
  seed_commitment: string;
  /** Hex; revealed at the start. */
  seed: string | null;
  closed_reason: QueueClosedReason | null;
  joined: number;
}

export type PlaceState = 'waiting' | 'admitted' | 'claimed' | 'expired' | 'left' | 'closed';

/** One account's place in a queue event's waiting room. */
export interface Place {
  event_id: number;
  state: PlaceState;
  /** Null until the order is drawn at the start. */
  position: number | null;
  /** Places before this one still waiting or holding a unit. */
  ahead: number | null;
  /** The highest position admitted so far. */
  serving: number;
  waiting: number;
  /** Units not claimed yet. */
  remaining: number;
  /** Set while admitted: the held unit goes to the next place after this. */
  claim_by: string | null;
  joined_at: string;
  /** `unlikely`: the places ahead already exceed the stock left plus expected no-shows. */
  odds: 'good' | 'uncertain' | 'unlikely' | null;
}

/** One admission round of a draw: the first draw, then each backfill. */
export interface DrawRound {
  at: string;
  count: number;
}

/**
 * What anyone needs to recompute a queue's drawn order or a draw's ranking
 * (one format for both: `QueueProof` in contract/src/admission.rs).
 */
export interface QueueProof {
  event_id: number;
  seed_commitment: string;
  seed: string;
  /** The queue's start; a draw's draw time. */
  start_time: string;
  drawn_at?: string;
  /** User ids joined before the start (a draw: every entrant), in drawn order. */
  pre_queue: number[];
  /** User ids joined after the start, in arrival order (a draw: none). */
  late: number[];
  /** User ids in admission order (a draw: in the order they won, first draw then backfill). */
  admitted: number[];
  /** User ids that left before their turn: admission passed them over. */
  skipped?: number[];
  rule: string;
  /** Absent or `queue` for a waiting room. */
  mode?: 'queue' | 'draw';
  /** Draws: the public random value named in advance, and its value (hex) mixed into every rank key. */
  beacon_round?: string | null;
  beacon?: string | null;
  /** Draws: hex SHA-256 of the entrant ids sorted ascending, each in decimal followed by "\n". */
  entrants_digest?: string | null;
  rounds?: DrawRound[];
}

/** A draw event's settings and state, as the event view shows them to everyone. */
export interface DrawInfo {
  entry_opens_at: string;
  entry_closes_at: string;
  draw_at: string;
  claim_window_secs: number;
  only_existing_accounts: boolean;
  /** Hex SHA-256 of the seed, public from the moment the event is created. */
  seed_commitment: string;
  beacon_round: string | null;
  beacon: string | null;
  /** Set when entries close. */
  entrants_digest: string | null;
  /** Revealed by the draw. */
  seed: string | null;
  closed_reason: QueueClosedReason | null;
  entries: number;
}

/** `GET …/draw`: a draw's public numbers (never cached). */
export interface DrawView {
  event_id: number;
  entry_opens_at: string;
  entry_closes_at: string;
  draw_at: string;
  seed_commitment: string;
  beacon_round: string | null;
  beacon: string | null;
  entrants_digest: string | null;
  seed: string | null;
  drawn: boolean;
  closed_reason: QueueClosedReason | null;
  /** Entrants so far; once entries closed, the sealed count. */
  entries: number;
  /** Units not claimed. */
  remaining: number;
  /** Places that won so far, first draw and backfill. */
  winners: number;
  claimed: number;
  /** Won, not claimed yet. */
  held: number;
  waitlisted: number;
  rounds: number;
  /** min(1, remaining / entries) before the draw; null after it. */
  odds: number | null;
}

export type EntryState = 'entered' | 'won' | 'claimed' | 'waitlisted' | 'expired' | 'withdrawn' | 'closed';

/** One account's entry in a draw. */
export interface EntryView {
  event_id: number;
  state: EntryState;
  /** Null until the draw. */
  rank: number | null;
  /** Set while won: the unit goes to the next rank after this. */
  claim_by: string | null;
  entries: number;
  remaining: number;
  odds: number | null;
  entered_at: string;
}

/** The admin's view of a draw. */
export interface AdminDrawStats {
  entries: number;
  waitlisted: number;
  held: number;
  claimed: number;
  expired: number;
  withdrawn: number;
  winners: number;
  drawn: boolean;
  drawn_at: string | null;
  sealed: boolean;
  closed_reason: QueueClosedReason | null;
  beacon_round: string | null;
  beacon: string | null;
  draw_at: string;
  rounds: DrawRound[];
}

/** The admin's view of a waiting room. */
export interface AdminQueueStats {
  waiting: number;
  admitted: number;
  claimed: number;
  expired: number;
  left: number;
  serving: number;
  admitted_per_second: number;
  closed_reason: QueueClosedReason | null;
}

export interface SaleEvent {
  id: number;
  title: string;
  description: string;
  status: EventStatus;
  total_count: number;
  remaining: number;
  start_time: string;
  end_time: string;
  max_per_user: number;
  discount_type: 'percentage' | 'fixed' | string;
  discount_value: number;
  min_purchase_amount: number;
  valid_days: number;
  admission: Admission;
  /** Null unless `queue`. */
  queue: QueueInfo | null;
  /** Null unless `draw` (absent from servers that predate the draw). */
  draw?: DrawInfo | null;
}

export interface AdminEvent extends SaleEvent {
  code_prefix: string;
  issued_count: number;
  redeemed_count: number;
  closed_at: string | null;
  sold_out_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Coupon {
  id: number;
  code: string;
  event_id: number;
  status: 'issued' | 'used' | 'expired' | string;
  discount_type: string;
  discount_value: number;
  min_purchase_amount: number;
  issued_at: string;
  expires_at: string;
  used_at?: string;
}

export interface IssuedCoupon {
  id: number;
  code: string;
  user_id: number;
  status: string;
  issued_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface Page<T> {
  items: T[];
  page: number;
  size: number;
  /** Items in the whole list (every page). */
  total: number;
}

/** The public list's filter: `current` (default) is live and upcoming, live first. */
export type SaleListStatus = 'current' | 'live' | 'upcoming' | 'ended';

/** The admin list's filter (by what the database knows). */
export type AdminListStatus = 'upcoming' | 'live' | 'sold_out' | 'ended' | 'closed';

export interface ListQuery<S extends string> {
  status?: S;
  page?: number;
  size?: number;
}

export interface AdminListQuery extends ListQuery<AdminListStatus> {
  /** Part of the title, any case. */
  q?: string;
}

/** `?a=1&b=2` of the values that are set (nothing when none is). */
export function queryString(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Issued {
  coupon: Coupon;
  remaining: number;
}

/** The editable fields of an event (create takes all, PATCH any subset). */
export interface EventFields {
  title?: string;
  description?: string;
  total_count?: number;
  max_per_user?: number;
  start_time?: string;
  end_time?: string;
  discount_type?: string;
  discount_value?: number;
  min_purchase_amount?: number;
  valid_days?: number;
  code_prefix?: string;
  admission?: Admission;
  queue_opens_at?: string;
  claim_window_secs?: number;
  queue_only_existing_accounts?: boolean;
  entry_opens_at?: string;
  entry_closes_at?: string;
  draw_at?: string;
  draw_beacon_round?: string;
  draw_beacon?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly retryAfterSecs: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** No answer at all (offline, gateway down, aborted). */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

interface Options {
  body?: unknown;
  auth?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

type Fetch = typeof fetch;

export class Api {
  constructor(
    readonly session: Session,
    private readonly fetchImpl: Fetch = (...args) => fetch(...args),
  ) {}

  async request<T>(method: string, path: string, opts: Options = {}): Promise<T> {
    const first = await this.send(method, path, opts);
    if (first.status !== 401 || !opts.auth) return this.parse<T>(first);
    if (this.session.hasRefreshToken) {
      let refreshed: boolean;
      try {
        refreshed = await this.session.refresh();
      } catch {
        // No answer, 429 or 503 from the refresh: the refresh token may be
        // fine; keep the session and let this one request fail.
        throw await this.toError(first);
      }
      if (refreshed) return this.parse<T>(await this.send(method, path, opts));
    }
    // A refused or missing token: the session is over.
    const err = await this.toError(first);
    if (this.session.signedIn) this.session.clear();
    throw err;
  }

  private async send(method: string, path: string, opts: Options): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.auth) {
      const token = this.session.accessToken;
      if (!token) throw new ApiError(401, 'unauthorized', 'Please sign in first.');
      headers.Authorization = `Bearer ${token}`;
    }
    const sentAt = Date.now();
    try {
      const res = await this.fetchImpl(path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
        cache: 'no-store',
      });
      observeServerDate(res.headers.get('Date'), sentAt, Date.now());
      return res;
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection.');
    }
  }

  private async parse<T>(res: Response): Promise<T> {
    if (!res.ok) throw await this.toError(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  private async toError(res: Response): Promise<ApiError> {
    const retry = Number(res.headers.get('Retry-After'));
    const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
    try {
      const body = (await res.json()) as {
        error?: { code?: string; message?: string; fields?: Record<string, string> };
      };
      const e = body.error ?? {};
      return new ApiError(
        res.status,
        e.code ?? `http_${res.status}`,
        e.message ?? res.statusText,
        e.fields ?? {},
        retryAfter,
      );
    } catch {
      return new ApiError(res.status, `http_${res.status}`, `The server answered ${res.status}.`, {}, retryAfter);
    }
  }

  // --- auth ------------------------------------------------------------------

  signup(email: string, password: string, name: string): Promise<{ id: number; email: string; name: string }> {
    return this.request('POST', '/api/auth/signup', { body: { email, password, name } });
  }

  async login(email: string, password: string): Promise<void> {
    const pair = await this.request<TokenPair>('POST', '/api/auth/login', { body: { email, password } });
    this.session.signIn(pair, email.trim());
  }

  async logout(): Promise<void> {
    const refresh = this.session.currentRefreshToken;
    if (refresh && this.session.accessToken) {
      try {
        await this.request<void>('POST', '/api/auth/logout', { auth: true, body: { refresh_token: refresh } });
      } catch {
        // signed out locally anyway; the refresh token expires by itself
      }
    }
    this.session.clear();
  }

  // --- sale ------------------------------------------------------------------

  events(query: ListQuery<SaleListStatus> = {}): Promise<Page<SaleEvent>> {
    return this.request('GET', `/api/coupons/events${queryString({ ...query })}`);
  }

  event(id: number): Promise<SaleEvent> {
    return this.request('GET', `/api/coupons/events/${id}`);
  }

  issue(eventId: number, idempotencyKey: string): Promise<Issued> {
    return this.request('POST', '/api/coupons/issue', {
      auth: true,
      body: { event_id: eventId },
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  }

  myCoupons(page = 1, size = 50): Promise<Page<Coupon>> {
    return this.request('GET', `/api/coupons/my?page=${page}&size=${size}`, { auth: true });
  }

  // --- waiting room (queue events) --------------------------------------------

  /** Join, or the place already held (201 / 200 alike). */
  joinQueue(eventId: number): Promise<Place> {
    return this.request('POST', `/api/coupons/events/${eventId}/queue`, { auth: true });
  }

  /** 404 `not_in_queue` when this account holds no place. */
  myPlace(eventId: number): Promise<Place> {
    return this.request('GET', `/api/coupons/events/${eventId}/queue/me`, { auth: true });
  }

  leaveQueue(eventId: number): Promise<void> {
    return this.request('DELETE', `/api/coupons/events/${eventId}/queue/me`, { auth: true });
  }

  /** Public; 409 `queue_not_drawn` before the start. */
  queueProof(eventId: number): Promise<QueueProof> {
    return this.request('GET', `/api/coupons/events/${eventId}/queue/proof`);
  }

  // --- the draw (draw events) ------------------------------------------------

  /** Public, never cached; 409 `not_a_draw` for another admission. */
  drawView(eventId: number): Promise<DrawView> {
    return this.request('GET', `/api/coupons/events/${eventId}/draw`);
  }

  /** Enter, or the entry already made (201 / 200 alike). */
  enterDraw(eventId: number): Promise<EntryView> {
    return this.request('POST', `/api/coupons/events/${eventId}/entries`, { auth: true });
  }

  /** 404 `not_entered` when this account has no entry. */
  myEntry(eventId: number): Promise<EntryView> {
    return this.request('GET', `/api/coupons/events/${eventId}/entries/me`, { auth: true });
  }

  withdrawEntry(eventId: number): Promise<void> {
    return this.request('DELETE', `/api/coupons/events/${eventId}/entries/me`, { auth: true });
  }

  /** Public; 409 `not_drawn` before the draw. */
  drawProof(eventId: number): Promise<QueueProof> {
    return this.request('GET', `/api/coupons/events/${eventId}/draw/proof`);
  }

  // --- admin -----------------------------------------------------------------

  adminEvents(query: AdminListQuery = {}): Promise<Page<AdminEvent>> {
    return this.request('GET', `/api/admin/events${queryString({ ...query })}`, { auth: true });
  }

  adminEvent(id: number): Promise<AdminEvent> {
    return this.request('GET', `/api/admin/events/${id}`, { auth: true });
  }

  createEvent(fields: EventFields): Promise<AdminEvent> {
    return this.request('POST', '/api/admin/events', { auth: true, body: fields });
  }

  updateEvent(id: number, fields: EventFields): Promise<AdminEvent> {
    return this.request('PATCH', `/api/admin/events/${id}`, { auth: true, body: fields });
  }

  closeEvent(id: number): Promise<AdminEvent> {
    return this.request('POST', `/api/admin/events/${id}/close`, { auth: true });
  }

  adminQueue(id: number): Promise<AdminQueueStats> {
    return this.request('GET', `/api/admin/events/${id}/queue`, { auth: true });
  }

  adminDraw(id: number): Promise<AdminDrawStats> {
    return this.request('GET', `/api/admin/events/${id}/draw`, { auth: true });
  }

  /** "Draw now": 202 (made within about a second) or 200 (already drawn), the same body as `adminDraw`. */
  drawNow(id: number): Promise<AdminDrawStats> {
    return this.request('POST', `/api/admin/events/${id}/draw`, { auth: true });
  }

  eventCoupons(id: number, page: number, size: number, code: string): Promise<Page<IssuedCoupon>> {
    return this.request('GET', `/api/admin/events/${id}/coupons${queryString({ page, size, code })}`, { auth: true });
  }
}

/** A fresh Idempotency-Key (one per button press; reused only to retry that press). */
export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** "10% off" / "5,000 off" (amounts are integers in the currency's minor unit). */
export function describeDiscount(type: string, value: number): string {
  return type === 'percentage' ? `${value}% off` : `${value.toLocaleString()} off`;
}
