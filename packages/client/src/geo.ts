/**
 * @module client/geo
 * H3 helpers for apps (`import { cellOf } from "@ridewire/client/geo"`): the cell a point is
 * in, the cells around it, and a cell's outline, as the service's dispatch index and the ops
 * view (`opsCells`) name them. A separate entry point because h3-js weighs about 200 KB
 * minified (60 KB gzipped): apps that draw no cells never load it, and the core entry stays small.
 */
import { cellToBoundary, cellToLatLng, gridDisk, latLngToCell } from "h3-js";
import type { LatLng } from "./http";

/** The H3 cell (a hexagon id such as "872a1072bffffff") that holds `point` at `resolution` (0..15). */
export function cellOf(point: LatLng, resolution: number): string {
  return latLngToCell(point.lat, point.lng, resolution);
}

/** `cell` and every cell within `rings` steps of it (1 + 3·rings·(rings+1) cells away from pentagons). */
export function cellsAround(cell: string, rings: number): string[] {
  return gridDisk(cell, rings);
}

/** The corners of a cell, in order, as points (h3-js gives [lat, lng] pairs). */
export function cellBoundary(cell: string): LatLng[] {
  return cellToBoundary(cell).map(([lat, lng]) => ({ lat, lng }));
}

/** The centre of a cell. */
export function cellCenter(cell: string): LatLng {
  const [lat, lng] = cellToLatLng(cell);
  return { lat, lng };
}
