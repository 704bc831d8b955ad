import { describe, expect, it } from 'vitest';
import { backoffMs } from './push';

describe('reconnect backoff', () => {
  it('starts at 0.5 s, doubles, caps at 30 s, jitter in [d/2, d]', () => {
    expect(backoffMs(0, () => 1)).toBe(500);
    expect(backoffMs(0, () => 0)).toBe(250);
    expect(backoffMs(1, () => 1)).toBe(1000);
    expect(backoffMs(3, () => 1)).toBe(4000);
    expect(backoffMs(20, () => 1)).toBe(30_000);
    expect(backoffMs(20, () => 0)).toBe(15_000);
  });
});
