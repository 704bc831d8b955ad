// The admin panel (/admin/): sign in as an admin, list events with live
// stats, create / edit / close events, browse issued coupons, read the audit
// trail of admin actions. Hash routes (#/, #/new, #/events/{id}, #/audit) so
// nginx needs nothing beyond /admin/index.html.
// Times are typed and shown in the operator's zone and sent as UTC.

import '../styles.css';
import { type AdminEvent, Api, ApiError, type EventFields, type EventStatus, describeDiscount } from '../lib/api';
import { type FormHandle, buildForm, describeError, renderAccount, renderAuthPanel } from '../lib/auth-forms';
import { $, h, renderConnection, setChildren, setText } from '../lib/dom';
import { PushClient } from '../lib/push';
import { Session } from '../lib/session';
import { formatLocal, localZoneLabel } from '../lib/time';
import { parseAuditQuery } from './audit';
import { auditScreen, eventHistory } from './audit-view';
import { couponExportControl } from './coupon-export';
import { adminDrawPanel } from './draw-panel';
import { ADMISSION_FIELD_NAMES, EVENT_FIELDS, bodyFrom, changedFields, fieldApplies, formValues } from './event-form';
import { ADMIN_STATUSES, type ListState, MAX_SEARCH, listHash, pageRange, parseListQuery } from './list-query';
import { adminQueuePanel } from './queue-panel';
import { dataTable, fullRow, latestOnly, pageCount, pager } from './table';

const api = new Api(new Session('coupon.admin.session'));
const session = api.session;
const view = $('#view');
const connEl = $('#conn');
const accountEl = $('#account');
setText($('#zone'), localZoneLabel());

let live = false;

interface Screen {
  destroy(): void;
  stock?(eventId: number, remaining: number, total: number): void;
  snapshot?(eventId: number, remaining: number, status: EventStatus): void;
  resync?(): void;
  liveChanged?(): void;
}
let screen: Screen | null = null;

const push = new PushClient(session, {
  state(state, detail) {
    live = state === 'live';
    renderConnection(connEl, state, detail);
    screen?.liveChanged?.();
  },
  stock: (d) => screen?.stock?.(d.eventId, d.remaining, d.total),
  soldOut: (d) => screen?.stock?.(d.eventId, 0, 0),
  subscribed: (f) => screen?.snapshot?.(f.event_id, f.remaining, f.status),
  // Another admin (or another tab) changed an event: show it now.
  updated: () => screen?.resync?.(),
  resync: () => screen?.resync?.(),
});

// --- routing -----------------------------------------------------------------

function route(): void {
  screen?.destroy();
  screen = null;
  if (!session.signedIn) {
    screen = signInScreen();
    return;
  }
  if (session.role !== 'ADMIN') {
    screen = notAdminScreen();
    return;
  }
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?', 2);
  const m = /^\/events\/(\d+)$/.exec(path);
  if (path === '/new') screen = createScreen();
  else if (path === '/audit') screen = auditScreen(view, api, parseAuditQuery(query), listHref);
  else if (m) screen = detailScreen(Number(m[1]));
  else screen = listScreen(parseListQuery(query));
}

window.addEventListener('hashchange', () => {
  route();
  $('#main').focus();
});

