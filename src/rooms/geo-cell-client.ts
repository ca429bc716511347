/**
 * @module rooms/geo-cell-client
 * The calls the Worker and the trip room make to the GeoCell objects: an area's candidates
 * (one RPC per cell, the cells of a step in parallel; a cell that fails to answer counts as
 * empty rather than failing the whole search), and a trip's demand and status in its pickup
 * cell. Which cells to ask, and the ranking, are domain/area-search.ts's.
 */
import type { Config } from "../config";
import { bestFirst, CANDIDATES_PER_CELL, nearSearch, type AreaSnapshot, type SearchStep } from "../domain/area-search";
import { cellOf, type LatLng, searchCells } from "../domain/geo";
import { type Candidate, rankCandidates, type RankedDriver } from "../domain/matching";
import type { CellSnapshot, NearestQuery, TierSnapshot } from "./geo-cell";
import { geoCell } from "./stubs";

/** The drivers nearest to `point` in each of `cells` (`exclude` left out), with the supply and demand of `cells[0]`. */
async function snapshotCells(env: Env, cells: string[], now: number, nearest: NearestQuery): Promise<AreaSnapshot> {
  const snapshots = await Promise.all(
    cells.map((cell) =>
      geoCell(env, cell)
        .snapshot(now, nearest)
        .catch((): CellSnapshot => ({ drivers: [], availableDrivers: 0, recentRequests: 0 })),
    ),
  );
  const center = snapshots[0];
  return {
    drivers: snapshots.flatMap((s) => s.drivers),
    center: { availableDrivers: center?.availableDrivers ?? 0, recentRequests: center?.recentRequests ?? 0 },
  };
}

/** The candidates of a search, best first, asking the GeoCell objects of each step (see `bestFirst`). */
export function candidatesBestFirst(
  env: Env,
  config: Config,
  steps: readonly SearchStep[],
  now: number,
  query: NearestQuery,
  onPickupCell?: (pickupCell: AreaSnapshot["center"]) => void,
): AsyncGenerator<RankedDriver> {
  const options = {
    point: query.point,
    now,
    staleAfterMs: config.DRIVER_STALE_MS,
    exclude: query.exclude,
    travelModel: config.travelModel,
  };
  return bestFirst(steps, (cells) => snapshotCells(env, cells, now, query), options, onPickupCell);
}

/** What a quote needs of one tier near a pickup: the nearest ETA (null: no driver), and the pickup cell's counts. */
export type TierNearby = { pickupEtaSec: number | null; availableDrivers: number; recentRequests: number };

/**
 * A quote's search for several tiers at once: `nearSearch`'s steps, each cell asked once for all
 * the tiers still undecided (GeoCell's `tierSnapshot`), so the RPCs are those of a single-tier
 * search. A tier is decided by the pickup cell when its nearest driver there is within the cell's
 * edge bound; the ring is asked only for the rest. Supply and demand are counted per tier in the pickup cell.
 */
export async function nearbyByTier(
  env: Env,
  config: Config,
  point: LatLng,
  tiers: readonly string[],
  now: number,
): Promise<Record<string, TierNearby>> {
  const rank = (drivers: Candidate[]) =>
    rankCandidates(drivers, point, {
      ...config.travelModel,
      now,
      staleAfterMs: config.DRIVER_STALE_MS,
      exclude: new Set(),
    })[0];
  const result: Record<string, TierNearby> = {};
  const found = new Map<string, Candidate[]>(tiers.map((t) => [t, []]));
  let undecided = [...tiers];
  let first = true;
  for (const step of nearSearch(config, point)) {
    if (undecided.length === 0) break;
    const asked = undecided;
    const snapshots = await Promise.all(
      step.cells.map((cell) =>
        geoCell(env, cell)
          .tierSnapshot(now, point, asked, 1)
          .catch((): TierSnapshot => ({ byTier: {} })),
      ),
    );
    undecided = [];
    for (const tier of asked) {
      const drivers = (found.get(tier) ?? []).concat(snapshots.flatMap((s) => s.byTier[tier]?.drivers ?? []));
      found.set(tier, drivers);
      if (first)
        result[tier] = {
          pickupEtaSec: null,
          availableDrivers: snapshots[0]?.byTier[tier]?.availableDrivers ?? 0,
          recentRequests: snapshots[0]?.byTier[tier]?.recentRequests ?? 0,
        };
      const best = rank(drivers);
      const entry = result[tier] as TierNearby;
      entry.pickupEtaSec = best?.pickupEtaSec ?? null;
      if (best === undefined || best.pickupEtaSec >= step.decidedBelowEtaSec) undecided.push(tier);
    }
    first = false;
  }
  return result;
}

const cellObject = (env: Env, config: Config, point: LatLng) => geoCell(env, cellOf(point, config.H3_RESOLUTION));

/** A request called off for free stops counting towards its pickup cell's surge. */
export function withdrawDemand(env: Env, config: Config, point: LatLng, tripId: string): Promise<void> {
  return cellObject(env, config, point).withdrawRequest(tripId, Date.now());
}

/**
 * Tells the pickup's cell a trip's status, for the operations view's counts; `requestedBy` the rider and tier of a
 * trip just created, whose request counts towards the cell's surge for that tier.
 */
export function noteTripInCell(
  env: Env,
  config: Config,
  pickup: LatLng,
  trip: { id: string; status: string; active: boolean; at: number },
  requestedBy?: { riderId: string; tier: string },
): Promise<void> {
  return cellObject(env, config, pickup).noteTrip(
    trip.id,
    trip.status,
    trip.active,
    trip.at,
    requestedBy?.riderId,
    requestedBy?.tier,
  );
}

/**
 * Where the available drivers around `point` are (the pickup's cell and its SEARCH_RING, the
 * nearest CANDIDATES_PER_CELL of each), for the coarse dots a rider sees before requesting
 * (domain/nearby-cars.ts). Positions only leave this function: never ids.
 */
export async function availableDriverPositions(
  env: Env,
  config: Config,
  point: LatLng,
  now: number,
): Promise<LatLng[]> {
  const cells = searchCells(cellOf(point, config.H3_RESOLUTION), config.SEARCH_RING);
  const query: NearestQuery = { point, limit: CANDIDATES_PER_CELL, exclude: [] };
  const snapshots = await Promise.all(
    cells.map((cell) =>
      geoCell(env, cell)
        .snapshot(now, query)
        .catch((): CellSnapshot => ({ drivers: [], availableDrivers: 0, recentRequests: 0 })),
    ),
  );
  return snapshots.flatMap((s) => s.drivers.map((d) => d.location));
}
