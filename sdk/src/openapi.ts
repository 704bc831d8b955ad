// Generated from sdk/openapi.json by openapi-typescript (npm run generate in
// sdk/); do not edit. The document is what `coupon-service openapi` prints.

export interface paths {
    "/api/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The audit trail: every admin action, newest first, filtered by action,
         *     target and admin, a page at a time. Read-only: nothing in the API
         *     changes it.
         */
        get: operations["audit_trail"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Events, newest start first, with live stats; filtered by status and
         *     title, a page at a time.
         */
        get: operations["admin_list_events"];
        put?: never;
        /** Create an event (validated field by field). */
        post: operations["create_event"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/events/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One event with live stats. */
        get: operations["admin_get_event"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change an event. Raising the stock during a sale adds tickets at once;
         *     lowering it below what is issued, or changing the window of an ended
         *     event, is refused with 409.
         */
        patch: operations["patch_event"];
        trace?: never;
    };
    "/api/admin/events/{id}/close": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End the sale now: issuance answers 410 `event_ended` on every instance,
         *     and the event's watchers get `event.updated` with status `ended`.
         */
        post: operations["close_event"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/events/{id}/coupons": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An event's issued coupons, newest first, paged, searchable by code. */
        get: operations["event_coupons"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/events/{id}/coupons.csv": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An event's coupons as CSV, oldest first, streamed. */
        get: operations["export_coupons"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/events/{id}/draw": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The draw's counts and rounds, read from PostgreSQL now. */
        get: operations["admin_draw"];
        put?: never;
        /**
         * Draw now: once the entries closed and the sale started, the draw time
         *     becomes now (the room draws within about a second). 200 when drawn
         *     already.
         */
        post: operations["draw_now"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/events/{id}/queue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The waiting room's counts, read from PostgreSQL now. */
        get: operations["admin_room"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/users/{id}/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Disable an account: no more sign-ins or refreshes, every session revoked,
         *     its WebSockets closed (4003) and its access tokens refused (401
         *     `invalid_token`) on every instance within about a second. Disabling twice
         *     is harmless. Admin accounts cannot be disabled here.
         */
        post: operations["disable_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/users/{id}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enable a disabled account again (it signs in anew; its old sessions stay
         *     revoked).
         */
        post: operations["enable_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/jwks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Public keys access tokens are signed with (JWKS, RFC 7517). */
        get: operations["jwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Exchange email and password for an access token and a refresh token.
         *     Answered with `Cache-Control: no-store`.
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke the refresh token's family (this device signs out): the session's
         *     WebSockets, on every notify instance, close with 4003 `session_revoked`;
         *     the user's other sessions keep theirs.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate a refresh token: the old one stops working, a new pair is returned.
         *     Presenting an already-rotated token revokes its whole family; a family
         *     ends `auth.refresh_family_max_secs` after its login however often it was
         *     rotated. Answered with `Cache-Control: no-store`.
         */
        post: operations["refresh_tokens"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create an account (role USER). */
        post: operations["signup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Events with live stock, a page at a time. By default the live and
         *     upcoming ones, live first; `status=ended` for past sales.
         */
        get: operations["list_events"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One event with its live remaining stock. */
        get: operations["get_event"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/draw": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The draw's public state. */
        get: operations["draw_state"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/draw/proof": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Everything needed to recompute the draw: the seed, the beacon, the
         *     entrant list (whose digest was public since the entries closed), the
         *     ranking and the wins round by round (`coupon-service verify-draw`).
         */
        get: operations["draw_proof"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/entries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enter the draw: one entry per account, the same entry when asked again
         *     (201 the first time, 200 after). When in the window one enters makes no
         *     difference.
         */
        post: operations["enter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/entries/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One's own entry (never cached). */
        get: operations["my_entry"];
        put?: never;
        post?: never;
        /** Withdraw while the entries are open (entering again later is allowed). */
        delete: operations["withdraw"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/queue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The waiting room's public state. */
        get: operations["room"];
        put?: never;
        /**
         * Join the event's queue: one place per account, the same place when
         *     asked again (201 the first time, 200 after).
         */
        post: operations["join"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/queue/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One's own place in the queue (never cached). */
        get: operations["my_place"];
        put?: never;
        post?: never;
        /** Leave the queue; an admitted place's unit goes to the next place. */
        delete: operations["leave"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/events/{id}/queue/proof": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Everything needed to recompute the queue's order: the seed, the places
         *     and the admissions (`coupon-service verify-queue` checks it).
         */
        get: operations["queue_proof"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/issue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Try to get a coupon of an event: first come, first served. Send an
         *     `Idempotency-Key` header to make retries safe: a retry returns the first
         *     result.
         */
        post: operations["issue"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/my": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your coupons, newest first, paged. */
        get: operations["my_coupons"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/coupons/{code}/redeem": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Redeem a coupon you own. Another user's code answers 404, like a code
         *     that does not exist.
         */
        post: operations["redeem"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process answers. */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (text exposition format). */
        get: operations["metrics_endpoint"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Ready when PostgreSQL answers, the issuance script itself runs in Redis
         *     (not a mere PING) and every background task is still running. RabbitMQ is reported but does not fail readiness:
         *     issuance goes on through the outbox while the broker is away.
         */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description What an admin did: `event.create`, `event.update`, `event.close`,
         *     `event.draw_now`, `user.disable` or `user.enable`. The names are the
         *     API's and the table's (its CHECK lists the same ones).
         * @enum {string}
         */
        Action: "event.create" | "event.update" | "event.close" | "event.draw_now" | "user.disable" | "user.enable";
        /** @description The draw for an operator, read from PostgreSQL now. */
        AdminDrawView: {
            beacon?: string | null;
            beacon_round?: string | null;
            /** Format: int64 */
            claimed: number;
            closed_reason?: string | null;
            /** Format: date-time */
            draw_at: string;
            drawn: boolean;
            /** Format: date-time */
            drawn_at?: string | null;
            entrants_digest?: string | null;
            /**
             * Format: int64
             * @description Entrants now (before the draw) or ranked (after it).
             */
            entries: number;
            /**
             * Format: int64
             * @description Won, not claimed in time.
             */
            expired: number;
            /**
             * Format: int64
             * @description Won, not claimed yet.
             */
            held: number;
            /** @description The draw's round, then each backfill's: when, and how many won. */
            rounds: components["schemas"]["AdmissionRound"][];
            sealed: boolean;
            /**
             * Format: int64
             * @description Ranked, not (yet) won.
             */
            waitlisted: number;
            /**
             * Format: int64
             * @description Every win so far: the draw's and each backfill's.
             */
            winners: number;
            /** Format: int64 */
            withdrawn: number;
        };
        /** @description `GET /api/admin/events` answer. */
        AdminEventPage: {
            items: components["schemas"]["AdminEventView"][];
            /** Format: int64 */
            page: number;
            /** Format: int64 */
            size: number;
            /**
             * Format: int64
             * @description Events matching the filter (all pages).
             */
            total: number;
        };
        /** @description An event with the numbers an operator watches. */
        AdminEventView: components["schemas"]["EventView"] & {
            /** Format: date-time */
            closed_at?: string | null;
            code_prefix: string;
            /** Format: date-time */
            created_at: string;
            /** Format: int32 */
            issued_count: number;
            /** Format: int64 */
            redeemed_count: number;
            /** Format: date-time */
            sold_out_at?: string | null;
            /** Format: date-time */
            updated_at: string;
        };
        /** @description The room's counts for an operator. */
        AdminRoomView: components["schemas"]["Counts"] & {
            /** Format: double */
            admitted_per_second: number;
            closed_reason?: string | null;
            drawn: boolean;
        };
        /**
         * @description An event's admission mode.
         * @enum {string}
         */
        Admission: "first_come" | "queue" | "draw";
        /**
         * @description Admissions granted together (one tick of the room): a draw's first
         *     round holds its winners, the later ones its backfill.
         */
        AdmissionRound: {
            /** Format: date-time */
            at: string;
            count: number;
        };
        /** @description One recorded action. */
        AuditEntry: {
            action: components["schemas"]["Action"];
            /**
             * Format: int64
             * @description The admin's account id.
             */
            actor_id: number;
            /** @description The target after the change. */
            after?: {
                [key: string]: unknown;
            } | null;
            /**
             * Format: date-time
             * @description When it was written, in the change's own transaction.
             */
            at: string;
            /** @description The target before the change (absent for a creation). */
            before?: {
                [key: string]: unknown;
            } | null;
            /** Format: int64 */
            id: number;
            /** @description The request's id (`X-Request-Id`, as in the service's log lines). */
            request_id?: string | null;
            /** Format: int64 */
            target_id: number;
            /** @description `event` or `user`. */
            target_type: string;
            /** @description The W3C trace id the request came with (`traceparent`). */
            trace_id?: string | null;
        };
        /** @description `GET /api/admin/audit` answer. */
        AuditPage: {
            items: components["schemas"]["AuditEntry"][];
            /** Format: int64 */
            page: number;
            /** Format: int64 */
            size: number;
            /**
             * Format: int64
             * @description Entries matching the filter (all pages).
             */
            total: number;
        };
        /** @description The room's counts, for progress, status and the admin panel. */
        Counts: {
            /**
             * Format: int64
             * @description Admitted and holding (not claimed yet).
             */
            admitted: number;
            /**
             * Format: int64
             * @description Admitted in the last [`RATE_WINDOW_SECS`] seconds.
             */
            admitted_recently: number;
            /** Format: int64 */
            claimed: number;
            /** Format: int64 */
            expired: number;
            /** Format: int64 */
            left: number;
            /**
             * Format: int64
             * @description Admission rounds so far (one per tick that admitted anyone).
             */
            rounds: number;
            /**
             * Format: int64
             * @description The highest position admitted so far.
             */
            serving: number;
            /** Format: int64 */
            waiting: number;
        };
        Coupon: {
            /** @description `<PREFIX>-XXXXXXXX`. */
            code: string;
            discount_type: string;
            /** Format: int64 */
            discount_value: number;
            /** Format: int64 */
            event_id: number;
            /** Format: date-time */
            expires_at: string;
            /** Format: int64 */
            id: number;
            /** Format: date-time */
            issued_at: string;
            /** Format: int64 */
            min_purchase_amount: number;
            /** @description `issued`, `used` or `expired`. */
            status: string;
            /** Format: date-time */
            used_at?: string | null;
        };
        CouponPage: {
            items: components["schemas"]["IssuedCoupon"][];
            /** Format: int64 */
            page: number;
            /** Format: int64 */
            size: number;
            /** Format: int64 */
            total: number;
        };
        /**
         * @description A draw's settings and public record, as everyone sees them (cached up
         *     to `events.cache_ttl_ms`; `GET …/draw` is never cached).
         */
        DrawSettingsView: {
            beacon?: string | null;
            /**
             * @description The public random value named in advance, and its value once the
             *     admin entered it (hex).
             */
            beacon_round?: string | null;
            /**
             * Format: int32
             * @description How long a win holds its unit.
             */
            claim_window_secs: number;
            /** @description `sold_out`, `ended`, `closed` or `exhausted` once the draw closed. */
            closed_reason?: string | null;
            /** Format: date-time */
            draw_at: string;
            /** @description hex SHA-256 of the entrant list, published when the entries closed. */
            entrants_digest?: string | null;
            /**
             * Format: int64
             * @description Entries ever made (withdrawn ones included).
             */
            entries: number;
            /** Format: date-time */
            entry_closes_at: string;
            /** Format: date-time */
            entry_opens_at: string;
            /** @description Only accounts that existed when entries opened may enter. */
            only_existing_accounts: boolean;
            /** @description hex; revealed by the draw. */
            seed?: string | null;
            /** @description hex SHA-256 of the seed, public from the event's creation. */
            seed_commitment: string;
        };
        /** @description The draw as anyone sees it (never cached). */
        DrawView: {
            /** @description hex; the value the draw used once drawn, the admin's entry before. */
            beacon?: string | null;
            beacon_round?: string | null;
            /** Format: int64 */
            claimed: number;
            /** @description `sold_out`, `ended`, `closed` or `exhausted` once the draw closed. */
            closed_reason?: string | null;
            /** Format: date-time */
            draw_at: string;
            drawn: boolean;
            /** @description hex SHA-256 of the entrant list, once the entries are sealed. */
            entrants_digest?: string | null;
            /**
             * Format: int64
             * @description Entrants now (before the draw) or ranked (after it).
             */
            entries: number;
            /** Format: date-time */
            entry_closes_at: string;
            /** Format: date-time */
            entry_opens_at: string;
            /** Format: int64 */
            event_id: number;
            /**
             * Format: int64
             * @description Won, not claimed yet.
             */
            held: number;
            /**
             * Format: double
             * @description Before the draw: the chance of a win if nobody else enters,
             *     min(1, units ÷ entries).
             */
            odds?: number | null;
            /**
             * Format: int64
             * @description Units not claimed.
             */
            remaining: number;
            /**
             * Format: int64
             * @description Admission rounds so far (the draw, then one per backfill).
             */
            rounds: number;
            /** @description hex; revealed by the draw. */
            seed?: string | null;
            seed_commitment: string;
            /**
             * Format: int64
             * @description Ranked, not (yet) won.
             */
            waitlisted: number;
            /**
             * Format: int64
             * @description Places that won so far: the first draw and every backfill.
             */
            winners: number;
        };
        /**
         * @description Where an entry stands.
         * @enum {string}
         */
        EntryState: "entered" | "won" | "claimed" | "waitlisted" | "expired" | "withdrawn" | "closed";
        /** @description One's own entry (never cached). */
        EntryView: {
            /**
             * Format: date-time
             * @description While won: press before this.
             */
            claim_by?: string | null;
            /** Format: date-time */
            entered_at: string;
            /** Format: int64 */
            entries: number;
            /** Format: int64 */
            event_id: number;
            /**
             * Format: double
             * @description Before the draw: min(1, units ÷ entries).
             */
            odds?: number | null;
            /**
             * Format: int64
             * @description From the draw on.
             */
            rank?: number | null;
            /** Format: int64 */
            remaining: number;
            state: components["schemas"]["EntryState"];
        };
        ErrorBody: {
            /** @description Stable, snake_case: what a client branches on. */
            code: string;
            /** @description 422 only: each bad field with what is wrong with it. */
            fields?: {
                [key: string]: string;
            } | null;
            /** @description For people; may change. */
            message: string;
        };
        /** @description `{"error": {"code", "message", "fields"?}}`. */
        ErrorEnvelope: {
            error: components["schemas"]["ErrorBody"];
        };
        /** @description `GET /api/coupons/events` answer. */
        EventPage: {
            items: components["schemas"]["EventView"][];
            /** Format: int64 */
            page: number;
            /** Format: int64 */
            size: number;
            /**
             * Format: int64
             * @description Events in the whole list (all pages).
             */
            total: number;
        };
        /** @description A change to an event; every field optional, the rules of a new event. */
        EventPatch: {
            admission?: components["schemas"]["Admission"] | null;
            /** Format: int32 */
            claim_window_secs?: number | null;
            code_prefix?: string | null;
            description?: string | null;
            discount_type?: string | null;
            /** Format: int64 */
            discount_value?: number | null;
            /** Format: date-time */
            draw_at?: string | null;
            draw_beacon?: string | null;
            draw_beacon_round?: string | null;
            /** Format: date-time */
            end_time?: string | null;
            /** Format: date-time */
            entry_closes_at?: string | null;
            /** Format: date-time */
            entry_opens_at?: string | null;
            /** Format: int32 */
            max_per_user?: number | null;
            /** Format: int64 */
            min_purchase_amount?: number | null;
            queue_only_existing_accounts?: boolean | null;
            /** Format: date-time */
            queue_opens_at?: string | null;
            /** Format: date-time */
            start_time?: string | null;
            title?: string | null;
            /** Format: int32 */
            total_count?: number | null;
            /** Format: int32 */
            valid_days?: number | null;
        };
        /**
         * @description Derived from time and state, never stored; the reserve script applies the
         *     same rules (closed or past end → ended, before start → scheduled).
         * @enum {string}
         */
        EventStatus: "scheduled" | "active" | "sold_out" | "ended";
        /** @description `GET /api/coupons/events[/{id}]` item. */
        EventView: {
            admission: components["schemas"]["Admission"];
            description: string;
            discount_type: string;
            /** Format: int64 */
            discount_value: number;
            draw?: components["schemas"]["DrawSettingsView"] | null;
            /** Format: date-time */
            end_time: string;
            /** Format: int64 */
            id: number;
            /** Format: int32 */
            max_per_user: number;
            /** Format: int64 */
            min_purchase_amount: number;
            queue?: components["schemas"]["QueueSettingsView"] | null;
            /** Format: int64 */
            remaining: number;
            /** Format: date-time */
            start_time: string;
            status: components["schemas"]["EventStatus"];
            title: string;
            /** Format: int32 */
            total_count: number;
            /** Format: int32 */
            valid_days: number;
        };
        IssueRequest: {
            /** Format: int64 */
            event_id: number;
        };
        Issued: {
            coupon: components["schemas"]["Coupon"];
            /** Format: int64 */
            remaining: number;
        };
        /** @description An issued coupon as the admin sees it (with its owner). */
        IssuedCoupon: {
            code: string;
            /** Format: date-time */
            expires_at: string;
            /** Format: int64 */
            id: number;
            /** Format: date-time */
            issued_at: string;
            status: string;
            /** Format: date-time */
            used_at?: string | null;
            /** Format: int64 */
            user_id: number;
        };
        LoginRequest: {
            email: string;
            password: string;
        };
        /**
         * @description What creating an event takes (admin API, seeding, tests). The schema
         *     states the admin validator's rules; other fields are refused.
         */
        NewEvent: {
            /**
             * @description `first_come` (default) or `queue` (the waiting room); fixed once the
             *     queue opened (or the first-come sale started).
             */
            admission?: components["schemas"]["Admission"];
            /**
             * Format: int32
             * @description Queue mode: how long an admitted place holds its unit.
             */
            claim_window_secs?: number;
            code_prefix: string;
            description?: string;
            discount_type: string;
            /**
             * Format: int64
             * @description 1-100 for a percentage, an amount in minor units for fixed.
             */
            discount_value: number;
            /**
             * Format: date-time
             * @description Draw mode: when the entrants are ranked; at or after `start_time`
             *     and `entry_closes_at`, before `end_time`; default the later of those
             *     two.
             */
            draw_at?: string | null;
            /**
             * @description Draw mode: the named value (hex), entered before the draw; the draw
             *     waits for it when a round is named.
             */
            draw_beacon?: string | null;
            /**
             * @description Draw mode: a public random value named in advance, unknown when the
             *     entries close (e.g. "drand quicknet round 12345678").
             */
            draw_beacon_round?: string | null;
            /**
             * Format: date-time
             * @description After `start_time` and in the future.
             */
            end_time: string;
            /**
             * Format: date-time
             * @description Draw mode (required): when entries close; at most `draw_at`.
             */
            entry_closes_at?: string | null;
            /**
             * Format: date-time
             * @description Draw mode: when entries open (default: when the event is created).
             */
            entry_opens_at?: string | null;
            /** Format: int32 */
            max_per_user?: number;
            /** Format: int64 */
            min_purchase_amount?: number;
            /**
             * @description Queue mode: only accounts that existed when the queue opened may
             *     join; draw mode: when the entries opened.
             */
            queue_only_existing_accounts?: boolean;
            /**
             * Format: date-time
             * @description Queue mode: when joining opens; at most `start_time`; default 30
             *     minutes before it.
             */
            queue_opens_at?: string | null;
            /** Format: date-time */
            start_time: string;
            title: string;
            /** Format: int32 */
            total_count: number;
            /** Format: int32 */
            valid_days?: number;
        };
        /**
         * @description Whether the places ahead can still be served, said plainly.
         * @enum {string}
         */
        Odds: "good" | "uncertain" | "unlikely";
        Page: {
            items: components["schemas"]["Coupon"][];
            /** Format: int64 */
            page: number;
            /** Format: int64 */
            size: number;
            /** Format: int64 */
            total: number;
        };
        /**
         * @description Where a place stands.
         * @enum {string}
         */
        PlaceState: "waiting" | "admitted" | "claimed" | "expired" | "left" | "closed";
        /** @description One's own place (never cached). */
        PlaceView: {
            /**
             * Format: int64
             * @description Places before yours not yet served (those who left ahead of you are
             *     counted until they would have been served).
             */
            ahead?: number | null;
            /**
             * Format: date-time
             * @description While admitted: press before this.
             */
            claim_by?: string | null;
            /** Format: int64 */
            event_id: number;
            /** Format: date-time */
            joined_at: string;
            odds?: components["schemas"]["Odds"] | null;
            /**
             * Format: int64
             * @description Given at the draw (joined before the start) or within a second of
             *     joining (after it); `null` until then.
             */
            position?: number | null;
            /** Format: int64 */
            remaining: number;
            /** Format: int64 */
            serving: number;
            state: components["schemas"]["PlaceState"];
            /** Format: int64 */
            waiting: number;
        };
        /** @description The proof a waiting room or a draw publishes once its order is drawn. */
        QueueProof: {
            /** @description Account ids in the order they were admitted. */
            admitted: number[];
            beacon?: string | null;
            /** @description A draw's named public random value, and that value (hex). */
            beacon_round?: string | null;
            /** Format: date-time */
            drawn_at: string;
            /**
             * @description A draw's entrant digest ([`entrants_digest`]), public since its
             *     entries closed.
             */
            entrants_digest?: string | null;
            /** Format: int64 */
            event_id: number;
            /** @description Account ids of later joiners, positions N+1.. in arrival order. */
            late: number[];
            /** @description `queue` or `draw`. */
            mode?: string;
            /** @description Account ids of those who joined before the start, positions 1..N. */
            pre_queue: number[];
            /** @description The admissions' rounds, in order; their counts add up to `admitted`. */
            rounds?: components["schemas"]["AdmissionRound"][];
            rule: string;
            /** @description hex, 32 bytes. */
            seed: string;
            /** @description hex SHA-256 of the seed, public since the event was queued. */
            seed_commitment: string;
            /** @description Account ids that left before their turn (admission skipped them). */
            skipped: number[];
            /** Format: date-time */
            start_time: string;
        };
        /** @description A queued event's settings, as everyone sees them. */
        QueueSettingsView: {
            /**
             * Format: int32
             * @description How long an admitted place holds its unit.
             */
            claim_window_secs: number;
            /** @description `sold_out`, `ended` or `closed` once the room closed (cached alike). */
            closed_reason?: string | null;
            /**
             * Format: int64
             * @description Places ever taken in the queue.
             */
            joined: number;
            /** @description Only accounts that existed when the queue opened may join. */
            only_existing_accounts: boolean;
            /**
             * Format: date-time
             * @description Joining opens here.
             */
            opens_at: string;
            /**
             * @description hex; revealed by the draw a second after the start (cached up to
             *     `events.cache_ttl_ms`; `GET …/queue` is never cached).
             */
            seed?: string | null;
            /** @description hex SHA-256 of the seed that orders those who join before the start. */
            seed_commitment: string;
        };
        RedeemRequest: {
            /**
             * Format: int64
             * @description In the currency's minor unit.
             */
            order_amount: number;
        };
        Redeemed: {
            coupon: components["schemas"]["Coupon"];
            /** Format: int64 */
            discount_amount: number;
            /** Format: int64 */
            final_amount: number;
        };
        RefreshRequest: {
            refresh_token: string;
        };
        /**
         * @description The room as anyone sees it: its commitment, its seed once drawn, and
         *     the latest progress (never cached).
         */
        RoomView: {
            /** Format: double */
            admitted_per_second: number;
            /** @description `sold_out`, `ended` or `closed` once the room closed. */
            closed_reason?: string | null;
            drawn: boolean;
            /** Format: int64 */
            event_id: number;
            /** Format: date-time */
            opens_at: string;
            /**
             * Format: int64
             * @description Units not yet claimed.
             */
            remaining: number;
            /** @description hex; revealed by the draw a second after the start. */
            seed?: string | null;
            seed_commitment: string;
            /**
             * Format: int64
             * @description The highest position admitted so far.
             */
            serving: number;
            /** Format: int64 */
            waiting: number;
        };
        SignupRequest: {
            /** Format: email */
            email: string;
            name: string;
            password: string;
        };
        TokenPair: {
            access_token: string;
            /**
             * Format: int64
             * @description Access-token lifetime in seconds.
             */
            expires_in: number;
            refresh_token: string;
            /** @description Always `Bearer`. */
            token_type: string;
        };
        /** @description An account as an admin sees it after the change. */
        UserStatus: {
            /**
             * Format: date-time
             * @description When it was disabled; absent when it is enabled.
             */
            disabled_at?: string | null;
            email: string;
            /** Format: int64 */
            id: number;
            name: string;
            role: string;
        };
        UserView: {
            email: string;
            /** Format: int64 */
            id: number;
            name: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    audit_trail: {
        parameters: {
            query?: {
                /** @description Only this action. */
                action?: string;
                /** @description Only actions on events or on accounts. */
                target_type?: string;
                /** @description Only actions on this event or account (with `target_type`). */
                target_id?: number;
                /** @description Only actions of this admin. */
                actor_id?: number;
                /** @description Page number, from 1. */
                page?: number;
                /** @description Items per page. */
                size?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditPage"];
                };
            };
            /** @description invalid_query: a query parameter of the wrong type */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed: bad action, target_type, target_id, actor_id, page or size */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    admin_list_events: {
        parameters: {
            query?: {
                /** @description Only events in this state (all when absent). */
                status?: "upcoming" | "live" | "sold_out" | "ended" | "closed";
                /** @description Part of the title, any case; `%` and `_` are taken literally. */
                q?: string;
                /** @description Page number, from 1. */
                page?: number;
                /** @description Items per page. */
                size?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminEventPage"];
                };
            };
            /** @description invalid_query: a query parameter of the wrong type */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed: bad status, q, page or size */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    create_event: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewEvent"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminEventView"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed with per-field errors */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    admin_get_event: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminEventView"];
                };
            };
            /** @description unauthorized (no token), invalid_token or token_expired */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    patch_event: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EventPatch"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminEventView"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unauthorized (no token), invalid_token or token_expired */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description stock_below_issued, limit_below_held, event_ended or event_started */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    close_event: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminEventView"];
                };
            };
            /** @description unauthorized (no token), invalid_token or token_expired */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    event_coupons: {
        parameters: {
            query?: {
                /** @description Code prefix to search for (case-insensitive; `%` and `_` taken literally). */
                code?: string;
                /** @description Page number, from 1. */
                page?: number;
                /** @description Items per page. */
                size?: number;
            };
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CouponPage"];
                };
            };
            /** @description invalid_query: a query parameter of the wrong type */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unauthorized (no token), invalid_token or token_expired */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed: bad page, size or code */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    export_coupons: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description text/csv: code,user_id,issued_at,redeemed_at (RFC 3339, empty when not redeemed), one line per coupon, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/csv": unknown;
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited: too many exports running */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    admin_draw: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminDrawView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    draw_now: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminDrawView"];
                };
            };
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminDrawView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw, entries_open, event_not_started or beacon_missing */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    admin_room: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminRoomView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_queued */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    disable_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserStatus"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description user_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description cannot_disable_admin */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    enable_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserStatus"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description user_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    jwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description JWK set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenPair"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description invalid_credentials */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description account_disabled: the password is right, but an admin disabled the account */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed (with per-field errors) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited: per client address; or too many failed logins on this account from this address, or from many addresses while this one has not signed in to it lately (Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable: too many passwords being checked, or the account store is down (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed (with per-field errors) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    refresh_tokens: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenPair"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description invalid_token: the refresh token is unknown, expired, revoked or already used */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed (with per-field errors) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (per client address; Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable: the account store is down (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    signup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SignupRequest"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description email_taken */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (per client address; Retry-After) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable: too many passwords being checked, or the account store is down (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    list_events: {
        parameters: {
            query?: {
                /**
                 * @description `current` (the default: live and upcoming, live first), `live`,
                 *     `upcoming` or `ended` (most recently ended first).
                 */
                status?: "current" | "live" | "upcoming" | "ended";
                /** @description Page number, from 1. */
                page?: number;
                /** @description Items per page. */
                size?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventPage"];
                };
            };
            /** @description invalid_query: a query parameter of the wrong type */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description validation_failed: bad status, page or size */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    get_event: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventView"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    draw_state: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DrawView"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (the gateway, per client address) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    draw_proof: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueueProof"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw or not_drawn */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (the gateway, per client address) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    enter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EntryView"];
                };
            };
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EntryView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description account_too_new */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw, entries_not_open, entries_closed or entries_full */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_ended */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    my_entry: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EntryView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found or not_entered */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (the gateway, per client address) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    withdraw: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found or not_entered */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_a_draw or entries_closed */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    room: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomView"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_queued */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (the gateway, per client address) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    join: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PlaceView"];
                };
            };
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PlaceView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description account_too_new */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_queued, queue_not_open or queue_full */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description sold_out or event_ended */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    my_place: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PlaceView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found or not_in_queue */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_queued */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (the gateway, per client address) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    leave: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found or not_in_queue */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_queued, or claim_in_progress (the claim is being written) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    queue_proof: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueueProof"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_queued or queue_not_drawn */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited (the gateway, per client address) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    issue: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1-255 visible ASCII characters */
                "Idempotency-Key"?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["IssueRequest"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Issued"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description not_admitted (a queued sale) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description event_not_started or user_limit_reached */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description sold_out or event_ended */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description idempotency_key_reused or validation_failed */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    my_coupons: {
        parameters: {
            query?: {
                /** @description Page number, from 1. */
                page?: number;
                /** @description Items per page. */
                size?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page"];
                };
            };
            /** @description invalid_query: a query parameter of the wrong type */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    redeem: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                code: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RedeemRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Redeemed"];
                };
            };
            /** @description malformed_json or malformed_body */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unauthorized (no token), invalid_token or token_expired */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description coupon_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description coupon_used */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description coupon_expired */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description payload_too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description unsupported_media_type: the body must be application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description min_purchase_not_met or validation_failed */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
            /** @description rate_limited */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    metrics_endpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": unknown;
                };
            };
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorEnvelope"];
                };
            };
        };
    };
}
