/**
 * @module domain/matching
 * Which driver to offer a trip to first. The TripRoom DO gathers candidates from the GeoCell
 * DOs of the pickup cell and its ring; this ranks them, and the DO offers down the list one
 * driver at a time, or K at a time with batched offers (rooms/dispatch-saga.ts).
 */
import { type LatLng, type TravelModel, assertTravelModel, etaSec } from "./geo";

export type Candidate = {
  driverId: string;
  location: LatLng;
  /** When `location` was observed (ms since the epoch). */
  locationAt: number;
  /** Average stars, or null while the driver has no ratings. */
  rating: number | null;
  /** Share of recent offers accepted (0..1), or null without recent offers. */
  acceptanceRate: number | null;
  /** The tiers the driver serves (domain/tiers.ts); absent on rows from before tiers: the default tier. */
  tiers?: string[];
};

export type RankOptions = TravelModel & {
  now: number;
  /** A position older than this says little about where the driver is now. */
  staleAfterMs: number;
  /** Drivers who already declined, timed out or cancelled on this trip. */
  exclude: ReadonlySet<string>;
};

export type RankedDriver = { driverId: string; pickupEtaSec: number };

export const DEFAULT_STALE_AFTER_MS = 60_000;

/**
 * Stand-ins for drivers without history. A new driver should neither sink below every rated
 * driver (they would never get a first trip) nor jump above proven good ones: 4.5 stars and
 * 80% acceptance are about what an ordinary established driver has.
 */
export const NEUTRAL_RATING = 4.5;
export const NEUTRAL_ACCEPTANCE = 0.8;

type Scored = RankedDriver & { rating: number; acceptance: number };

// NaN would make the comparator inconsistent, so an unusable score counts as no history.
const orNeutral = (x: number | null, neutral: number) => (x !== null && Number.isFinite(x) ? x : neutral);

/**
 * Ordered by pickup ETA, then rating, then acceptance (both higher first), then driverId so
 * that the same inputs always give the same order. Stale and excluded drivers are dropped; a
 * driver listed twice (seen in two cells while crossing a border) counts once, at the freshest
 * position.
 */
export function rankCandidates(candidates: readonly Candidate[], pickup: LatLng, options: RankOptions): RankedDriver[] {
  assertTravelModel(options);
  const freshest = new Map<string, Candidate>();
  for (const c of candidates) {
    if (options.exclude.has(c.driverId)) continue;
    if (options.now - c.locationAt > options.staleAfterMs) continue;
    const seen = freshest.get(c.driverId);
    if (seen === undefined || c.locationAt > seen.locationAt) freshest.set(c.driverId, c);
  }

  const scored: Scored[] = [];
  for (const c of freshest.values()) {
    const pickupEtaSec = etaSec(c.location, pickup, options);
    // A corrupt position (NaN) would poison the sort; such a driver cannot be ranked.
    if (!Number.isFinite(pickupEtaSec)) continue;
    scored.push({
      driverId: c.driverId,
      pickupEtaSec,
      rating: orNeutral(c.rating, NEUTRAL_RATING),
      acceptance: orNeutral(c.acceptanceRate, NEUTRAL_ACCEPTANCE),
    });
  }

  scored.sort(
    (a, b) =>
      a.pickupEtaSec - b.pickupEtaSec ||
      b.rating - a.rating ||
      b.acceptance - a.acceptance ||
      (a.driverId < b.driverId ? -1 : a.driverId > b.driverId ? 1 : 0),
  );
  return scored.map(({ driverId, pickupEtaSec }) => ({ driverId, pickupEtaSec }));
}
