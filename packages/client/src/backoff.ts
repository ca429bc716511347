/**
 * @module client/backoff
 * Reconnect delays: exponential backoff with full jitter (a uniformly random delay between 0
 * and the exponential cap), so that clients dropped together by one outage do not all come
 * back at the same instant.
 */

export type BackoffOptions = {
  /** Cap of the first retry's delay. */
  initialDelayMs: number;
  /** Largest cap, however many attempts failed. */
  maxDelayMs: number;
};

/** The delay before retry number `attempt` (0 for the first retry); `random` returns [0, 1). */
export function fullJitter(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** A token bucket for outgoing frames, so that a reconnect's resend stays under the server's limit. */
export class RateBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes a token if one is there. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /** A fresh connection: the server's bucket for it starts full, so this one does too. */
  reset(): void {
    this.tokens = this.burst;
    this.at = this.now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
  }
}
