/**
 * @module domain/surge
 * The surge multiplier of a cell, from recent ride requests against the drivers available in
 * it, and the sliding window that counts those requests. A GeoCell DO keeps the timestamps;
 * this module only decides what they mean.
 *
 * Formula, with demand = recent requests and supply = available drivers:
 *
 *   demand = 0                 → 1.0  (nobody is waiting, nothing to price)
 *   supply = 0, demand > 0     → 3.0  (the cap: every request is unserved)
 *   otherwise, ratio = demand / supply
 *     ratio ≤ 1                → 1.0  (the neutral zone: a driver for every request)
 *     ratio > 1                → 1 + 0.5 × (ratio − 1), so 2 requests per driver price at 1.5,
 *                                3 at 2.0, and 5 or more reach the 3.0 cap
 *
 * then clamped to [1.0, 3.0] and rounded to one decimal, the precision a quote shows. The
 * result only grows with demand and only shrinks with supply.
 */

export const SURGE_MIN = 1.0;
export const SURGE_MAX = 3.0;
/** Requests per available driver that still price at 1.0. */
export const SURGE_NEUTRAL_RATIO = 1;
/** Multiplier added per request-per-driver above the neutral ratio. */
export const SURGE_SENSITIVITY = 0.5;

export type SurgeSignal = { recentRequests: number; availableDrivers: number };

// Counts come from storage; a negative or NaN one is a bug upstream, and pricing it as zero
// is safer than producing a NaN price.
const count = (n: number) => (Number.isNaN(n) || n < 0 ? 0 : n);

export function surgeMultiplier(signal: SurgeSignal): number {
  const demand = count(signal.recentRequests);
  const supply = count(signal.availableDrivers);
  if (demand === 0) return SURGE_MIN;
  if (supply === 0) return SURGE_MAX;
  const raw = 1 + SURGE_SENSITIVITY * (demand / supply - SURGE_NEUTRAL_RATIO);
  const bounded = Number.isFinite(raw) ? Math.min(SURGE_MAX, Math.max(SURGE_MIN, raw)) : SURGE_MAX;
  return Math.round(bounded * 10) / 10;
}

/** The timestamps still inside the window ending at `now`; later ones (clock skew) are kept. */
export function pruneWindow(timestamps: readonly number[], now: number, windowMs: number): number[] {
  const since = now - windowMs;
  return timestamps.filter((t) => t > since);
}

/** Records one request at `now`, dropping what fell out of the window. */
export function recordRequest(timestamps: readonly number[], now: number, windowMs: number): number[] {
  return [...pruneWindow(timestamps, now, windowMs), now];
}

/** How many requests the window ending at `now` holds. */
export function countInWindow(timestamps: readonly number[], now: number, windowMs: number): number {
  return pruneWindow(timestamps, now, windowMs).length;
}
