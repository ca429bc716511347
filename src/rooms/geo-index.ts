/**
 * @module rooms/geo-index
 * Reads across the geo cells around a point: the candidates for matching and the demand and
 * supply behind a quote's surge. One RPC per cell, all in parallel; a cell that fails to
 * answer counts as empty rather than failing the whole search.
 */
import type { Config } from "../config";
import { cellOf, ringOnly, searchCells, type LatLng } from "../domain/geo";
import type { Candidate } from "../domain/matching";
import type { CellSnapshot, NearestQuery } from "./geo-cell";

/** The candidates of all the cells asked, and the supply and demand of the first of them. */
export type AreaSnapshot = { drivers: Candidate[]; center: { availableDrivers: number; recentRequests: number } };

/** Candidates each cell sends for a pickup: the ranking's best are among a cell's nearest. */
export const CANDIDATES_PER_CELL = 5;

/** The drivers nearest to `point` in each of `cells` (`exclude` left out), with the supply and demand of `cells[0]`. */
export async function snapshotCells(env: Env, cells: string[], now: number, nearest: NearestQuery): Promise<AreaSnapshot> {
  const snapshots = await Promise.all(
    cells.map((cell) =>
      env.GEO_CELL.get(env.GEO_CELL.idFromName(cell))
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

/** The pickup cell, first, and its search ring. */
export function nearCells(config: Config, point: LatLng): string[] {
  return searchCells(cellOf(point, config.H3_RESOLUTION), config.SEARCH_RING);
}

/** The cells the widened search adds beyond `nearCells`. */
export function widerCells(config: Config, point: LatLng): string[] {
  const center = cellOf(point, config.H3_RESOLUTION);
  const cells: string[] = [];
  for (let k = config.SEARCH_RING + 1; k <= config.WIDE_SEARCH_RING; k++) cells.push(...ringOnly(center, k));
  return cells;
}

const cellObject = (env: Env, config: Config, point: LatLng) => env.GEO_CELL.get(env.GEO_CELL.idFromName(cellOf(point, config.H3_RESOLUTION)));

export function recordDemand(env: Env, config: Config, point: LatLng, now: number): Promise<void> {
  return cellObject(env, config, point).recordRequest(now);
}

/** Tells the pickup's cell a trip's status, for the operations view's counts. */
export function noteTripInCell(env: Env, config: Config, pickup: LatLng, trip: { id: string; status: string; active: boolean; at: number }): Promise<void> {
  return cellObject(env, config, pickup).noteTrip(trip.id, trip.status, trip.active, trip.at);
}
