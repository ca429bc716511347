/**
 * @module domain/geo
 * Geometry for dispatch: great-circle distance, H3 cells for bucketing drivers, the search
 * rings that matching widens through, and the straight-line-with-detour ETA model. Pure and
 * synchronous (h3-js is compiled to plain JS), so it runs in Node, Bun and workerd alike.
 */
import { cellToBoundary, gridDisk, latLngToCell } from "h3-js";
import { z } from "zod";

export const LatLng = z.object({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
});
export type LatLng = z.infer<typeof LatLng>;

/** A position with the time it was observed (ms since the epoch). */
export type Fix = LatLng & { at: number };

/** How road travel is estimated from a straight line: roads are longer, traffic is slower. */
export type TravelModel = { detourFactor: number; citySpeedKmh: number };

// IUGG mean Earth radius; the sphere is off by <0.5% against the ellipsoid, far below the
// error of the detour factor it gets multiplied by.
const EARTH_RADIUS_KM = 6371.0088;
const toRad = (deg: number) => (deg * Math.PI) / 180;

export function haversineKm(a: LatLng, b: LatLng): number {
  const dLat = toRad(b.lat - a.lat);
  const dLng = toRad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLng / 2) ** 2;
  // min() guards asin against h drifting a hair above 1 for antipodal points.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function cellOf(point: LatLng, resolution: number): string {
  return latLngToCell(point.lat, point.lng, resolution);
}

/** The cell and every cell within `ringSize` steps of it. */
export function searchCells(cell: string, ringSize: number): string[] {
  return gridDisk(cell, ringSize);
}

/**
 * Cells exactly `k` steps away: what a widened search adds to the previous one, so the cells
 * already asked are not asked again. Computed as a disk difference rather than with
 * `gridRing`, because the difference is also correct around H3's twelve pentagons.
 */
export function ringOnly(cell: string, k: number): string[] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`ring distance must be a non-negative integer, got ${k}`);
  if (k === 0) return [cell];
  const inner = new Set(gridDisk(cell, k - 1));
  return gridDisk(cell, k).filter((c) => !inner.has(c));
}

/**
 * Speed needed to get from one fix to the next. Two fixes at the same instant (or out of
 * order) are a teleport unless they are the same place: Infinity marks them as a jump, so a
 * filter drops them instead of dividing by zero.
 */
export function impliedSpeedKmh(prev: Fix, next: Fix): number {
  const km = haversineKm(prev, next);
  const dtMs = next.at - prev.at;
  if (dtMs <= 0) return km === 0 ? 0 : Number.POSITIVE_INFINITY;
  return km / (dtMs / 3_600_000);
}

/** Estimated road travel time in whole seconds, rounded up: an ETA should not promise early. */
export function etaSec(from: LatLng, to: LatLng, model: TravelModel): number {
  return etaSecForKm(haversineKm(from, to), model);
}

/** `etaSec` for a straight-line distance: never less for a longer one. */
export function etaSecForKm(km: number, model: TravelModel): number {
  assertTravelModel(model);
  const hours = (km * model.detourFactor) / model.citySpeedKmh;
  // The epsilon keeps float noise (600.0000000001 s) from adding a whole second.
  return Math.max(0, Math.ceil(hours * 3600 - 1e-9));
}

export function assertTravelModel(model: TravelModel): void {
  if (!(model.detourFactor > 0) || !Number.isFinite(model.detourFactor)) {
    throw new RangeError(`detourFactor must be a positive number, got ${model.detourFactor}`);
  }
  if (!(model.citySpeedKmh > 0) || !Number.isFinite(model.citySpeedKmh)) {
    throw new RangeError(`citySpeedKmh must be a positive number, got ${model.citySpeedKmh}`);
  }
}

/** Above this latitude the flat-earth boundary distance below is not trusted: always look up. */
const INSIDE_CELL_MAX_ABS_LAT = 80;
/** Share of the distance to the cell's edge that counts as inside it (see insideCellKm). */
const INSIDE_CELL_SAFETY = 0.9;

/**
 * The H3 cell of a moving point, looked up only when the point may have left it. A lookup
 * also measures how far the point is from its cell's boundary; while later points stay within
 * (most of) that distance of it, they are in the same cell, and a haversine replaces the H3
 * call. A driver streaming a fix every few seconds at city speed moves metres per fix in
 * cells a kilometre across, so most fixes need no lookup.
 */
export class CellTracker {
  private last: { cell: string; origin: LatLng; safeKm: number } | null = null;
  /** H3 lookups made so far: what the tracker saves is fixes minus lookups. */
  lookups = 0;

  constructor(private readonly resolution: number) {}

  cellOf(point: LatLng): string {
    const last = this.last;
    if (last && haversineKm(last.origin, point) < last.safeKm) return last.cell;
    const cell = cellOf(point, this.resolution);
    this.lookups++;
    const safeKm = insideCellKm(point, cell);
    this.last = { cell, origin: { lat: point.lat, lng: point.lng }, safeKm };
    return cell;
  }
}

/**
 * How far `point` is, at least, from every point outside `cell`, the cell it lies in: the
 * distance to the cell's nearest edge, less a safety margin (0 near the poles, where the flat
 * projection below is not trusted).
 */
export function insideCellKm(point: LatLng, cell: string): number {
  return Math.abs(point.lat) > INSIDE_CELL_MAX_ABS_LAT
    ? 0
    : INSIDE_CELL_SAFETY * distanceToBoundaryKm(point, cellToBoundary(cell));
}

/**
 * Distance from a point inside a cell to the nearest edge of the cell, on a local flat
 * projection around the point: at the size of an H3 cell near a city, the error is far below
 * the safety margin that CellTracker keeps.
 */
export function distanceToBoundaryKm(point: LatLng, boundary: [number, number][]): number {
  const kmPerDegLat = (Math.PI * EARTH_RADIUS_KM) / 180;
  const kmPerDegLng = kmPerDegLat * Math.cos(toRad(point.lat));
  const local = boundary.map(([lat, lng]) => {
    let dLng = lng - point.lng;
    if (dLng > 180) dLng -= 360;
    if (dLng < -180) dLng += 360;
    return { x: dLng * kmPerDegLng, y: (lat - point.lat) * kmPerDegLat };
  });
  let best = Number.POSITIVE_INFINITY;
  // Each edge runs from the vertex before to this one; the first closes the ring from the last.
  let previous = local[local.length - 1];
  for (const vertex of local) {
    if (previous) best = Math.min(best, distanceToSegment(previous, vertex));
    previous = vertex;
  }
  return best;
}

/** Distance from the origin to the segment a–b in the plane. */
function distanceToSegment(a: { x: number; y: number }, b: { x: number; y: number }): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const lengthSq = dx * dx + dy * dy;
  const t = lengthSq === 0 ? 0 : Math.max(0, Math.min(1, -(a.x * dx + a.y * dy) / lengthSq));
  return Math.hypot(a.x + t * dx, a.y + t * dy);
}
