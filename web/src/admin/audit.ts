// The audit trail of admin actions (GET /api/admin/audit, docs/contract.md
// §2.7 "The audit trail"): its filters and page kept in the hash
// (#/audit?action=event.update&target_type=event&target_id=12&page=2), the
// query the API is asked, and what a row shows of a change — the top-level
// fields of the target that changed, old → new (for a creation, the values it
// was created with). Pure: the screen is in audit-view.ts.

import type { AuditAction, AuditEntry, AuditQuery, AuditTargetType } from '../lib/api';
import { formatLocal } from '../lib/time';

export const AUDIT_ACTIONS: readonly [AuditAction, string][] = [
  ['event.create', 'Event created'],
  ['event.update', 'Event changed'],
  ['event.close', 'Event closed'],
  ['event.draw_now', 'Draw now'],
  ['user.disable', 'Account disabled'],
  ['user.enable', 'Account enabled'],
];

export const AUDIT_TARGETS: readonly [AuditTargetType, string][] = [
  ['event', 'Event'],
  ['user', 'Account'],
];

/** Entries per page of the audit trail. */
export const AUDIT_PAGE_SIZE = 20;
/** The server's bounds for every paged list (docs/contract.md §2.4). */
export const MAX_PAGE = 10_000;
export const MAX_PAGE_SIZE = 100;

export interface AuditState {
  action: AuditAction | '';
  target_type: AuditTargetType | '';
  target_id: number | null;
  actor_id: number | null;
  page: number;
}

export const NO_AUDIT_FILTER: AuditState = { action: '', target_type: '', target_id: null, actor_id: null, page: 1 };

/**
 * An account or event id as typed or linked: a whole number from 1 (and
 * exact in JavaScript), else null.
 */
export function parseId(raw: string | null | undefined): number | null {
  const s = (raw ?? '').trim();
  if (!/^\d{1,16}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

const isAction = (v: string): v is AuditAction => AUDIT_ACTIONS.some(([a]) => a === v);
const isTarget = (v: string): v is AuditTargetType => AUDIT_TARGETS.some(([t]) => t === v);

/** The state from the part of the hash after `?`; anything unknown or out of range falls back to the default. */
export function parseAuditQuery(query: string): AuditState {
  const p = new URLSearchParams(query);
  const action = p.get('action') ?? '';
  const target = p.get('target_type') ?? '';
  const page = Number(p.get('page'));
  const state: AuditState = {
    action: isAction(action) ? action : '',
    target_type: isTarget(target) ? target : '',
    target_id: parseId(p.get('target_id')),
    actor_id: parseId(p.get('actor_id')),
    page: Number.isInteger(page) && page >= 1 && page <= MAX_PAGE ? page : 1,
  };
  // An id alone is ambiguous (event and account ids overlap): the server refuses it.
  if (state.target_id !== null && !state.target_type && !state.action) state.target_id = null;
  return state;
}

/** `#/audit` with the state's non-default values (the order the API's query has). */
export function auditHash(state: AuditState): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(auditQuery(state))) if (k !== 'size') p.set(k, String(v));
  if (state.page <= 1) p.delete('page');
  const s = p.toString();
  return s ? `#/audit?${s}` : '#/audit';
}

/**
 * The API query for a state: only the filters that are set and valid (ids
 * from 1; a target id only with its type or an action), the page within
 * 1–10,000 and the size within 1–100.
 */
export function auditQuery(state: AuditState, size = AUDIT_PAGE_SIZE): AuditQuery {
  const q: AuditQuery = {};
  if (state.action) q.action = state.action;
  if (state.target_type) q.target_type = state.target_type;
  const validId = (n: number | null): n is number => n !== null && Number.isSafeInteger(n) && n >= 1;
  if (validId(state.target_id) && (state.target_type || state.action)) q.target_id = state.target_id;
  if (validId(state.actor_id)) q.actor_id = state.actor_id;
  q.page = Number.isInteger(state.page) ? Math.min(Math.max(state.page, 1), MAX_PAGE) : 1;
  q.size = Number.isInteger(size) ? Math.min(Math.max(size, 1), MAX_PAGE_SIZE) : AUDIT_PAGE_SIZE;
  return q;
}

