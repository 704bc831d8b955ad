// The admin event list's filter, page and search, kept in the hash
// (#/?status=live&q=spring&page=2) so a reload or a shared link shows the
// same list.

import type { AdminListStatus } from '../lib/api';

export const ADMIN_STATUSES: readonly [AdminListStatus, string][] = [
  ['upcoming', 'Upcoming'],
  ['live', 'On sale'],
  ['sold_out', 'Sold out'],
  ['ended', 'Ended'],
  ['closed', 'Closed early'],
];

/** The server refuses longer searches (422). */
export const MAX_SEARCH = 100;

export interface ListState {
  status: AdminListStatus | '';
  q: string;
  page: number;
}

/** The list state from the part of the hash after `?`; anything unknown falls back to the default. */
export function parseListQuery(query: string): ListState {
  const p = new URLSearchParams(query);
  const raw = p.get('status') ?? '';
  const status = ADMIN_STATUSES.some(([s]) => s === raw) ? (raw as AdminListStatus) : '';
  const page = Number(p.get('page'));
  return {
    status,
    q: (p.get('q') ?? '').trim().slice(0, MAX_SEARCH),
    page: Number.isInteger(page) && page >= 1 && page <= 10_000 ? page : 1,
  };
}

/** `#/` with the state's non-default values. */
export function listHash(state: ListState): string {
  const p = new URLSearchParams();
  if (state.status) p.set('status', state.status);
  if (state.q) p.set('q', state.q);
  if (state.page > 1) p.set('page', String(state.page));
  const s = p.toString();
  return s ? `#/?${s}` : '#/';
}

/** "41–60 of 75" style range of a page. */
export function pageRange(page: number, size: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return `0 of ${total.toLocaleString()}`;
  const first = (page - 1) * size + 1;
  return `${first.toLocaleString()}–${(first + shown - 1).toLocaleString()} of ${total.toLocaleString()}`;
}
