/**
 * @module domain/nearby-cars
 * What a rider sees of the cars around them before requesting: where available cars are, to
 * the nearest centre of a coarse H3 cell (resolution 8: cells of about 0.7 km², their centres some
 * 0.8 km apart), one dot per cell however many cars share it, the nearest few only. No driver
 * id, no count per cell, no exact position: someone sweeping the map learns which
 * neighbourhoods have a car, not whose car or where it stands.
 */
import { cellToLatLng, latLngToCell } from "h3-js";
import { haversineKm, type LatLng } from "./geo";

/** Resolution 8: a car is shown up to ~500 m (a cell's centre-to-corner distance) from where it is. */
export const NEARBY_CAR_RESOLUTION = 8;
/** At most this many dots: enough to show a street is served, too few to map a fleet. */
export const NEARBY_CAR_LIMIT = 8;
/** How far from the true position a dot may be, in metres (for the answer's `precisionM`). */
export const NEARBY_CAR_PRECISION_M = 500;

/** The dots for cars at `positions` seen from `from`: coarse cell centres, nearest first, deduplicated, capped. */
export function coarseCarDots(positions: readonly LatLng[], from: LatLng): LatLng[] {
  const cells = new Set(positions.map((p) => latLngToCell(p.lat, p.lng, NEARBY_CAR_RESOLUTION)));
  return [...cells]
    .map((cell) => {
      const [lat, lng] = cellToLatLng(cell);
      // Five decimals (~1 m) of a cell's centre: the precision is the cell's, not the digits'.
      return { lat: Math.round(lat * 1e5) / 1e5, lng: Math.round(lng * 1e5) / 1e5 };
    })
    .sort((a, b) => haversineKm(a, from) - haversineKm(b, from))
    .slice(0, NEARBY_CAR_LIMIT);
}