function go(hash: string): void {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function statusLabel(s: EventStatus): string {
  return { scheduled: 'Scheduled', active: 'On sale', sold_out: 'Sold out', ended: 'Ended' }[s] ?? s;
}

function badge(status: EventStatus): HTMLElement {
  return h('span', { class: 'badge', 'data-status': status, 'data-testid': 'status' }, statusLabel(status));
}

/** Status after a live stock change, by coupon-service's rules. */
function statusAfter(e: AdminEvent, remaining: number): EventStatus {
  const now = Date.now();
  if (e.closed_at || e.status === 'ended' || now >= Date.parse(e.end_time)) return 'ended';
  if (now < Date.parse(e.start_time)) return 'scheduled';
  return remaining <= 0 ? 'sold_out' : 'active';
}

// --- sign in -------------------------------------------------------------------

function signInScreen(): Screen {
  document.title = 'Sign in — Coupon admin';
  const section = h('section', { class: 'card', 'aria-labelledby': 'admin-signin-title' });
  setChildren(view, section);
  renderAuthPanel(section, api, {
    title: 'Admin sign in',
    allowSignup: false,
    intro: 'Sign in with an administrator account to set up and watch coupon sales.',
  });
  section.setAttribute('aria-labelledby', 'admin-signin-title');
  section.querySelector('h2')?.setAttribute('id', 'admin-signin-title');
  return { destroy() {} };
}

function notAdminScreen(): Screen {
  document.title = 'Not an admin — Coupon admin';
  setChildren(
    view,
    h(
      'section',
      { class: 'card', role: 'alert' },
      h('h1', {}, 'This account is not an administrator'),
      h('p', {}, 'Sign out and sign in with an admin account. Customers use the ', h('a', { href: '/' }, 'sale page'), '.'),
    ),
  );
  return { destroy() {} };
}

// --- event list ------------------------------------------------------------------

/** Events per page of the list. */
const LIST_PAGE_SIZE = 20;

/** Where "← All events" goes: the list as the operator left it. */
let listHref = '#/';

function listScreen(state: ListState): Screen {
  document.title = 'Events — Coupon admin';
  listHref = listHash(state);
  const status = h('p', { class: 'muted', role: 'status', 'data-testid': 'events-info' }, 'Loading…');
  const updated = h('p', { class: 'muted', 'data-testid': 'updated' });
  const statusSelect = h(
    'select',
    { id: 'events-status', name: 'status', 'data-testid': 'events-status' },
    h('option', { value: '' }, 'All'),
    ...ADMIN_STATUSES.map(([value, label]) => h('option', { value }, label)),
  );
  statusSelect.value = state.status;
  const search = h('input', {
    id: 'events-search',
    type: 'search',
    name: 'q',
    autocomplete: 'off',
    maxlength: MAX_SEARCH,
    'aria-describedby': 'events-search-hint',
    'data-testid': 'events-search',
  });
  search.value = state.q;
  const filters = h(
    'form',
    { role: 'search', 'aria-label': 'Filter events', class: 'row filters' },
    h('div', { class: 'field' }, h('label', { for: 'events-status' }, 'Status'), statusSelect),
    h(
      'div',
      { class: 'field grow' },
      h('label', { for: 'events-search' }, 'Title contains'),
      h('div', { class: 'row' }, h('div', { class: 'grow' }, search), h('button', { type: 'submit' }, 'Search')),
      h('p', { class: 'hint', id: 'events-search-hint' }, 'Any case, e.g. spring.'),
    ),
  );
  const { region, tbody } = dataTable({
    testid: 'events-table',
    caption: 'Events with live statistics',
    labelledBy: 'events-title',
    columns: [
      { label: 'Title', class: 'wrap' },
      { label: 'Status' },
      { label: 'Issued', class: 'num' },
      { label: 'Remaining', class: 'num' },
      { label: 'Redeemed', class: 'num' },
      { label: 'Stock', class: 'num' },
      { label: 'Starts', class: 'wrap' },
      { label: 'Ends', class: 'wrap' },
    ],
  });
  const nav = pager({ label: 'Pages of events', testid: 'events', go: (delta) => show({ page: Math.max(1, state.page + delta) }) });
  setChildren(
    view,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'events-title' },
      h(
        'div',
        { class: 'row spread' },
        h('h1', { id: 'events-title' }, 'Events'),
        h(
          'div',
          { class: 'row' },
          h('a', { class: 'button secondary', href: '#/audit', 'data-testid': 'audit-trail' }, 'Audit trail'),
          h('a', { class: 'button', href: '#/new', 'data-testid': 'new-event' }, 'New event'),
        ),
      ),
      h('p', { class: 'muted' }, 'Issued, remaining, redeemed and status update by themselves.'),
      filters,
      status,
      region,
      nav.el,
      updated,
    ),
  );
  let events: AdminEvent[] = [];
  const watching = new Set<number>();
  let timer: ReturnType<typeof setInterval> | undefined;
  /** Answers to older requests are dropped (a slow poll must not undo a filter change). */
  const read = latestOnly();

  /** Shows another filter, search or page without rebuilding the screen. */
  function show(change: Partial<ListState>): void {
    state = { ...state, ...change };
    listHref = listHash(state);
    history.replaceState(null, '', listHref);
    void load();
  }

  async function load(): Promise<void> {
    status.setAttribute('aria-busy', 'true');
    try {
      const res = await read(() =>
        api.adminEvents({
          status: state.status || undefined,
          q: state.q || undefined,
          page: state.page,
          size: LIST_PAGE_SIZE,
        }),
      );
      if (!res) return; // a later read is under way
      const pages = pageCount(res.total, LIST_PAGE_SIZE);
      if (res.items.length === 0 && state.page > pages) {
        // The list shrank under us (or a stale link): show its last page.
        show({ page: pages });
        return;
      }
      events = res.items;
      render();
      const filtered = state.status || state.q;
      const what = res.total === 1 ? 'event' : 'events';
      setText(
        status,
        res.total === 0
          ? filtered
            ? 'No event matches this filter.'
            : 'No events yet. Create the first one.'
          : `${pageRange(res.page, LIST_PAGE_SIZE, res.items.length, res.total)} ${what}${filtered ? ' matching' : ''} · page ${res.page} of ${pages}`,
      );
      nav.update(res.page, pages);
      setText(updated, `Updated ${new Date().toLocaleTimeString()}`);
      for (const e of events.filter((x) => x.status !== 'ended')) {
        if (!watching.has(e.id)) {
          watching.add(e.id);
          push.watch(e.id);
        }
      }
      status.removeAttribute('aria-busy');
    } catch (e) {
      setText(status, `Could not load events: ${describeError(e)}`);
      status.removeAttribute('aria-busy');
    }
  }

  function render(): void {
    setChildren(
      tbody,
      events.map((e) =>
        h(
          'tr',
          { 'data-event-id': e.id },
          h('th', { scope: 'row', class: 'wrap' }, h('a', { href: `#/events/${e.id}` }, e.title)),
          h('td', {}, badge(e.status)),
          h('td', { class: 'num', 'data-col': 'issued' }, e.issued_count.toLocaleString()),
          h('td', { class: 'num', 'data-col': 'remaining' }, e.remaining.toLocaleString()),
          h('td', { class: 'num', 'data-col': 'redeemed' }, e.redeemed_count.toLocaleString()),
          h('td', { class: 'num', 'data-col': 'total' }, e.total_count.toLocaleString()),
          h('td', { class: 'wrap' }, formatLocal(e.start_time)),
          h('td', { class: 'wrap' }, formatLocal(e.end_time)),
        ),
      ),
    );
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    show({ q: search.value.trim().slice(0, MAX_SEARCH), status: statusSelect.value as ListState['status'], page: 1 });
  });
  statusSelect.addEventListener('change', () => show({ status: statusSelect.value as ListState['status'], page: 1 }));

  function poll(): void {
    clearInterval(timer);
    // Issued/redeemed come from the database: a light poll; remaining and
    // status also arrive over the socket the moment they change.
    timer = setInterval(() => void load(), live ? 5_000 : 3_000);
  }

  void load();
  poll();
  return {
    destroy() {
      clearInterval(timer);
      for (const id of watching) push.unwatch(id);
    },
    liveChanged: poll,
    resync: () => void load(),
    stock(id, remaining) {
      const e = events.find((x) => x.id === id);
      if (!e) return;
      e.remaining = remaining;
      e.issued_count = Math.max(e.issued_count, e.total_count - remaining);
      e.status = statusAfter(e, remaining);
      render();
    },
    snapshot(id, remaining, st) {
      const e = events.find((x) => x.id === id);
      if (!e) return;
      e.remaining = remaining;
      e.status = st;
      render();
    },
  };
}

