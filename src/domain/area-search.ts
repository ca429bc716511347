/**
 * @module domain/area-search
 * How matching and quotes search the cells around a pickup: which cells to ask in which step,
 * when a step's candidates are decided (no driver in a later step's cells can beat them), and
 * the candidates best first across the steps. Asking the cells is the caller's
 * (rooms/geo-cell-client.ts asks the GeoCell objects); this plans the steps and ranks.
 */
import { cellOf, etaSecForKm, insideCellKm, ringOnly, searchCells, type LatLng, type TravelModel } from "./geo";
import { rankCandidates, type Candidate, type RankedDriver } from "./matching";

/** Candidates each cell sends for a pickup: the ranking's best are among a cell's nearest. */
export const CANDIDATES_PER_CELL = 5;

/** The settings a search reads (named as in the service's Config, which has them). */
export type SearchSettings = {
  H3_RESOLUTION: number;
  SEARCH_RING: number;
  WIDE_SEARCH_RING: number;
  travelModel: TravelModel;
};

/** The candidates of all the cells asked, and the supply and demand of the first of them. */
export type AreaSnapshot = { drivers: Candidate[]; center: { availableDrivers: number; recentRequests: number } };

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
export function nearSearch(settings: SearchSettings, point: LatLng): SearchStep[] {
  const pickupCell = cellOf(point, settings.H3_RESOLUTION);
  const ring = searchCells(pickupCell, settings.SEARCH_RING).filter((cell) => cell !== pickupCell);
  if (ring.length === 0) return [{ cells: [pickupCell], decidedBelowEtaSec: Number.POSITIVE_INFINITY }];
  return [
    { cells: [pickupCell], decidedBelowEtaSec: etaSecForKm(insideCellKm(point, pickupCell), settings.travelModel) },
    { cells: ring, decidedBelowEtaSec: Number.POSITIVE_INFINITY },
  ];
}

/** Matching's search: `nearSearch`, then once the wider ring (`WIDE_SEARCH_RING`). */
export function matchingSearch(settings: SearchSettings, point: LatLng): SearchStep[] {
  return [
    ...nearSearch(settings, point),
    { cells: widerCells(settings, point), decidedBelowEtaSec: Number.POSITIVE_INFINITY },
  ];
}

/** The cells the widened search adds beyond those of `nearSearch`. */
function widerCells(settings: SearchSettings, point: LatLng): string[] {
  const center = cellOf(point, settings.H3_RESOLUTION);
  const cells: string[] = [];
  for (let k = settings.SEARCH_RING + 1; k <= settings.WIDE_SEARCH_RING; k++) cells.push(...ringOnly(center, k));
  return cells;
}

export type BestFirstOptions = {
  point: LatLng;
  now: number;
  staleAfterMs: number;
  /** Drivers never to yield (they declined, timed out or cancelled on this trip). */
  exclude: readonly string[];
  travelModel: TravelModel;
};

/**
 * The candidates of a search, best first (`rankCandidates`' order), each once. A step's cells
 * are asked (`ask`) only when the candidates found so far run out below its bound; a step
 * ranks what it found with what earlier steps left. `onPickupCell` gets the supply and demand
 * of the first step's first cell, before any candidate.
 */
export async function* bestFirst(
  steps: readonly SearchStep[],
  ask: (cells: string[]) => Promise<AreaSnapshot>,
  options: BestFirstOptions,
  onPickupCell?: (pickupCell: AreaSnapshot["center"]) => void,
): AsyncGenerator<RankedDriver> {
  const seen = new Set(options.exclude);
  let left: Candidate[] = [];
  let first = true;
  for (const step of steps) {
    if (step.cells.length === 0) continue;
    const area = await ask(step.cells);
    if (first) onPickupCell?.(area.center);
    first = false;
    const found = left.concat(area.drivers);
    const ranked = rankCandidates(found, options.point, {
      ...options.travelModel,
      now: options.now,
      staleAfterMs: options.staleAfterMs,
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
