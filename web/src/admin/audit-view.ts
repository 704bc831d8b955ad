// The audit trail in the admin panel: the "Audit trail" screen (#/audit,
// every admin action, newest first, filtered by action, target and admin,
// 20 a page) and an event page's "History" (that event's entries, 10 a
// page). Both are one paged table (table.ts) whose rows open, by click or
// keyboard, to what the action changed (audit.ts). Read-only: the trail has
// no edit or delete, here or in the API.

import type { Api, AuditEntry } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setChildren, setText } from '../lib/dom';
import { formatLocal } from '../lib/time';
import {
  AUDIT_ACTIONS,
  AUDIT_PAGE_SIZE,
  AUDIT_TARGETS,
  type AuditState,
  NO_AUDIT_FILTER,
  auditDiff,
  auditHash,
  auditQuery,
  changedSummary,
  formatAuditValue,
  readAuditFilter,
  targetTitle,
} from './audit';
import { pageRange } from './list-query';
import { type Column, dataTable, fullRow, latestOnly, pageCount, pager, simpleTable } from './table';

export interface AuditList {
  /** The status line, the table and the pager, in that order. */
  parts: HTMLElement[];
  load(): Promise<void>;
}

/**
 * A paged table of audit entries read with `query(page)`. `showTarget`: a
 * column naming the target (the trail; an event's history needs none).
 */
function auditList(
  api: Api,
  opts: {
    id: string;
    labelledBy: string;
    caption: string;
    size: number;
    showTarget: boolean;
    state(): AuditState;
    setPage(page: number): void;
    filtered(): boolean;
    empty: string;
  },
): AuditList {
  const columns: Column[] = [
    { label: 'Time', class: 'wrap' },
    { label: 'Admin id', class: 'num' },
    { label: 'Action' },
    ...(opts.showTarget ? [{ label: 'Target', class: 'wrap' as const }] : []),
    { label: 'Request id', class: 'wrap' },
    { label: 'Trace id', class: 'wrap' },
    { label: 'Changes', class: 'wrap' },
  ];
  const status = h('p', { class: 'muted', role: 'status', 'data-testid': `${opts.id}-info` }, 'Loading…');
  const { region, tbody } = dataTable({ testid: `${opts.id}-table`, caption: opts.caption, labelledBy: opts.labelledBy, columns });
  const nav = pager({
    label: `Pages of ${opts.caption.toLowerCase()}`,
    testid: opts.id,
    go: (delta) => opts.setPage(Math.max(1, opts.state().page + delta)),
  });
  const read = latestOnly();
  /** Rows opened stay open when the page is read again. */
  const opened = new Set<number>();

  function rows(entries: AuditEntry[]): Node[] {
    return entries.flatMap((e) => {
      const detailId = `${opts.id}-detail-${e.id}`;
      const isOpen = opened.has(e.id);
      const detail = h('tr', { id: detailId, class: 'audit-detail', hidden: !isOpen, 'data-detail-for': e.id }, h('td', { colspan: columns.length }, diffView(e)));
      const toggle = h(
        'button',
        { type: 'button', class: 'link disclosure', 'aria-expanded': String(isOpen), 'aria-controls': detailId, 'data-testid': 'audit-toggle' },
        h('span', { class: 'disclosure-mark', 'aria-hidden': 'true' }, '▸'),
        ' Changes',
        h('span', { class: 'visually-hidden' }, ` of entry ${e.id}`),
      );
      toggle.addEventListener('click', () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        detail.hidden = !open;
        if (open) opened.add(e.id);
        else opened.delete(e.id);
      });
      const title = targetTitle(e);
      const target =
        e.target_type === 'event'
          ? h('a', { href: `#/events/${e.target_id}` }, title ? `${title} (#${e.target_id})` : `Event #${e.target_id}`)
          : `Account #${e.target_id}`;
      const row = h(
        'tr',
        { 'data-audit-id': e.id, 'data-action': e.action },
        h('th', { scope: 'row', class: 'wrap', 'data-col': 'at' }, formatLocal(e.at)),
        h('td', { class: 'num', 'data-col': 'actor' }, e.actor_id),
        h('td', { 'data-col': 'action' }, h('span', { class: 'code' }, e.action)),
        opts.showTarget ? h('td', { class: 'wrap', 'data-col': 'target' }, target) : null,
        h('td', { class: 'wrap', 'data-col': 'request' }, h('span', { class: 'code id' }, e.request_id || '—')),
        h('td', { class: 'wrap', 'data-col': 'trace' }, h('span', { class: 'code id' }, e.trace_id || '—')),
        h('td', { class: 'wrap', 'data-col': 'changes' }, toggle, ' ', h('span', { class: 'muted' }, changedSummary(e))),
      );
      return [row, detail];
    });
  }

  async function load(): Promise<void> {
    const state = opts.state();
    status.setAttribute('aria-busy', 'true');
    try {
      const res = await read(() => api.auditTrail(auditQuery(state, opts.size)));
      if (!res) return; // a later read is under way
      const pages = pageCount(res.total, opts.size);
      if (res.items.length === 0 && state.page > pages) {
        // The list is shorter than the link said: show its last page.
        opts.setPage(pages);
        return;
      }
      setChildren(tbody, res.items.length ? rows(res.items) : fullRow(columns.length, opts.filtered() ? 'No entry matches this filter.' : opts.empty));
      const what = res.total === 1 ? 'entry' : 'entries';
      setText(
        status,
        res.total === 0
          ? opts.filtered()
            ? 'No entry matches this filter.'
            : opts.empty
          : `${pageRange(res.page, opts.size, res.items.length, res.total)} ${what}${opts.filtered() ? ' matching' : ''} · page ${res.page} of ${pages}`,
      );
      nav.update(res.page, pages);
      status.removeAttribute('aria-busy');
    } catch (e) {
      setText(status, `Could not load the audit trail: ${describeError(e)}`);
      status.removeAttribute('aria-busy');
    }
  }

  nav.update(1, 1);
  return { parts: [status, region, nav.el], load };
}

