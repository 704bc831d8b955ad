// What the admin's two live panels share, the waiting room's (queue-panel.ts)
// and the draw's (draw-panel.ts): their labelled counts, the reasons a room
// closes, and reading the numbers every few seconds while the panel is on
// screen and the tab is visible — a tab in the background costs the server
// nothing. The counts come from the server, not from adding up frames, so a
// panel opened mid-sale, or one that missed frames, is still right.

import { h } from '../lib/dom';

/** Why a waiting room or a draw closed, in words. */
export const CLOSED: Record<string, string> = {
  sold_out: 'Sold out',
  ended: 'Ended',
  closed: 'Closed by an admin',
  exhausted: 'Every entry had its turn, coupons are left',
};

/** A labelled count (`<dt>`/`<dd>`, the value marked `data-stat`): the box and the value. */
export function stat(name: string, label: string): [HTMLElement, HTMLElement] {
  const dd = h('dd', { 'data-stat': name });
  return [h('div', {}, h('dt', {}, label), dd), dd];
}

export interface VisiblePoll {
  /** On: read now and every `everyMs`; off: read nothing. */
  set(on: boolean): void;
  /** Read once now (after an action), unless a read is under way. */
  now(): void;
  destroy(): void;
}

export function pollWhileVisible(read: () => Promise<void>, everyMs: number): VisiblePoll {
  let on = false;
  let reading = false;
  let timer: ReturnType<typeof setInterval> | undefined;

  async function once(): Promise<void> {
    if (reading) return;
    reading = true;
    try {
      await read();
    } finally {
      reading = false;
    }
  }

  function schedule(): void {
    clearInterval(timer);
    if (!on || document.visibilityState !== 'visible') return;
    void once();
    timer = setInterval(() => void once(), everyMs);
  }

  document.addEventListener('visibilitychange', schedule);

  return {
    set(next) {
      if (next === on) return;
      on = next;
      schedule();
    },
    now() {
      void once();
    },
    destroy() {
      on = false;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', schedule);
    },
  };
}
