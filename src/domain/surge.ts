/**
 * @module domain/surge
 * The surge multiplier of a cell, from recent ride requests against the drivers available in
 * it, and the window that counts those requests (`DemandWindow`: distinct riders with a live
 * request). A GeoCell DO keeps the window; this module decides what it means.
 *
 * Formula, with demand = riders with a live recent request and supply = available drivers:
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

/** One ride request as the pickup's cell remembers it; `tier` the ride's (absent on requests from before tiers). */
export type DemandEntry = { riderId: string; at: number; withdrawn: boolean; tier?: string };

/**
 * The demand side of surge: the ride requests of a cell's recent window, counted as the
 * number of distinct riders with a live request. One rider who requests and cancels over and
 * over is one rider at most, and none once every request was withdrawn (called off inside the
 * free window): demand is people waiting for a car, not calls to the API. A withdrawal may
 * arrive before its request (both travel behind replies), so it is kept as a tombstone that the
 * late request cannot revive. Counting walks the window: a cell sees a few hundred requests in
 * ten minutes at most, so that costs microseconds and no storage read.
 */
export class DemandWindow {
  private readonly entries = new Map<string, DemandEntry>();

  constructor(private readonly windowMs: number) {}

  /** Records the request of trip `tripId`; a repeat or a request already withdrawn changes nothing. */
  record(tripId: string, riderId: string, at: number, tier?: string): DemandEntry | null {
    if (this.entries.has(tripId)) return null;
    const entry = { riderId, at, withdrawn: false, ...(tier === undefined ? {} : { tier }) };
    this.entries.set(tripId, entry);
    return entry;
  }

  /** The request of `tripId` no longer counts; true when that changed anything. */
  withdraw(tripId: string, at: number): DemandEntry | null {
    const entry = this.entries.get(tripId);
    if (entry?.withdrawn) return null;
    const withdrawn = {
      riderId: entry?.riderId ?? "",
      at: entry?.at ?? at,
      withdrawn: true,
      ...(entry?.tier === undefined ? {} : { tier: entry.tier }),
    };
    this.entries.set(tripId, withdrawn);
    return withdrawn;
  }

  /**
   * Distinct riders with a live request in the window ending at `now` (later ones, clock skew, count); with
   * `ofTier`, only requests whose tier it takes (surge per tier).
   */
  liveRiders(now: number, ofTier?: (tier: string | undefined) => boolean): number {
    const since = now - this.windowMs;
    const riders = new Set<string>();
    for (const entry of this.entries.values())
      if (!entry.withdrawn && entry.at > since && (ofTier === undefined || ofTier(entry.tier)))
        riders.add(entry.riderId);
    return riders.size;
  }

  /** Forgets what fell out of the window; returns the trip ids forgotten. */
  prune(now: number): string[] {
    const since = now - this.windowMs;
    const gone: string[] = [];
    for (const [tripId, entry] of this.entries) {
      if (entry.at > since) continue;
      this.entries.delete(tripId);
      gone.push(tripId);
    }
    return gone;
  }

  /** Puts back an entry read from storage after waking. */
  restore(tripId: string, entry: DemandEntry): void {
    this.entries.set(tripId, entry);
  }
}