// --- the event form --------------------------------------------------------------

/** Puts an event's values in the form; what the event does not have keeps the form's own value. */
function fill(form: FormHandle, values: Record<string, string>): void {
  for (const [name, input] of form.inputs) {
    if (values[name]) input.value = values[name];
  }
  showAdmissionFields(form);
}

/** The queue's and the draw's settings are shown only with their admission (bodyFrom sends them only then). */
function showAdmissionFields(form: FormHandle): void {
  const admission = form.inputs.get('admission')?.value ?? '';
  for (const name of ADMISSION_FIELD_NAMES) {
    const box = form.inputs.get(name)?.closest<HTMLElement>('.field');
    if (box) box.hidden = !fieldApplies(name, admission);
  }
}

function buildEventForm(opts: Pick<Parameters<typeof buildForm>[0], 'id' | 'submitLabel' | 'onSubmit'>): FormHandle {
  const form = buildForm({ ...opts, fields: EVENT_FIELDS, grid: true });
  form.inputs.get('admission')?.addEventListener('change', () => showAdmissionFields(form));
  return form;
}

/** 409s of PATCH belong to a field; show them there. */
const CONFLICT_FIELD: Record<string, string> = {
  stock_below_issued: 'total_count',
  limit_below_held: 'max_per_user',
  event_started: 'start_time',
  admission_fixed: 'admission',
};