/** What an entry changed: the changed fields old → new, or the values of a creation. */
function diffView(e: AuditEntry): HTMLElement {
  const diff = auditDiff(e.before, e.after);
  if (diff.fields.length === 0) return h('p', { class: 'muted', 'data-testid': 'audit-diff' }, 'No field changed.');
  if (diff.kind === 'created') {
    const { table, tbody } = simpleTable({
      testid: 'audit-diff',
      class: 'diff',
      caption: 'Created with',
      captionShown: true,
      columns: [{ label: 'Field' }, { label: 'Value', class: 'wrap' }],
    });
    setChildren(
      tbody,
      diff.fields.map((f) =>
        h('tr', { 'data-field': f.field }, h('th', { scope: 'row' }, h('span', { class: 'code' }, f.field)), h('td', { class: 'wrap', 'data-side': 'after' }, formatAuditValue(f.after))),
      ),
    );
    return table;
  }
  const { table, tbody } = simpleTable({
    testid: 'audit-diff',
    class: 'diff',
    caption: 'What changed',
    captionShown: true,
    columns: [{ label: 'Field' }, { label: 'Before', class: 'wrap' }, { label: 'After', class: 'wrap' }],
  });
  setChildren(
    tbody,
    diff.fields.map((f) =>
      h(
        'tr',
        { 'data-field': f.field },
        h('th', { scope: 'row' }, h('span', { class: 'code' }, f.field)),
        h('td', { class: 'wrap', 'data-side': 'before' }, formatAuditValue(f.before)),
        h('td', { class: 'wrap', 'data-side': 'after' }, formatAuditValue(f.after)),
      ),
    ),
  );
  return table;
}

// --- the Audit trail screen ------------------------------------------------------

