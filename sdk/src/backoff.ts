/** Reconnect delays: exponential, capped, with full jitter. */
export interface BackoffOptions {
  /** The first delay's ceiling, ms (default 500). */
  baseMs?: number;
  /** The largest ceiling, ms (default 20,000). */
  capMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 500, capMs: 20_000 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry):
 * uniform in [0, min(cap, base · 2^attempt)] ("full jitter"), so a crowd
 * dropped by one server restart does not come back in step.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const cap = opts.capMs ?? DEFAULT_BACKOFF.capMs;
  // 2^31 is far past any cap; the min keeps the power finite.
  const ceiling = Math.min(cap, base * 2 ** Math.min(31, Math.max(0, Math.floor(attempt))));
  return Math.round(random() * ceiling);
}

/** The first attempt whose ceiling reaches the cap: where "back off hard" starts. */
export function attemptsToCap(opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const cap = opts.capMs ?? DEFAULT_BACKOFF.capMs;
  return base > 0 ? Math.max(0, Math.ceil(Math.log2(cap / base))) : 0;
}