function showSaveError(form: FormHandle, e: unknown): void {
  if (e instanceof ApiError && e.status === 422 && Object.keys(e.fields).length) {
    form.showErrors(e.fields);
  } else if (e instanceof ApiError && e.status === 409 && CONFLICT_FIELD[e.code]) {
    const sentence = e.message.charAt(0).toUpperCase() + e.message.slice(1);
    form.showErrors({ [CONFLICT_FIELD[e.code]]: sentence }, 'This change is not allowed now.');
  } else {
    form.showMessage(describeError(e));
  }
}

function createScreen(): Screen {
  document.title = 'New event — Coupon admin';
  const form = buildEventForm({
    id: 'event-form',
    submitLabel: 'Create event',
    async onSubmit(f) {
      f.clearErrors();
      f.setBusy(true, 'Creating…');
      try {
        const created = await api.createEvent(bodyFrom(f.values()) as EventFields);
        flash = `Event “${created.title}” created.`;
        go(`#/events/${created.id}`);
      } catch (e) {
        showSaveError(f, e);
      } finally {
        f.setBusy(false);
      }
    },
  });
  const start = new Date(Date.now() + 60 * 60 * 1000);
  start.setSeconds(0, 0);
  start.setMinutes(0);
  fill(
    form,
    formValues({
      max_per_user: 1,
      discount_type: 'percentage',
      min_purchase_amount: 0,
      valid_days: 30,
      start_time: start.toISOString(),
      end_time: new Date(start.getTime() + 24 * 3600 * 1000).toISOString(),
      admission: 'first_come',
    }),
  );
  setChildren(
    view,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'new-title' },
      h('p', {}, h('a', { href: listHref }, '← All events')),
      h('h1', { id: 'new-title' }, 'New event'),
      form.form,
    ),
  );
  form.inputs.get('title')?.focus();
  return { destroy() {} };
}

/** A message shown once on the next screen ("Event created"). */
let flash = '';

// --- one event ---------------------------------------------------------------------

