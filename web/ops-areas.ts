/**
 * @module web/ops-areas
 * Names for the places operators look at, instead of ids: an H3 cell is called after the city's named places in it,
 * or the nearest to it ("near Union Square"), or by its centre's coordinates away from every one, so that a table
 * of busy cells reads as a map does.
 */
import type { LatLng } from "@ridewire/client";
import { cellCenter, cellOf } from "@ridewire/client/geo";
import type { City } from "./places";

/** A place further than this from a cell's centre does not name it. */
const NAMES_WITHIN_KM = 1.5;

function km(a: LatLng, b: LatLng): number {
  const dLat = (a.lat - b.lat) * 111.2;
  const dLng = (a.lng - b.lng) * 111.2 * Math.cos((a.lat * Math.PI) / 180);
  return Math.hypot(dLat, dLng);
}

/** "near Union Square", or the point's coordinates when no named place is close. */
export function areaNameAt(city: City, point: LatLng): string {
  let best: { name: string; km: number } | null = null;
  for (const place of city.places) {
    const d = km(place.at, point);
    if (d <= NAMES_WITHIN_KM && (best === null || d < best.km)) best = { name: place.name, km: d };
  }
  return best ? `near ${best.name}` : `${point.lat.toFixed(3)}, ${point.lng.toFixed(3)}`;
}

/**
 * The name of H3 cell `cell` of `resolution`: the named places inside it ("Union Square & Civic Center"), else the
 * nearest to its centre.
 */
export function cellName(city: City, cell: string, resolution: number): string {
  const inside = city.places.filter((p) => cellOf(p.at, resolution) === cell).map((p) => p.name);
  if (inside.length) return inside.slice(0, 2).join(" & ");
  return areaNameAt(city, cellCenter(cell));
}
