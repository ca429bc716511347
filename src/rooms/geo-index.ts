/**
 * @module rooms/geo-index
 * Reads across the geo cells around a point: the candidates for matching and the demand and
 * supply behind a quote's surge. One RPC per cell, the cells of a step in parallel; a cell
 * that fails to answer counts as empty rather than failing the whole search.
 */
import type { Config } from "../config";
import { cellOf, etaSecForKm, insideCellKm, ringOnly, searchCells, type LatLng } from "../domain/geo";
import { rankCandidates, type Candidate, type RankedDriver } from "../domain/matching";
import type { CellSnapshot, NearestQuery } from "./geo-cell";
import { geoCell } from "./stubs";

/** The candidates of all the cells asked, and the supply and demand of the first of them. */
export type AreaSnapshot = { drivers: Candidate[]; center: { availableDrivers: number; recentRequests: number } };

/** Candidates each cell sends for a pickup: the ranking's best are among a cell's nearest. */
export const CANDIDATES_PER_CELL = 5;

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

/**
 * One step of a search outwards from a pickup: the cells to ask, and the pickup ETA from which
 * a candidate found so far may still be beaten by a driver in a later step's cells.
 */
export type SearchStep = { cells: string[]; decidedBelowEtaSec: number };

/**
 * The near search in two steps: the pickup's own cell, then the rest of its ring. No driver
 * outside the pickup cell is nearer than the cell's edge, so a candidate of the first step
 * whose ETA is below the edge's is ranked exactly where the whole ring would rank it, and the
 * ring is asked only for the rest (most pickups in a busy cell never need it: one RPC instead
 * of seven). The ranking's ties (rating, acceptance) are safe too, because the bound is strict.
 *
 * One case ranks differently from asking all seven cells at once: a driver listed in two cells
 * (their move between cells in flight, or a cell woken from an older copy) is ranked at the
 * pickup cell's row when the first step decides, where the whole ring would take the fresher
 * row. That offer's place and ETA may then be off by the driver's last move; who gets a trip
 * is still decided by the driver's own session, so no driver is offered two. The same was
 * already true when the fresher row was outside the ring.
 */
export function nearSearch(config: Config, point: LatLng): SearchStep[] {
  const pickupCell = cellOf(point, config.H3_RESOLUTION);
  const ring = searchCells(pickupCell, config.SEARCH_RING).filter((cell) => cell !== pickupCell);
  if (ring.length === 0) return [{ cells: [pickupCell], decidedBelowEtaSec: Number.POSITIVE_INFINITY }];
  return [
    { cells: [pickupCell], decidedBelowEtaSec: etaSecForKm(insideCellKm(point, pickupCell), config.travelModel) },
    { cells: ring, decidedBelowEtaSec: Number.POSITIVE_INFINITY },
  ];
}

/** Matching's search: `nearSearch`, then once the wider ring (`WIDE_SEARCH_RING`). */
export function matchingSearch(config: Config, point: LatLng): SearchStep[] {
  return [
    ...nearSearch(config, point),
    { cells: widerCells(config, point), decidedBelowEtaSec: Number.POSITIVE_INFINITY },
  ];
}

/**
 * The candidates of a search, best first (`rankCandidates`' order), each once. A step's cells
 * are asked only when the candidates found so far run out below its bound; a step ranks what
 * it found with what earlier steps left. `onPickupCell` gets the supply and demand of the
 * first step's first cell, before any candidate.
 */
export async function* candidatesBestFirst(
  env: Env,
  config: Config,
  steps: readonly SearchStep[],
  now: number,
  query: NearestQuery,
  onPickupCell?: (pickupCell: AreaSnapshot["center"]) => void,
): AsyncGenerator<RankedDriver> {
  const seen = new Set(query.exclude);
  let left: Candidate[] = [];
  let first = true;
  for (const step of steps) {
    if (step.cells.length === 0) continue;
    const area = await snapshotCells(env, step.cells, now, query);
    if (first) onPickupCell?.(area.center);
    first = false;
    const found = left.concat(area.drivers);
    const ranked = rankCandidates(found, query.point, {
      ...config.travelModel,
      now,
      staleAfterMs: config.DRIVER_STALE_MS,
      exclude: seen,
    });
    for (const candidate of ranked) {
      if (candidate.pickupEtaSec >= step.decidedBelowEtaSec) break;
      seen.add(candidate.driverId);
      yield candidate;
    }
    // Stale or unrankable ones ride along; the next ranking drops them again.
    left = found.filter((c) => !seen.has(c.driverId));
  }
}

/** The cells the widened search adds beyond those of `nearSearch`. */
function widerCells(config: Config, point: LatLng): string[] {
  const center = cellOf(point, config.H3_RESOLUTION);
  const cells: string[] = [];
  for (let k = config.SEARCH_RING + 1; k <= config.WIDE_SEARCH_RING; k++) cells.push(...ringOnly(center, k));
  return cells;
}

const cellObject = (env: Env, config: Config, point: LatLng) => geoCell(env, cellOf(point, config.H3_RESOLUTION));

/** Counts a trip request towards its pickup cell's surge. */
export function recordDemand(
  env: Env,
  config: Config,
  point: LatLng,
  request: { tripId: string; riderId: string },
  now: number,
): Promise<void> {
  return cellObject(env, config, point).recordRequest(request.tripId, request.riderId, now);
}

/** A request called off for free stops counting towards its pickup cell's surge. */
export function withdrawDemand(env: Env, config: Config, point: LatLng, tripId: string): Promise<void> {
  return cellObject(env, config, point).withdrawRequest(tripId, Date.now());
}

/** Tells the pickup's cell a trip's status, for the operations view's counts. */
export function noteTripInCell(
  env: Env,
  config: Config,
  pickup: LatLng,
  trip: { id: string; status: string; active: boolean; at: number },
): Promise<void> {
  return cellObject(env, config, pickup).noteTrip(trip.id, trip.status, trip.active, trip.at);
}
