/**
 * @module rooms/socket-guard
 * Per-connection abuse control: a token bucket for the frame rate and a sliding count of bad
 * frames. Pure and clock-injected. A guard lives in memory only: when a room hibernates its
 * guards are dropped and a socket starts again with a full bucket, which is harmless because a
 * room only hibernates after its sockets have been quiet for a while.
 */
import type { Config } from "../config";

export type GuardSettings = {
  ratePerSecond: number;
  burst: number;
  badFramesBeforeClose: number;
  badFrameWindowMs: number;
};

/** The guard's limits from the service's config (FRAME_RATE_PER_SECOND and the rest). */
export function guardSettings(config: Config): GuardSettings {
  return {
    ratePerSecond: config.FRAME_RATE_PER_SECOND,
    burst: config.FRAME_BURST,
    badFramesBeforeClose: config.BAD_FRAMES_BEFORE_CLOSE,
    badFrameWindowMs: config.BAD_FRAME_WINDOW_MS,
  };
}

export class SocketGuard {
  private tokens: number;
  private refilledAt: number;
  private badFrameTimes: number[] = [];

  constructor(
    private readonly settings: GuardSettings,
    now: number,
  ) {
    this.tokens = settings.burst;
    this.refilledAt = now;
  }

  /** Takes one token; false when the client is over its rate. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.settings.burst, this.tokens + (elapsed / 1000) * this.settings.ratePerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Records a bad frame; true when the client has now sent too many and must be closed. */
  recordBadFrame(now: number): boolean {
    const windowStart = now - this.settings.badFrameWindowMs;
    this.badFrameTimes = this.badFrameTimes.filter((t) => t > windowStart);
    this.badFrameTimes.push(now);
    return this.badFrameTimes.length > this.settings.badFramesBeforeClose;
  }
}