function detailScreen(id: number): Screen {
  let ev: AdminEvent | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  const title = h('h1', { id: 'event-title' }, 'Loading…');
  const statusEl = h('span');
  const stat = (name: string, label: string): [HTMLElement, HTMLElement] => {
    const dd = h('dd', { 'data-stat': name });
    return [h('div', {}, h('dt', {}, label), dd), dd];
  };
  const [issuedBox, issued] = stat('issued', 'Issued');
  const [remainingBox, remaining] = stat('remaining', 'Remaining');
  const [redeemedBox, redeemed] = stat('redeemed', 'Redeemed');
  const [totalBox, total] = stat('total', 'Total');
  const facts = h('p', { class: 'muted', 'data-testid': 'event-facts' });
  const message = h('p', { class: 'form-ok', role: 'status', hidden: true });

  const editForm = buildEventForm({
    id: 'edit-form',
    submitLabel: 'Save changes',
    async onSubmit(f) {
      if (!ev) return;
      f.clearErrors();
      // Only what changed: a PATCH of untouched fields could hit rules that
      // do not concern the change (e.g. the start of a running sale).
      const change = changedFields(bodyFrom(formValues(ev)), bodyFrom(f.values()));
      if (Object.keys(change).length === 0) {
        f.showMessage('Nothing to save — no field was changed.', 'ok');
        return;
      }
      f.setBusy(true, 'Saving…');
      try {
        ev = await api.updateEvent(id, change as EventFields);
        render(true);
        historyPanel.reload();
        f.showMessage(`Saved: ${Object.keys(change).join(', ')}.`, 'ok');
      } catch (e) {
        showSaveError(f, e);
      } finally {
        f.setBusy(false);
      }
    },
  });

  const closeArea = h('div', { class: 'row' });
  const closeMsg = h('p', { role: 'status', class: 'muted' });
  function renderClose(confirming: boolean): void {
    if (ev && (ev.closed_at || ev.status === 'ended')) {
      setChildren(closeArea, h('p', { 'data-testid': 'closed-note' }, ev.closed_at ? `Closed ${formatLocal(ev.closed_at)}.` : 'This sale has ended.'));
      return;
    }
    if (!confirming) {
      const b = h('button', { type: 'button', class: 'danger', 'data-testid': 'close-event' }, 'Close sale now');
      b.addEventListener('click', () => {
        renderClose(true);
        closeArea.querySelector<HTMLButtonElement>('[data-testid="confirm-close"]')?.focus();
      });
      setChildren(closeArea, b);
      return;
    }
    const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'confirm-close' }, 'Yes, close it now');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        ev = await api.closeEvent(id);
        setText(closeMsg, 'The sale is closed; issuing stopped everywhere.');
        render(false);
        historyPanel.reload();
      } catch (e) {
        setText(closeMsg, `Could not close: ${describeError(e)}`);
        renderClose(false);
      }
    });
    no.addEventListener('click', () => {
      renderClose(false);
      closeArea.querySelector<HTMLButtonElement>('button')?.focus();
    });
    setChildren(closeArea, h('p', {}, 'Close this sale? Nobody can get a coupon after this.'), yes, no);
  }

  const coupons = couponBrowser(id);
  const queue = adminQueuePanel(api, id);
  const draw = adminDrawPanel(api, id);
  const historyPanel = eventHistory(api, id);

  setChildren(
    view,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'event-title' },
      h('p', {}, h('a', { href: listHref }, '← All events')),
      message,
      h('div', { class: 'row spread' }, title, statusEl),
      h('dl', { class: 'stats', 'aria-live': 'off', 'data-testid': 'event-stats' }, issuedBox, remainingBox, redeemedBox, totalBox),
      facts,
    ),
    queue.section,
    draw.section,
    h('section', { class: 'card', 'aria-labelledby': 'edit-title' }, h('h2', { id: 'edit-title' }, 'Edit'), h('p', { class: 'muted' }, 'Raise the stock, move the end, change the texts. Only the fields you change are sent.'), editForm.form),
    h('section', { class: 'card', 'aria-labelledby': 'close-title' }, h('h2', { id: 'close-title' }, 'Close the sale'), closeArea, closeMsg),
    coupons.section,
    historyPanel.section,
  );
  if (flash) {
    setText(message, flash);
    message.hidden = false;
    flash = '';
  }

  function render(refill: boolean): void {
    if (!ev) return;
    document.title = `${ev.title} — Coupon admin`;
    setText(title, ev.title);
    setChildren(statusEl, badge(ev.status));
    setText(issued, ev.issued_count.toLocaleString());
    setText(remaining, ev.remaining.toLocaleString());
    setText(redeemed, ev.redeemed_count.toLocaleString());
    setText(total, ev.total_count.toLocaleString());
    setText(
      facts,
      `${describeDiscount(ev.discount_type, ev.discount_value)} · limit ${ev.max_per_user} per person · codes ${ev.code_prefix}-… · ` +
        `${formatLocal(ev.start_time)} → ${formatLocal(ev.end_time)}` +
        (ev.queue
          ? ` · waiting room from ${formatLocal(ev.queue.opens_at)}, ${ev.queue.claim_window_secs} s to claim` +
            (ev.queue.only_existing_accounts ? ', accounts from before it only' : '')
          : '') +
        (ev.draw
          ? ` · draw: entries ${formatLocal(ev.draw.entry_opens_at)} → ${formatLocal(ev.draw.entry_closes_at)}, drawn at ${formatLocal(ev.draw.draw_at)}, ` +
            `${ev.draw.claim_window_secs} s to claim` +
            (ev.draw.only_existing_accounts ? ', accounts from before entries opened only' : '') +
            (ev.draw.beacon_round ? `, beacon: ${ev.draw.beacon_round}` : '')
          : ''),
    );
    if (refill) fill(editForm, formValues(ev));
    queue.show(ev.admission === 'queue');
    draw.show(ev.admission === 'draw');
    renderClose(false);
  }

  async function load(refill: boolean): Promise<void> {
    try {
      const first = ev === null;
      ev = await api.adminEvent(id);
      render(refill);
      // A live snapshot that came before the event was dropped: ask again.
      if (first) push.watch(id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        setChildren(view, h('section', { class: 'card' }, h('h1', {}, 'Event not found'), h('p', {}, h('a', { href: '#/' }, 'Back to all events'))));
        clearInterval(timer);
      }
    }
  }

  function poll(): void {
    clearInterval(timer);
    timer = setInterval(() => void load(false), live ? 5_000 : 3_000);
  }

  void load(true);
  poll();
  push.watch(id);
  return {
    destroy() {
      clearInterval(timer);
      queue.destroy();
      draw.destroy();
      push.unwatch(id);
    },
    liveChanged: poll,
    resync: () => {
      void load(false);
      // Another admin's change (event.updated), or frames were missed.
      historyPanel.reload();
    },
    stock(eventId, left) {
      if (eventId !== id || !ev) return;
      ev.remaining = left;
      ev.issued_count = Math.max(ev.issued_count, ev.total_count - left);
      ev.status = statusAfter(ev, left);
      render(false);
    },
    snapshot(eventId, left, st) {
      if (eventId !== id || !ev) return;
      ev.remaining = left;
      ev.status = st;
      render(false);
    },
  };
}