/** The screen at #/audit?…: filters, the paged table; the state is kept in the address. */
export function auditScreen(view: HTMLElement, api: Api, initial: AuditState, backHref: string): { destroy(): void } {
  document.title = 'Audit trail — Coupon admin';
  let state = initial;

  const field = (id: string, label: string, control: HTMLElement, hint?: string): [HTMLElement, HTMLElement] => {
    const error = h('p', { class: 'error', id: `${id}-error`, hidden: true });
    return [h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, error), error];
  };
  const action = h(
    'select',
    { id: 'audit-action', name: 'action', 'data-testid': 'audit-action' },
    h('option', { value: '' }, 'All actions'),
    AUDIT_ACTIONS.map(([value, label]) => h('option', { value }, `${label} (${value})`)),
  );
  const targetType = h(
    'select',
    { id: 'audit-target-type', name: 'target_type', 'data-testid': 'audit-target-type' },
    h('option', { value: '' }, 'Any'),
    AUDIT_TARGETS.map(([value, label]) => h('option', { value }, label)),
  );
  const idInput = (id: string, name: string) =>
    h('input', { id, name, type: 'text', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', size: 10, 'aria-describedby': `${id}-hint ${id}-error`, 'data-testid': id });
  const targetId = idInput('audit-target-id', 'target_id');
  const actorId = idInput('audit-actor-id', 'actor_id');
  const [actionBox] = field('audit-action', 'Action', action);
  const [typeBox] = field('audit-target-type', 'Target type', targetType);
  const [targetBox, targetError] = field('audit-target-id', 'Target id', targetId, 'With its type, e.g. event 12.');
  const [actorBox, actorError] = field('audit-actor-id', 'Admin id', actorId, "The admin's account id.");
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear filters');
  const filters = h(
    'form',
    { role: 'search', 'aria-label': 'Filter the audit trail', novalidate: true },
    h('div', { class: 'row filters' }, actionBox, typeBox, targetBox, actorBox),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Filter'), clear),
  );

  function fillForm(): void {
    action.value = state.action;
    targetType.value = state.target_type;
    targetId.value = state.target_id === null ? '' : String(state.target_id);
    actorId.value = state.actor_id === null ? '' : String(state.actor_id);
  }

  function showErrors(errors: Record<string, string>): void {
    const slots: [HTMLInputElement, HTMLElement, string][] = [
      [targetId, targetError, 'target_id'],
      [actorId, actorError, 'actor_id'],
    ];
    let first: HTMLInputElement | null = null;
    for (const [input, slot, name] of slots) {
      const message = errors[name];
      setText(slot, message ?? '');
      slot.hidden = !message;
      if (message) {
        input.setAttribute('aria-invalid', 'true');
        first ??= input;
      } else {
        input.removeAttribute('aria-invalid');
      }
    }
    first?.focus();
  }

  const list = auditList(api, {
    id: 'audit',
    labelledBy: 'audit-title',
    caption: 'Admin actions',
    size: AUDIT_PAGE_SIZE,
    showTarget: true,
    state: () => state,
    setPage: (page) => show({ ...state, page }),
    filtered: () => Boolean(state.action || state.target_type || state.target_id || state.actor_id),
    empty: 'No admin action recorded yet.',
  });

  /** Shows another filter or page without rebuilding the screen. */
  function show(next: AuditState): void {
    state = next;
    history.replaceState(null, '', auditHash(state));
    void list.load();
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const read = readAuditFilter({ action: action.value, target_type: targetType.value, target_id: targetId.value, actor_id: actorId.value });
    if ('errors' in read) {
      showErrors(read.errors);
      return;
    }
    showErrors({});
    show(read.state);
  });
  for (const select of [action, targetType]) select.addEventListener('change', () => filters.requestSubmit());
  clear.addEventListener('click', () => {
    state = NO_AUDIT_FILTER;
    fillForm();
    showErrors({});
    show(state);
  });
  const refresh = h('button', { type: 'button', class: 'secondary', 'data-testid': 'audit-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void list.load());

  setChildren(
    view,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'audit-title' },
      h('p', {}, h('a', { href: backHref }, '← All events')),
      h('div', { class: 'row spread' }, h('h1', { id: 'audit-title' }, 'Audit trail'), refresh),
      h('p', { class: 'muted' }, 'Every admin action, newest first: who did it, to what, from which request, and what it changed. Read-only.'),
      filters,
      list.parts,
    ),
  );
  fillForm();
  void list.load();
  return { destroy() {} };
}

// --- an event's history ----------------------------------------------------------

const HISTORY_PAGE_SIZE = 10;

/** The "History" section of an event's page: its audit entries, newest first. */
export function eventHistory(api: Api, eventId: number): { section: HTMLElement; reload(): void } {
  let state: AuditState = { ...NO_AUDIT_FILTER, target_type: 'event', target_id: eventId };
  const list = auditList(api, {
    id: 'history',
    labelledBy: 'history-title',
    caption: 'History of this event',
    size: HISTORY_PAGE_SIZE,
    showTarget: false,
    state: () => state,
    setPage: (page) => {
      state = { ...state, page };
      void list.load();
    },
    filtered: () => false,
    empty: 'No admin action recorded for this event yet.',
  });
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh', h('span', { class: 'visually-hidden' }, ' history'));
  refresh.addEventListener('click', () => void list.load());
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'history-title', 'data-testid': 'event-history' },
    h('div', { class: 'row spread' }, h('h2', { id: 'history-title' }, 'History'), refresh),
    h('p', { class: 'muted' }, 'What admins did to this event, newest first. ', h('a', { href: auditHash(state) }, 'Open in the audit trail'), '.'),
    list.parts,
  );
  void list.load();
  return { section, reload: () => void list.load() };
}
