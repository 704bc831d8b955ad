// The admin's live view of a queue event's waiting room, read from
// GET /api/admin/events/{id}/queue every 2 s while the panel is on screen and
// the tab is visible (live-panel.ts).

import type { AdminQueueStats, Api } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setText } from '../lib/dom';
import { CLOSED, pollWhileVisible, stat as statOf } from './live-panel';

const REFRESH_MS = 2_000;

export interface AdminQueuePanel {
  section: HTMLElement;
  /** Shown for a queue event only; hidden, it reads nothing. */
  show(queued: boolean): void;
  destroy(): void;
}

export function adminQueuePanel(api: Api, eventId: number): AdminQueuePanel {
  const stat = (name: string, label: string) => statOf(`queue-${name}`, label);
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
    try {
      render(await api.adminQueue(eventId));
      setText(info, `Updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      setText(info, `Could not read the waiting room: ${describeError(e)}`);
    }
  }

  const poll = pollWhileVisible(read, REFRESH_MS);

  return {
    section,
    show(queued) {
      section.hidden = !queued;
      poll.set(queued);
    },
    destroy: () => poll.destroy(),
  };
}
