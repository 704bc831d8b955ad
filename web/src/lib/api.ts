// The public HTTP API (docs/contract.md §2), same origin through nginx at /api,
// through the client SDK (sdk/, `@coupon-platform/sdk`): its REST client does
// the calls, this file adds the page's session and its views of the shapes.
// Every error is {"error":{"code","message","fields"?}} → `ApiError`; a 401 on
// an authenticated call triggers one refresh of the token pair and one retry.

import type * as Sdk from '@coupon-platform/sdk/rest';
import { type RequestOptions, RestClient } from '@coupon-platform/sdk/rest';
import type { Session, TokenPair } from './session';
import { observeServerDate } from './time';

export { ApiError, newIdempotencyKey, queryString } from '@coupon-platform/sdk/rest';

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

export interface Issued {
  coupon: Coupon;
  remaining: number;
}

/** What an admin did (the audit trail's names). */
export type AuditAction = 'event.create' | 'event.update' | 'event.close' | 'event.draw_now' | 'user.disable' | 'user.enable';
export type AuditTargetType = 'event' | 'user';

/** One admin action of the audit trail: who, what, on which target, the target before and after, and the request. */
export interface AuditEntry {
  id: number;
  at: string;
  /** The admin's account id. */
  actor_id: number;
  action: AuditAction;
  target_type: AuditTargetType;
  target_id: number;
  /** The target as stored before the change; null (or absent) for a creation. */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  request_id?: string | null;
  /** The W3C trace id the request came with (`traceparent`), if any. */
  trace_id?: string | null;
}

/** The audit trail's filters and page (`target_id` needs `target_type` or `action`). */
export interface AuditQuery {
  action?: AuditAction;
  target_type?: AuditTargetType;
  target_id?: number;
  actor_id?: number;
  page?: number;
  size?: number;
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

/**
 * The web's views of the API's shapes are narrower than the OpenAPI
 * document's (it knows the enums the document types as strings, e.g.
 * `closed_reason`, and tolerates fields older servers left out), so they are
 * kept here; the calls below cast the SDK's generated types to them, which
 * TypeScript allows only between comparable shapes. On top of that, every
 * field the web reads must be one the document declares: a field the server
 * renames or drops fails the type-check here, naming it.
 */
type Undocumented<Web, Doc> = Exclude<keyof Web, keyof NonNullable<Doc>>;
type None<T extends never> = T;
export type _EveryFieldIsDocumented = [
  None<Undocumented<SaleEvent, Sdk.Event>>,
  None<Undocumented<AdminEvent, Sdk.AdminEvent>>,
  None<Undocumented<QueueInfo, Sdk.Event['queue']>>,
  None<Undocumented<DrawInfo, Sdk.Event['draw']>>,
  None<Undocumented<Coupon, Sdk.MyCouponPage['items'][number]>>,
  None<Undocumented<IssuedCoupon, Sdk.IssuedCouponPage['items'][number]>>,
  None<Undocumented<Page<unknown>, Sdk.EventPage>>,
  None<Undocumented<Issued, Sdk.Issued>>,
  None<Undocumented<Place, Sdk.Place>>,
  None<Undocumented<EntryView, Sdk.Entry>>,
  None<Undocumented<DrawView, Sdk.DrawView>>,
  None<Undocumented<QueueProof, Sdk.AdmissionProof>>,
  None<Undocumented<DrawRound, NonNullable<Sdk.AdmissionProof['rounds']>[number]>>,
  None<Undocumented<AdminQueueStats, Sdk.AdminRoom>>,
  None<Undocumented<AdminDrawStats, Sdk.AdminDraw>>,
  None<Undocumented<EventFields, Sdk.EventPatch>>,
  None<Undocumented<AuditEntry, Sdk.AuditEntry>>,
  None<Undocumented<AuditQuery, Sdk.AuditQuery>>,
];
type True<T extends true> = T;
/** What the admin form sends must be what the API takes. */
export type _EventFieldsAreAPatch = True<EventFields extends Sdk.EventPatch ? true : false>;
/** The audit trail's filters are the API's (its actions and target types included). */
export type _AuditQueryIsTheApis = True<AuditQuery extends Sdk.AuditQuery ? true : false>;

type Fetch = typeof fetch;

/**
 * The calls the pages make, over the SDK's REST client (fetch, the error
 * envelope → `ApiError` with `code`, per-field messages and `Retry-After`,
 * `Idempotency-Key` on presses): this adds the page's session (one refresh
 * and one retry on a 401, signing out when the refresh is refused) and the
 * server's clock from every answer's `Date`.
 */
export class Api {
  private readonly rest: RestClient;

  constructor(
    readonly session: Session,
    fetchImpl: Fetch = (...args) => fetch(...args),
  ) {
    this.rest = new RestClient({
      fetch: fetchImpl,
      getToken: () => session.accessToken,
      onUnauthorized: async () => {
        if (session.hasRefreshToken) {
          try {
            if (await session.refresh()) return true;
          } catch {
            // No answer, 429 or 503 from the refresh: the refresh token may
            // be fine; keep the session and let this one request fail.
            return false;
          }
        }
        // A refused or missing token: the session is over.
        if (session.signedIn) session.clear();
        return false;
      },
      onResponse: (res, sentAt, receivedAt) => observeServerDate(res.headers.get('Date'), sentAt, receivedAt),
    });
  }

  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return this.rest.request<T>(method, path, opts);
  }

