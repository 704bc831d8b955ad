// The admin's event form as data: its fields, an event → the values the form
// shows, and the values → the body of POST / PATCH (tested in
// event-form.test.ts). Times are typed in the operator's zone and sent as UTC.

import type { AdminEvent, Admission } from '../lib/api';
import type { FieldSpec } from '../lib/auth-forms';
import { localInputToUtc, localZoneLabel, utcToLocalInput } from '../lib/time';

const zone = localZoneLabel();

/** Fields that only mean something for some admissions: shown, and sent, only with those. */
const ADMISSION_FIELDS: Record<string, readonly Admission[]> = {
  queue_opens_at: ['queue'],
  entry_opens_at: ['draw'],
  entry_closes_at: ['draw'],
  draw_at: ['draw'],
  draw_beacon_round: ['draw'],
  draw_beacon: ['draw'],
  claim_window_secs: ['queue', 'draw'],
  queue_only_existing_accounts: ['queue', 'draw'],
};

/** The fields shown or hidden with the admission. */
export const ADMISSION_FIELD_NAMES = Object.keys(ADMISSION_FIELDS);

/** Whether a field applies to an event of this admission (those of every admission always do). */
export function fieldApplies(name: string, admission: string): boolean {
  const modes = ADMISSION_FIELDS[name];
  return !modes || (modes as readonly string[]).includes(admission);
}

export const EVENT_FIELDS: FieldSpec[] = [
  { name: 'title', label: 'Title', required: true, wide: true, attrs: { maxlength: 200 } },
  { name: 'description', label: 'Description', multiline: true, wide: true, hint: 'Shown on the sale page. Up to 2000 characters.' },
  { name: 'total_count', label: 'Total coupons', type: 'number', required: true, attrs: { min: 1, step: 1, inputmode: 'numeric' } },
  { name: 'max_per_user', label: 'Limit per person', type: 'number', required: true, attrs: { min: 1, step: 1, inputmode: 'numeric' } },
  { name: 'start_time', label: 'Starts', type: 'datetime-local', required: true, hint: `Your local time, ${zone}.`, attrs: { step: 1 } },
  { name: 'end_time', label: 'Ends', type: 'datetime-local', required: true, hint: `Your local time, ${zone}.`, attrs: { step: 1 } },
  { name: 'discount_type', label: 'Discount type', required: true, options: [['percentage', 'Percentage'], ['fixed', 'Fixed amount']] },
  { name: 'discount_value', label: 'Discount', type: 'number', required: true, hint: '1–100 for a percentage; an amount in the currency’s minor unit for a fixed discount.', attrs: { min: 1, step: 1, inputmode: 'numeric' } },
  { name: 'min_purchase_amount', label: 'Minimum purchase', type: 'number', hint: '0 for none.', attrs: { min: 0, step: 1, inputmode: 'numeric' } },
  { name: 'valid_days', label: 'Valid for (days)', type: 'number', hint: 'How long a coupon can be used after it is issued.', attrs: { min: 1, step: 1, inputmode: 'numeric' } },
  { name: 'code_prefix', label: 'Code prefix', required: true, hint: '1–12 characters A–Z and 0–9; codes look like PREFIX-7KQ2M9XD.', attrs: { autocapitalize: 'characters', spellcheck: 'false', maxlength: 32 } },
  {
    name: 'admission',
    label: 'Admission',
    required: true,
    options: [['first_come', 'First come, first served'], ['queue', 'Waiting room (queue)'], ['draw', 'Draw (lottery among entries)']],
    hint: 'A waiting room admits people one by one in a fair, checkable order; a draw gives the coupons to entries drawn at random when entries close. Either way each holds a coupon for a while to claim it.',
  },
  { name: 'queue_opens_at', label: 'Queue opens', type: 'datetime-local', hint: `Optional; empty leaves it to the server’s default. Your local time, ${zone}.`, attrs: { step: 1 } },
  { name: 'entry_opens_at', label: 'Entries open', type: 'datetime-local', hint: `Optional; empty: when the event is created. Your local time, ${zone}.`, attrs: { step: 1 } },
  { name: 'entry_closes_at', label: 'Entries close', type: 'datetime-local', hint: `Required for a draw; at or before the draw. Your local time, ${zone}.`, attrs: { step: 1 } },
  { name: 'draw_at', label: 'Draw at', type: 'datetime-local', hint: `Optional; empty: when entries close or the sale starts, whichever is later. Before the end. Your local time, ${zone}.`, attrs: { step: 1 } },
  {
    name: 'draw_beacon_round',
    label: 'Beacon round',
    hint: 'Optional: names in advance a public random value not known when entries close (e.g. drand quicknet round 12345678); the draw waits until its value is entered.',
    attrs: { maxlength: 200, spellcheck: 'false' },
  },
  { name: 'draw_beacon', label: 'Beacon value (hex)', hint: 'The named round’s value, entered once it is public; can be changed until the draw.', attrs: { maxlength: 256, spellcheck: 'false', autocapitalize: 'none' } },
  { name: 'claim_window_secs', label: 'Time to claim (seconds)', type: 'number', hint: 'How long an admitted person (or a draw’s winner) holds a coupon before it goes to the next place. Empty: the server’s default.', attrs: { min: 1, step: 1, inputmode: 'numeric' } },
  {
    name: 'queue_only_existing_accounts',
    label: 'Who may join',
    options: [['false', 'Any account'], ['true', 'Only accounts that existed when the queue (or the entries) opened']],
  },
];

