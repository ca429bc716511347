/**
 * @module rooms/city-view
 * The operations view of a part of a city: every H3 cell within `rings` of a point, with its
 * supply, demand, surge and active trips, read from the cells' objects in parallel. GET
 * /v1/ops/cells answers it, and the operations desk pushes it to the pages that watch an area
 * (rooms/ops-desk). Counts per cell (about 5 km² at resolution 7), never a position.
 */
import { cellOf, searchCells } from "../domain/geo";
import { surgeMultiplier } from "../domain/surge";
import type { CityArea, OpsCell, OpsCellsResponse } from "../protocol/ops";
import type { CellSummary } from "./geo-cell";
import { geoCell } from "./stubs";

const EMPTY: CellSummary = { availableDrivers: 0, recentRequests: 0, activeTrips: {} };

export async function cityView(env: Env, resolution: number, area: CityArea, now: number): Promise<OpsCellsResponse> {
  const { lat, lng, rings } = area;
  const cells = searchCells(cellOf({ lat, lng }, resolution), rings);
  // A cell that cannot answer shows as empty rather than failing the whole view.
  const summaries = await Promise.all(
    cells.map((cell) =>
      geoCell(env, cell)
        .summary(now)
        .catch(() => EMPTY),
    ),
  );
  const out: OpsCell[] = cells.map((cell, i) => {
    const s = summaries[i] ?? EMPTY;
    return { cell, ...s, surge: surgeMultiplier(s) };
  });
  const sum = (pick: (cell: OpsCell) => number) => out.reduce((total, cell) => total + pick(cell), 0);
  return {
    resolution,
    center: { lat, lng },
    cells: out,
    totals: {
      availableDrivers: sum((x) => x.availableDrivers),
      recentRequests: sum((x) => x.recentRequests),
      activeTrips: sum((x) => Object.values(x.activeTrips).reduce((a, b) => a + b, 0)),
    },
    at: now,
  };
}