  // --- auth ------------------------------------------------------------------

  signup(email: string, password: string, name: string): Promise<{ id: number; email: string; name: string }> {
    return this.rest.signup({ email, password, name });
  }

  async login(email: string, password: string): Promise<void> {
    const pair: TokenPair = await this.rest.login(email, password);
    this.session.signIn(pair, email.trim());
  }

  async logout(): Promise<void> {
    const refresh = this.session.currentRefreshToken;
    if (refresh && this.session.accessToken) {
      try {
        await this.rest.logout(refresh);
      } catch {
        // signed out locally anyway; the refresh token expires by itself
      }
    }
    this.session.clear();
  }

  // --- sale ------------------------------------------------------------------

  events(query: ListQuery<SaleListStatus> = {}): Promise<Page<SaleEvent>> {
    return this.rest.events(query) as Promise<Page<SaleEvent>>;
  }

  event(id: number): Promise<SaleEvent> {
    return this.rest.event(id) as Promise<SaleEvent>;
  }

  issue(eventId: number, idempotencyKey: string): Promise<Issued> {
    return this.rest.issue(eventId, idempotencyKey) as Promise<Issued>;
  }

  myCoupons(page = 1, size = 50): Promise<Page<Coupon>> {
    return this.rest.myCoupons({ page, size }) as Promise<Page<Coupon>>;
  }

  // --- waiting room (queue events) --------------------------------------------

  /** Join, or the place already held (201 / 200 alike). */
  joinQueue(eventId: number): Promise<Place> {
    return this.rest.joinQueue(eventId) as Promise<Place>;
  }

  /** 404 `not_in_queue` when this account holds no place. */
  myPlace(eventId: number): Promise<Place> {
    return this.rest.myPlace(eventId) as Promise<Place>;
  }

  leaveQueue(eventId: number): Promise<void> {
    return this.rest.leaveQueue(eventId);
  }

  /** Public; 409 `queue_not_drawn` before the start. */
  queueProof(eventId: number): Promise<QueueProof> {
    return this.rest.queueProof(eventId) as Promise<QueueProof>;
  }

  // --- the draw (draw events) ------------------------------------------------

  /** Public, never cached; 409 `not_a_draw` for another admission. */
  drawView(eventId: number): Promise<DrawView> {
    return this.rest.drawView(eventId) as Promise<DrawView>;
  }

  /** Enter, or the entry already made (201 / 200 alike). */
  enterDraw(eventId: number): Promise<EntryView> {
    return this.rest.enterDraw(eventId) as Promise<EntryView>;
  }

  /** 404 `not_entered` when this account has no entry. */
  myEntry(eventId: number): Promise<EntryView> {
    return this.rest.myEntry(eventId) as Promise<EntryView>;
  }

  withdrawEntry(eventId: number): Promise<void> {
    return this.rest.withdrawEntry(eventId);
  }

  /** Public; 409 `not_drawn` before the draw. */
  drawProof(eventId: number): Promise<QueueProof> {
    return this.rest.drawProof(eventId) as Promise<QueueProof>;
  }

  // --- admin -----------------------------------------------------------------

  adminEvents(query: AdminListQuery = {}): Promise<Page<AdminEvent>> {
    return this.rest.adminEvents(query) as Promise<Page<AdminEvent>>;
  }

  adminEvent(id: number): Promise<AdminEvent> {
    return this.rest.adminEvent(id) as Promise<AdminEvent>;
  }

  createEvent(fields: EventFields): Promise<AdminEvent> {
    return this.rest.createEvent(fields as Sdk.EventCreate) as Promise<AdminEvent>;
  }

  updateEvent(id: number, fields: EventFields): Promise<AdminEvent> {
    return this.rest.updateEvent(id, fields) as Promise<AdminEvent>;
  }

  closeEvent(id: number): Promise<AdminEvent> {
    return this.rest.closeEvent(id) as Promise<AdminEvent>;
  }

  adminQueue(id: number): Promise<AdminQueueStats> {
    return this.rest.adminQueue(id) as Promise<AdminQueueStats>;
  }

  adminDraw(id: number): Promise<AdminDrawStats> {
    return this.rest.adminDraw(id) as Promise<AdminDrawStats>;
  }

  /** "Draw now": 202 (made within about a second) or 200 (already drawn), the same body as `adminDraw`. */
  drawNow(id: number): Promise<AdminDrawStats> {
    return this.rest.drawNow(id) as Promise<AdminDrawStats>;
  }

  eventCoupons(id: number, page: number, size: number, code: string): Promise<Page<IssuedCoupon>> {
    return this.rest.eventCoupons(id, { page, size, code }) as Promise<Page<IssuedCoupon>>;
  }

  /** The audit trail of admin actions, newest first (read-only). */
  auditTrail(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return this.rest.auditTrail(query) as Promise<Page<AuditEntry>>;
  }
}

/** "10% off" / "5,000 off" (amounts are integers in the currency's minor unit). */
export function describeDiscount(type: string, value: number): string {
  return type === 'percentage' ? `${value}% off` : `${value.toLocaleString()} off`;
}
