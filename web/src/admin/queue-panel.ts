// The admin's live view of a queue event's waiting room, read from
// GET /api/admin/events/{id}/queue every 2 s while the panel is on screen and
// the tab is visible. The counts come from the server, not from adding up
// frames: a panel opened mid-sale, or one that missed frames, is still right.

import type { AdminQueueStats, Api } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setText } from '../lib/dom';

const REFRESH_MS = 2_000;

const CLOSED: Record<string, string> = { sold_out: 'Sold out', ended: 'Ended', closed: 'Closed by an admin' };

export interface AdminQueuePanel {
  section: HTMLElement;
  /** Shown for a queue event only; hidden, it reads nothing. */
  show(queued: boolean): void;
  destroy(): void;
}

export function adminQueuePanel(api: Api, eventId: number): AdminQueuePanel {
  let shown = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let reading = false;

  const stat = (name: string, label: string): [HTMLElement, HTMLElement] => {
    const dd = h('dd', { 'data-stat': `queue-${name}` });
    return [h('div', {}, h('dt', {}, label), dd), dd];
  };
  const parts = {
    waiting: stat('waiting', 'Waiting'),
    admitted: stat('admitted', 'Holding a coupon'),
    claimed: stat('claimed', 'Claimed'),
    expired: stat('expired', 'Lapsed'),
    left: stat('left', 'Left'),
    serving: stat('serving', 'Serving up to'),
    rate: stat('rate', 'Admitted per second'),
  };
  const closed = h('p', { class: 'notice', hidden: true, 'data-testid': 'admin-queue-closed' });
  const info = h('p', { class: 'muted', role: 'status', 'data-testid': 'admin-queue-info' });
  const section = h(
    'section',
    { id: 'admin-queue', class: 'card', 'aria-labelledby': 'admin-queue-title', hidden: true, 'data-testid': 'admin-queue' },
    h('h2', { id: 'admin-queue-title' }, 'Waiting room'),
    closed,
    h('dl', { class: 'stats', 'aria-live': 'off', 'data-testid': 'admin-queue-stats' }, Object.values(parts).map(([box]) => box)),
    info,
  );

  function render(s: AdminQueueStats): void {
    setText(parts.waiting[1], s.waiting.toLocaleString());
    setText(parts.admitted[1], s.admitted.toLocaleString());
    setText(parts.claimed[1], s.claimed.toLocaleString());
    setText(parts.expired[1], s.expired.toLocaleString());
    setText(parts.left[1], s.left.toLocaleString());
    setText(parts.serving[1], s.serving > 0 ? `#${s.serving.toLocaleString()}` : '—');
    setText(parts.rate[1], s.admitted_per_second.toLocaleString(undefined, { maximumFractionDigits: 1 }));
    setText(closed, s.closed_reason ? `The queue is closed: ${CLOSED[s.closed_reason] ?? s.closed_reason}.` : '');
    closed.hidden = !s.closed_reason;
  }

  async function read(): Promise<void> {
    if (reading) return;
    reading = true;
    try {
      render(await api.adminQueue(eventId));
      setText(info, `Updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      setText(info, `Could not read the waiting room: ${describeError(e)}`);
    } finally {
      reading = false;
    }
  }

  /** Reads while on screen and visible; a tab in the background costs the server nothing. */
  function schedule(): void {
    clearInterval(timer);
    if (!shown || document.visibilityState !== 'visible') return;
    void read();
    timer = setInterval(() => void read(), REFRESH_MS);
  }

  document.addEventListener('visibilitychange', schedule);

  return {
    section,
    show(queued) {
      if (queued === shown) return;
      shown = queued;
      section.hidden = !queued;
      schedule();
    },
    destroy() {
      shown = false;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', schedule);
    },
  };
}