// --- issued coupons ------------------------------------------------------------------

function couponBrowser(eventId: number): { section: HTMLElement } {
  const size = 20;
  let page = 1;
  let code = '';
  const info = h('p', { class: 'muted', role: 'status', 'data-testid': 'coupons-info' });
  const { region, tbody } = dataTable({
    testid: 'coupons-table',
    caption: 'Issued coupons',
    labelledBy: 'coupons-title',
    columns: [
      { label: 'Code' },
      { label: 'User', class: 'num' },
      { label: 'Status' },
      { label: 'Issued', class: 'wrap' },
      { label: 'Expires', class: 'wrap' },
      { label: 'Used', class: 'wrap' },
    ],
  });
  const nav = pager({
    label: 'Pages of issued coupons',
    go(delta) {
      page = Math.max(1, page + delta);
      void load();
    },
  });
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh', h('span', { class: 'visually-hidden' }, ' coupons'));
  const searchId = 'coupon-search';
  const search = h('input', { id: searchId, type: 'search', name: 'code', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'coupon-search-hint' });
  const form = h(
    'form',
    { role: 'search', 'aria-label': 'Search coupons by code' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: searchId }, 'Code starts with'),
      h('div', { class: 'row' }, h('div', { class: 'grow' }, search), h('button', { type: 'submit' }, 'Search')),
      h('p', { class: 'hint', id: 'coupon-search-hint' }, 'Case does not matter, e.g. SPRING-7K.'),
    ),
  );

  async function load(): Promise<void> {
    info.setAttribute('aria-busy', 'true');
    try {
      const res = await api.eventCoupons(eventId, page, size, code);
      const pages = pageCount(res.total, size);
      setChildren(
        tbody,
        res.items.length
          ? res.items.map((c) =>
              h(
                'tr',
                { 'data-code': c.code },
                h('td', { class: 'code' }, c.code),
                h('td', { class: 'num' }, c.user_id),
                h('td', {}, c.status),
                h('td', { class: 'wrap' }, formatLocal(c.issued_at)),
                h('td', { class: 'wrap' }, formatLocal(c.expires_at)),
                h('td', { class: 'wrap' }, formatLocal(c.used_at)),
              ),
            )
          : fullRow(6, code ? `No coupon code starts with “${code}”.` : 'No coupons issued yet.'),
      );
      const first = res.total ? (res.page - 1) * size + 1 : 0;
      const last = (res.page - 1) * size + res.items.length;
      setText(info, `${res.total.toLocaleString()} coupon${res.total === 1 ? '' : 's'}${code ? ` matching “${code}”` : ''} · showing ${first}–${last} · page ${res.page} of ${pages}`);
      nav.update(res.page, pages);
    } catch (e) {
      setText(info, `Could not load coupons: ${describeError(e)}`);
    } finally {
      info.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    code = search.value.trim();
    page = 1;
    void load();
  });
  refresh.addEventListener('click', () => void load());
  void load();
  const exporter = couponExportControl(api, eventId);

  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'coupons-title' },
    h('div', { class: 'row spread' }, h('h2', { id: 'coupons-title' }, 'Issued coupons'), h('div', { class: 'row' }, exporter.button, refresh)),
    exporter.message,
    form,
    info,
    region,
    nav.el,
  );
  return { section };
}

// --- session ------------------------------------------------------------------------

session.onChange((why) => {
  if (why === 'refreshed') return;
  renderAccount(accountEl, api, session.role === 'ADMIN' ? 'Admin' : undefined);
  route();
});
renderAccount(accountEl, api, session.role === 'ADMIN' ? 'Admin' : undefined);
route();
push.start();
