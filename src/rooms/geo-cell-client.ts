/**
 * @module rooms/geo-cell-client
 * The calls the Worker and the trip room make to the GeoCell objects: an area's candidates
 * (one RPC per cell, the cells of a step in parallel; a cell that fails to answer counts as
 * empty rather than failing the whole search), and a trip's demand and status in its pickup
 * cell. Which cells to ask, and the ranking, are domain/area-search.ts's.
 */
import type { Config } from "../config";
import { bestFirst, type AreaSnapshot, type SearchStep } from "../domain/area-search";
import { cellOf, type LatLng } from "../domain/geo";
import type { RankedDriver } from "../domain/matching";
import type { CellSnapshot, NearestQuery } from "./geo-cell";
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

const cellObject = (env: Env, config: Config, point: LatLng) => geoCell(env, cellOf(point, config.H3_RESOLUTION));

/** A request called off for free stops counting towards its pickup cell's surge. */
export function withdrawDemand(env: Env, config: Config, point: LatLng, tripId: string): Promise<void> {
  return cellObject(env, config, point).withdrawRequest(tripId, Date.now());
}

/**
 * Tells the pickup's cell a trip's status, for the operations view's counts; `requestedBy` the rider of a trip just
 * created, whose request counts towards the cell's surge.
 */
export function noteTripInCell(
  env: Env,
  config: Config,
  pickup: LatLng,
  trip: { id: string; status: string; active: boolean; at: number },
  requestedBy?: string,
): Promise<void> {
  return cellObject(env, config, pickup).noteTrip(trip.id, trip.status, trip.active, trip.at, requestedBy);
}