/** The filter form's values → the state (page 1), or the message of each field that is wrong. */
export function readAuditFilter(values: {
  action: string;
  target_type: string;
  target_id: string;
  actor_id: string;
}): { state: AuditState } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const targetId = parseId(values.target_id);
  const actorId = parseId(values.actor_id);
  if (values.target_id.trim() && targetId === null) errors.target_id = 'Enter a whole number from 1.';
  else if (targetId !== null && !values.target_type && !values.action) {
    errors.target_id = 'Choose the target type too: event and account ids overlap.';
  }
  if (values.actor_id.trim() && actorId === null) errors.actor_id = 'Enter a whole number from 1.';
  if (Object.keys(errors).length) return { errors };
  return {
    state: {
      action: isAction(values.action) ? values.action : '',
      target_type: isTarget(values.target_type) ? values.target_type : '',
      target_id: targetId,
      actor_id: actorId,
      page: 1,
    },
  };
}

// --- what changed ---------------------------------------------------------------

export interface FieldChange {
  field: string;
  /** Absent for a creation (and for a field the target did not have). */
  before?: unknown;
  after?: unknown;
}

export interface AuditDiff {
  /** `created`: no `before` (the values it was created with); `changed`: the fields that differ. */
  kind: 'created' | 'changed';
  fields: FieldChange[];
}

/** Written by every change of an event: listed after the fields the admin changed. */
const BOOKKEEPING = ['updated_at', 'state_version'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Equal as JSON values (object keys in any order: PostgreSQL's JSONB reorders them). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return false;
}

const byField = (a: string, b: string): number =>
  Number(BOOKKEEPING.includes(a)) - Number(BOOKKEEPING.includes(b)) || (a < b ? -1 : a > b ? 1 : 0);

/**
 * The top-level fields of the target that changed, old → new, by name (the
 * bookkeeping `updated_at` and `state_version` last). A creation lists the
 * values it was created with, leaving out the empty (null) ones. A field
 * missing on one side counts as null.
 */
export function auditDiff(before: unknown, after: unknown): AuditDiff {
  const b = isObject(before) ? before : null;
  const a = isObject(after) ? after : null;
  if (!b) {
    const fields = Object.entries(a ?? {})
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([field, v]) => ({ field, after: v }));
    return { kind: 'created', fields: fields.sort((x, y) => byField(x.field, y.field)) };
  }
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a ?? {})])];
  const fields: FieldChange[] = [];
  for (const field of keys.sort(byField)) {
    const old = b[field] ?? null;
    const now = a?.[field] ?? null;
    if (!sameJson(old, now)) fields.push({ field, before: old, after: now });
  }
  return { kind: 'changed', fields };
}

/** The fields an entry changed, by name, without the bookkeeping ones ("total_count, end_time"). */
export function changedSummary(entry: Pick<AuditEntry, 'before' | 'after'>, max = 3): string {
  const d = auditDiff(entry.before, entry.after);
  if (d.kind === 'created') return 'created';
  const names = d.fields.map((f) => f.field).filter((f) => !BOOKKEEPING.includes(f));
  if (names.length === 0) return d.fields.length ? 'bookkeeping only' : 'nothing';
  return names.length > max ? `${names.slice(0, max).join(', ')} +${names.length - max}` : names.join(', ');
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Longest text shown of one value. */
export const MAX_VALUE_CHARS = 200;

const clip = (s: string): string => (s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s);

/**
 * One value of a diff for people: none as "—", an instant in the operator's
 * zone, text in quotes (so "" and leading spaces show), numbers and booleans
 * as they are, anything else as compact JSON; long values cut with "…".
 */
export function formatAuditValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return INSTANT.test(v) ? formatLocal(v) : `“${clip(v)}”`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return clip(JSON.stringify(v));
}

/** The label of an action ("Event changed"), or the action itself when unknown. */
export function actionLabel(action: string): string {
  return AUDIT_ACTIONS.find(([a]) => a === action)?.[1] ?? action;
}

/** The title an event's snapshot carries, if any (for the target's link). */
export function targetTitle(entry: Pick<AuditEntry, 'before' | 'after'>): string | null {
  for (const side of [entry.after, entry.before]) {
    if (isObject(side) && typeof side.title === 'string' && side.title) return side.title;
  }
  return null;
}
