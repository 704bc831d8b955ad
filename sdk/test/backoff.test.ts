import { describe, expect, it } from 'vitest';
import { attemptsToCap, backoffDelay } from '../src/backoff.js';

describe('reconnect backoff', () => {
  it('is full jitter under a ceiling that doubles from 0.5 s to the 20 s cap', () => {
    expect(backoffDelay(0, {}, () => 1)).toBe(500);
    expect(backoffDelay(1, {}, () => 1)).toBe(1000);
    expect(backoffDelay(3, {}, () => 1)).toBe(4000);
    expect(backoffDelay(5, {}, () => 1)).toBe(16_000);
    expect(backoffDelay(6, {}, () => 1)).toBe(20_000);
    expect(backoffDelay(1000, {}, () => 1)).toBe(20_000);
    // Full jitter: anywhere from 0 up to the ceiling.
    expect(backoffDelay(6, {}, () => 0)).toBe(0);
    expect(backoffDelay(3, {}, () => 0.25)).toBe(1000);
  });

  it('takes its base and cap from the options', () => {
    expect(backoffDelay(0, { baseMs: 100, capMs: 1000 }, () => 1)).toBe(100);
    expect(backoffDelay(4, { baseMs: 100, capMs: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelay(2, { baseMs: 1000, capMs: 30_000 }, () => 0.5)).toBe(2000);
  });

  it('spreads a crowd over the whole window', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(8000);
    const early = delays.filter((d) => d < 4000).length;
    expect(early).toBeGreaterThan(800);
    expect(early).toBeLessThan(1200);
  });

  it('knows how many attempts reach the cap', () => {
    expect(attemptsToCap()).toBe(6);
    expect(attemptsToCap({ baseMs: 500, capMs: 500 })).toBe(0);
    expect(backoffDelay(attemptsToCap(), {}, () => 1)).toBe(20_000);
  });

  it('survives silly attempts', () => {
    expect(backoffDelay(-3, {}, () => 1)).toBe(500);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, {}, () => 1)).toBe(20_000);
  });
});
