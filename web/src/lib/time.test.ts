import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeCountdown, formatClock, formatCountdown, localInputToUtc, observeServerDate, serverNow, utcToLocalInput } from './time';

// Run these in a zone with an offset (see vitest env below) so local ≠ UTC.
describe('datetime-local ↔ UTC', () => {
  it('interprets the input in the local zone (TZ=Asia/Seoul: UTC+9)', () => {
    expect(new Date('2026-02-11T00:00:00Z').getTimezoneOffset()).toBe(-540);
    expect(localInputToUtc('2026-02-11T10:00')).toBe('2026-02-11T01:00:00Z');
    expect(localInputToUtc('2026-02-11T08:30:15')).toBe('2026-02-10T23:30:15Z');
  });

  it('shows a UTC instant as local input, seconds only when present', () => {
    expect(utcToLocalInput('2026-02-11T01:00:00Z')).toBe('2026-02-11T10:00');
    expect(utcToLocalInput('2026-02-10T23:30:15Z')).toBe('2026-02-11T08:30:15');
  });

  it('round-trips', () => {
    for (const v of ['2026-12-31T23:59', '2027-01-01T00:00:01', '2026-06-15T12:34:56']) {
      expect(utcToLocalInput(localInputToUtc(v) ?? '')).toBe(v);
    }
  });

  it('refuses what is not a date', () => {
    expect(localInputToUtc('')).toBeNull();
    expect(localInputToUtc('tomorrow')).toBeNull();
    expect(localInputToUtc('2026-02-30T10:00')).toBeNull();
    expect(utcToLocalInput('nope')).toBe('');
  });
});

describe('countdown', () => {
  it('formats', () => {
    expect(formatCountdown(0)).toBe('00:00');
    expect(formatCountdown(4_200)).toBe('00:05');
    expect(formatCountdown(65_000)).toBe('01:05');
    expect(formatCountdown(3_600_000)).toBe('01:00:00');
    expect(formatCountdown(90_061_000)).toBe('1d 01:01:01');
    expect(formatCountdown(-5)).toBe('00:00');
  });
  it('gives a time of day as HH:MM:SS in the local zone, 24-hour', () => {
    expect(formatClock('2026-02-11T05:03:22Z')).toBe('14:03:22');
    expect(formatClock('2026-02-11T15:00:09Z')).toBe('00:00:09');
    expect(formatClock('nope')).toBe('nope');
  });
  it('describes for screen readers', () => {
    expect(describeCountdown(125_000)).toBe('2 minutes 5 seconds');
    expect(describeCountdown(3_600_000)).toBe('1 hour');
    expect(describeCountdown(0)).toBe('0 seconds');
  });
});

describe('server clock', () => {
  afterEach(() => vi.useRealTimers());
  it('ignores sub-second skew and follows a large one', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-02-11T01:00:00.200Z'));
    observeServerDate('Wed, 11 Feb 2026 01:00:00 GMT', Date.now() - 100, Date.now());
    expect(serverNow()).toBe(Date.now());
    observeServerDate('Wed, 11 Feb 2026 01:02:00 GMT', Date.now() - 100, Date.now());
    expect(serverNow() - Date.now()).toBeGreaterThan(119_000);
    expect(serverNow() - Date.now()).toBeLessThan(121_000);
  });
});
