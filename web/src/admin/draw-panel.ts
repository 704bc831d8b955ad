// The admin's live view of a draw event, read from
// GET /api/admin/events/{id}/draw every 2 s while the panel is on screen and
// the tab is visible (live-panel.ts): the counts, the admission rounds (the
// first draw, then each backfill), "Draw now", and the beacon's value, which
// the draw waits for when a beacon round was named.

import { type AdminDrawStats, type Api, ApiError } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setChildren, setText } from '../lib/dom';
import { formatLocal } from '../lib/time';
import { CLOSED, pollWhileVisible, stat as statOf } from './live-panel';

const REFRESH_MS = 2_000;

/** The refusals of "Draw now", in words; the code is shown with them. */
const DRAW_REFUSED: Record<string, string> = {
  entries_open: 'entries are still open; the draw can be made once they close.',
  event_not_started: 'the sale has not started; the draw can be made from its start.',
  beacon_missing: 'a beacon round was named and its value is not entered yet: enter it below first.',
};

/** What the draw waits for, or when it was made. */
export function drawState(s: AdminDrawStats): string {
  if (s.drawn) return `Drawn ${formatLocal(s.drawn_at)}.`;
  if (!s.sealed) return `Entries are open; the draw is at ${formatLocal(s.draw_at)}.`;
  if (s.beacon_round && !s.beacon) return `Entries are closed; the draw waits for the value of ${s.beacon_round}.`;
  return `Entries are closed; the draw is at ${formatLocal(s.draw_at)}.`;
}

/** A refused "Draw now" in plain words with its code. */
export function drawRefusal(e: unknown): string {
  if (e instanceof ApiError && e.status === 409) return `Not drawn (${e.code}): ${DRAW_REFUSED[e.code] ?? e.message}`;
  return `Could not draw: ${describeError(e)}`;
}

export interface AdminDrawPanel {
  section: HTMLElement;
  /** Shown for a draw event only; hidden, it reads nothing. */
  show(draw: boolean): void;
  destroy(): void;
}

