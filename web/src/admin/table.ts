// What the admin panel's paged tables share (the events list, an event's
// issued coupons and its history, the audit trail): the table in its
// scrolling region, with a caption and column headers; the pager under it;
// and the page read that lets only the latest answer through.

import type { Page } from '../lib/api';
import { h } from '../lib/dom';

export interface Column {
  label: string;
  /** `num`: right-aligned figures; `wrap`: may wrap (titles, times, ids). */
  class?: 'num' | 'wrap';
  /** Read by screen readers only (a column of buttons). */
  hiddenLabel?: boolean;
}

export interface DataTable {
  /** The scrolling region (labelled, focusable: a keyboard can scroll a wide table). */
  region: HTMLElement;
  table: HTMLTableElement;
  tbody: HTMLTableSectionElement;
}

/** A table with a caption and column headers; its rows go into `tbody`. */
export function simpleTable(opts: { testid?: string; caption: string; captionShown?: boolean; class?: string; columns: Column[] }): {
  table: HTMLTableElement;
  tbody: HTMLTableSectionElement;
} {
  const tbody = h('tbody');
  const table = h(
    'table',
    { 'data-testid': opts.testid, class: opts.class },
    h('caption', { class: opts.captionShown ? undefined : 'visually-hidden' }, opts.caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        opts.columns.map((c) =>
          h('th', { scope: 'col', class: c.class }, c.hiddenLabel ? h('span', { class: 'visually-hidden' }, c.label) : c.label),
        ),
      ),
    ),
    tbody,
  );
  return { table, tbody };
}

/** A list's table in its scrolling region, labelled by the section's heading. */
export function dataTable(opts: { testid: string; caption: string; labelledBy: string; columns: Column[] }): DataTable {
  const { table, tbody } = simpleTable(opts);
  const region = h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': opts.labelledBy, tabindex: 0 }, table);
  return { region, table, tbody };
}

/** One row across the whole table (nothing found, an error). */
export function fullRow(columns: number, text: string): HTMLTableRowElement {
  return h('tr', {}, h('td', { colspan: columns, class: 'wrap' }, text));
}

export interface Pager {
  el: HTMLElement;
  prev: HTMLButtonElement;
  next: HTMLButtonElement;
  /** Enables the buttons that lead somewhere. */
  update(page: number, pages: number): void;
}

/** Previous / next buttons in a labelled navigation (several pagers on one screen stay apart). */
export function pager(opts: {
  label: string;
  testid?: string;
  prevLabel?: string;
  nextLabel?: string;
  go(delta: -1 | 1): void;
}): Pager {
  const prev = h('button', { type: 'button', class: 'secondary', 'data-testid': opts.testid && `${opts.testid}-prev` }, opts.prevLabel ?? 'Previous page');
  const next = h('button', { type: 'button', class: 'secondary', 'data-testid': opts.testid && `${opts.testid}-next` }, opts.nextLabel ?? 'Next page');
  prev.addEventListener('click', () => opts.go(-1));
  next.addEventListener('click', () => opts.go(1));
  return {
    el: h('nav', { class: 'row pager', 'aria-label': opts.label }, prev, next),
    prev,
    next,
    update(page, pages) {
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    },
  };
}

/** Pages of a list (at least one, an empty list has one empty page). */
export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/**
 * Reads pages so that only the answer to the latest read is shown: a slow
 * read (a poll) must not undo a filter or page change made after it.
 * Resolves null for an answer that came too late.
 */
export function latestOnly(): <T>(read: () => Promise<Page<T>>) => Promise<Page<T> | null> {
  let latest = 0;
  return async (read) => {
    const ticket = ++latest;
    try {
      const res = await read();
      return ticket === latest ? res : null;
    } catch (e) {
      if (ticket === latest) throw e;
      return null;
    }
  };
}
