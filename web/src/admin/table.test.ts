import { describe, expect, it } from 'vitest';
import type { Page } from '../lib/api';
import { latestOnly, pageCount } from './table';

const page = (n: number): Page<number> => ({ items: [n], page: n, size: 20, total: 100 });

describe('paged tables', () => {
  it('count at least one page', () => {
    expect(pageCount(0, 20)).toBe(1);
    expect(pageCount(20, 20)).toBe(1);
    expect(pageCount(21, 20)).toBe(2);
  });

  it('let only the latest read through: a slow read must not undo a later change', async () => {
    const read = latestOnly();
    let finishSlow: (p: Page<number>) => void = () => {};
    const slow = read(() => new Promise<Page<number>>((resolve) => (finishSlow = resolve)));
    const fast = read(async () => page(2));
    expect(await fast).toEqual(page(2));
    finishSlow(page(1));
    expect(await slow).toBeNull();
    // A failure of a read that was overtaken is dropped too; the latest one's is not.
    const failedLate = read(() => Promise.reject(new Error('old')));
    const latest = read(() => Promise.reject(new Error('new')));
    expect(await failedLate).toBeNull();
    await expect(latest).rejects.toThrow('new');
  });
});