export function adminDrawPanel(api: Api, eventId: number): AdminDrawPanel {
  const stat = (name: string, label: string) => statOf(`draw-${name}`, label);
  const parts = {
    entries: stat('entries', 'Entries'),
    winners: stat('winners', 'Winners so far'),
    held: stat('held', 'Holding a coupon'),
    claimed: stat('claimed', 'Claimed'),
    expired: stat('expired', 'Lapsed'),
    waitlisted: stat('waitlisted', 'On the waitlist'),
    withdrawn: stat('withdrawn', 'Withdrawn'),
  };
  const closed = h('p', { class: 'notice', hidden: true, 'data-testid': 'admin-draw-closed' });
  const state = h('p', { 'data-testid': 'admin-draw-state' });
  const rounds = h('ol', { 'data-testid': 'admin-draw-rounds' });
  const noRounds = h('p', { class: 'muted' }, 'No rounds yet.');
  const drawNow = h('button', { type: 'button', 'data-testid': 'admin-draw-now' }, 'Draw now');
  const drawMessage = h('p', { role: 'status', 'data-testid': 'admin-draw-message' });
  const beaconRound = h('p', { class: 'muted', 'data-testid': 'admin-draw-beacon-round' });
  const beaconInput = h('input', {
    id: 'admin-draw-beacon',
    name: 'draw_beacon',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'none',
    maxlength: 256,
    'aria-describedby': 'admin-draw-beacon-hint',
    'data-testid': 'admin-draw-beacon',
  });
  const beaconSave = h('button', { type: 'submit', class: 'secondary' }, 'Save beacon');
  const beaconMessage = h('p', { role: 'status', 'data-testid': 'admin-draw-beacon-message' });
  const beaconForm = h(
    'form',
    { 'aria-label': 'Beacon value', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'admin-draw-beacon' }, 'Beacon value (hex)'),
      h('div', { class: 'row' }, h('div', { class: 'grow' }, beaconInput), beaconSave),
      h('p', { class: 'hint', id: 'admin-draw-beacon-hint' }, 'The named round’s public value, once it is known; it can be changed until the draw.'),
    ),
    beaconMessage,
  );
  const info = h('p', { class: 'muted', role: 'status', 'data-testid': 'admin-draw-info' });
  const section = h(
    'section',
    { id: 'admin-draw', class: 'card', 'aria-labelledby': 'admin-draw-title', hidden: true, 'data-testid': 'admin-draw' },
    h('h2', { id: 'admin-draw-title' }, 'The draw'),
    closed,
    state,
    h('dl', { class: 'stats', 'aria-live': 'off', 'data-testid': 'admin-draw-stats' }, Object.values(parts).map(([box]) => box)),
    h('h3', {}, 'Rounds'),
    rounds,
    noRounds,
    h('div', { class: 'row' }, drawNow),
    drawMessage,
    beaconRound,
    beaconForm,
    info,
  );
  let last: AdminDrawStats | null = null;

  function render(s: AdminDrawStats): void {
    last = s;
    for (const key of Object.keys(parts) as (keyof typeof parts)[]) setText(parts[key][1], s[key].toLocaleString());
    setText(closed, s.closed_reason ? `The draw is closed: ${CLOSED[s.closed_reason] ?? s.closed_reason}.` : '');
    closed.hidden = !s.closed_reason;
    setText(state, drawState(s));
    const items = s.rounds.map((r, i) =>
      h('li', { 'data-round': i + 1 }, `${formatLocal(r.at)} — ${r.count.toLocaleString()} ${i === 0 ? 'drawn' : 'by backfill'}`),
    );
    if (rounds.childElementCount !== items.length) setChildren(rounds, items);
    rounds.hidden = items.length === 0;
    noRounds.hidden = items.length > 0;
    drawNow.hidden = s.drawn || Boolean(s.closed_reason);
    setText(beaconRound, s.beacon_round ? `Beacon round named: ${s.beacon_round}. Value: ${s.beacon ?? 'not entered yet'}.` : s.beacon ? `Beacon value: ${s.beacon}.` : 'No beacon round was named.');
    // The value can be entered until the draw; the field keeps what the operator is typing.
    beaconForm.hidden = s.drawn || Boolean(s.closed_reason);
  }

  async function read(): Promise<void> {
    try {
      render(await api.adminDraw(eventId));
      setText(info, `Updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      setText(info, `Could not read the draw: ${describeError(e)}`);
    }
  }

  const poll = pollWhileVisible(read, REFRESH_MS);

  drawNow.addEventListener('click', async () => {
    drawNow.disabled = true;
    setText(drawMessage, 'Drawing…');
    try {
      const s = await api.drawNow(eventId);
      const already = last?.drawn === true || s.drawn;
      render(s);
      setText(drawMessage, already ? 'Drawn.' : 'The draw is being made; it takes about a second.');
      // The draw lands within about a second: read it then rather than at the next tick.
      setTimeout(() => poll.now(), 1_200);
    } catch (e) {
      setText(drawMessage, drawRefusal(e));
    } finally {
      drawNow.disabled = false;
    }
  });

  beaconForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = beaconInput.value.trim();
    beaconSave.disabled = true;
    beaconInput.removeAttribute('aria-invalid');
    setText(beaconMessage, 'Saving…');
    try {
      await api.updateEvent(eventId, { draw_beacon: value });
      setText(beaconMessage, 'Beacon saved.');
      poll.now();
    } catch (err) {
      const field = err instanceof ApiError ? err.fields.draw_beacon : undefined;
      if (field) beaconInput.setAttribute('aria-invalid', 'true');
      setText(beaconMessage, field ? `Not saved: the beacon value ${field}.` : `Not saved: ${describeError(err)}`);
    } finally {
      beaconSave.disabled = false;
    }
  });

  return {
    section,
    show(draw) {
      section.hidden = !draw;
      poll.set(draw);
    },
    destroy: () => poll.destroy(),
  };
}