const NUMBER_FIELDS: readonly string[] = ['total_count', 'max_per_user', 'discount_value', 'min_purchase_amount', 'valid_days', 'claim_window_secs'];
const TIME_FIELDS: readonly string[] = ['start_time', 'end_time', 'queue_opens_at', 'entry_opens_at', 'entry_closes_at', 'draw_at'];
/** Text fields an empty value leaves out (the server's default, or nothing named). */
const OPTIONAL_TEXT: readonly string[] = ['draw_beacon_round', 'draw_beacon'];

/** An event's value for a form field: the queue's and the draw's settings sit in the event's `queue` and `draw` objects. */
function fieldValue(e: Partial<AdminEvent>, name: string): unknown {
  switch (name) {
    case 'queue_opens_at':
      return e.queue?.opens_at;
    case 'claim_window_secs':
      return e.queue?.claim_window_secs ?? e.draw?.claim_window_secs;
    case 'queue_only_existing_accounts':
      return e.queue?.only_existing_accounts ?? e.draw?.only_existing_accounts;
    case 'entry_opens_at':
    case 'entry_closes_at':
    case 'draw_at':
      return e.draw?.[name];
    case 'draw_beacon_round':
      return e.draw?.beacon_round;
    case 'draw_beacon':
      return e.draw?.beacon;
    default:
      return (e as Record<string, unknown>)[name];
  }
}

/** What the form shows for an event ('' for what it does not have). */
export function formValues(e: Partial<AdminEvent>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of EVENT_FIELDS) {
    const v = fieldValue(e, f.name);
    if (v === undefined || v === null) out[f.name] = '';
    else out[f.name] = TIME_FIELDS.includes(f.name) ? utcToLocalInput(String(v)) : String(v);
  }
  return out;
}

/**
 * Form values → API body. Empty optional fields are left out; what the
 * browser could not parse goes as typed (the server names it); the queue's
 * and the draw's settings go only with their admission.
 */
export function bodyFrom(values: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(values)) {
    const v = raw.trim();
    if (!fieldApplies(name, values.admission ?? '')) continue;
    if (OPTIONAL_TEXT.includes(name)) {
      if (v !== '') body[name] = v;
    } else if (NUMBER_FIELDS.includes(name)) {
      if (v === '') continue;
      const n = Number(v);
      body[name] = Number.isFinite(n) ? n : v;
    } else if (TIME_FIELDS.includes(name)) {
      if (v === '') continue;
      body[name] = localInputToUtc(v) ?? v;
    } else if (name === 'queue_only_existing_accounts') {
      body[name] = v === 'true';
    } else if (name === 'description') {
      body[name] = raw;
    } else if (name === 'admission') {
      if (v !== '') body[name] = v;
    } else {
      body[name] = v;
    }
  }
  return body;
}

/** The fields of `after` that differ from `before`: a PATCH sends only what the operator changed. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) if (before[k] !== v) change[k] = v;
  return change;
}
