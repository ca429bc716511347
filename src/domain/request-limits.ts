/**
 * @module domain/request-limits
 * Whether a rider may request a trip now: at most `requestLimit` requests per
 * `requestWindowMs`, and a cool-down after repeated cancels that grows with each one. Both stop a
 * rider from pushing a cell's surge (or the dispatch loop) with request-and-cancel cycles, and
 * neither touches an honest rider, who requests a few rides an hour and cancels rarely. Pure:
 * the route reads the rider's recent activity from D1 in one query and asks here.
 */
import { z } from "zod";

export const RequestLimits = z.object({
  requestLimit: z.number().int().positive(),
  requestWindowMs: z.number().int().positive(),
  /** Cancels inside `cooldownWindowMs` that cost nothing; each one beyond starts a cool-down. */
  cooldownAfter: z.number().int().nonnegative(),
  cooldownWindowMs: z.number().int().positive(),
  cooldownBaseMs: z.number().int().positive(),
  cooldownMaxMs: z.number().int().positive(),
});
export type RequestLimits = z.infer<typeof RequestLimits>;

/** What the rider did lately: requests inside the request window, cancels inside the cool-down window. */
export type RiderActivity = {
  requests: number;
  oldestRequestAt: number | null;
  cancels: number;
  lastCancelAt: number | null;
};

export type Admission = { ok: true } | { ok: false; reason: "request_limit" | "cancel_cooldown"; retryAfterMs: number };

/**
 * The cool-down after `cancels` recent cancels: none up to `cooldownAfter`, then the base doubling per cancel, at most
 * the max.
 */
export function cancelCooldownMs(cancels: number, limits: RequestLimits): number {
  const beyond = cancels - limits.cooldownAfter;
  if (!(beyond > 0)) return 0;
  // 2^30 ms is twelve days: past any sensible max, and no overflow on the way there.
  return Math.min(limits.cooldownMaxMs, limits.cooldownBaseMs * 2 ** Math.min(beyond - 1, 30));
}

export function admitRequest(activity: RiderActivity, now: number, limits: RequestLimits): Admission {
  if (activity.cancels > limits.cooldownAfter && activity.lastCancelAt !== null) {
    const until = activity.lastCancelAt + cancelCooldownMs(activity.cancels, limits);
    if (now < until) return { ok: false, reason: "cancel_cooldown", retryAfterMs: until - now };
  }
  if (activity.requests >= limits.requestLimit) {
    // The oldest request leaves the window first; a rider over the limit by a race may need two tries.
    const freeAt = (activity.oldestRequestAt ?? now) + limits.requestWindowMs;
    return { ok: false, reason: "request_limit", retryAfterMs: Math.max(1, freeAt - now) };
  }
  return { ok: true };
}
