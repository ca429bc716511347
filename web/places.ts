/**
 * @module web/places
 * The city the web app shows, with named places to pick from the keyboard (a click on the map
 * picks any point). San Francisco, as in the simulator's `--city sf`.
 */
import type { LatLng } from "@ridewire/client";

export type City = {
  name: string;
  south: number;
  north: number;
  west: number;
  east: number;
  center: LatLng;
  places: { name: string; at: LatLng }[];
};

export const SAN_FRANCISCO: City = {
  name: "San Francisco",
  south: 37.7,
  north: 37.81,
  west: -122.51,
  east: -122.38,
  center: { lat: 37.7749, lng: -122.4194 },
  places: [
    { name: "Union Square", at: { lat: 37.788, lng: -122.4075 } },
    { name: "Ferry Building", at: { lat: 37.7955, lng: -122.3937 } },
    { name: "Mission Dolores", at: { lat: 37.7596, lng: -122.4269 } },
    { name: "Civic Center", at: { lat: 37.7793, lng: -122.4193 } },
    { name: "Caltrain 4th & King", at: { lat: 37.7766, lng: -122.3947 } },
    { name: "Castro", at: { lat: 37.7609, lng: -122.435 } },
    { name: "North Beach", at: { lat: 37.8061, lng: -122.4103 } },
    { name: "Haight-Ashbury", at: { lat: 37.7692, lng: -122.4481 } },
    { name: "Golden Gate Park", at: { lat: 37.7694, lng: -122.4862 } },
    { name: "Twin Peaks", at: { lat: 37.7544, lng: -122.4477 } },
    { name: "Dogpatch", at: { lat: 37.7587, lng: -122.388 } },
    { name: "Presidio", at: { lat: 37.7989, lng: -122.4662 } },
  ],
};

/** Metres between two points of a city (equirectangular: exact enough at a city's size). */
export function metresBetween(a: LatLng, b: LatLng): number {
  const x = (b.lng - a.lng) * Math.cos((((a.lat + b.lat) / 2) * Math.PI) / 180);
  return Math.hypot(x, b.lat - a.lat) * 111_320;
}

/** Within this of a known place, a point is that place. */
const AT_PLACE_M = 150;

/**
 * A name for `point` a person reads, never its coordinates: the place within 150 m, else "near"
 * the nearest place of the city's list (web/place-names.ts puts the geocoder's name first when
 * there is one).
 */
export function describePoint(city: City, point: LatLng): string {
  let nearest: { name: string; metres: number } | null = null;
  for (const place of city.places) {
    const metres = metresBetween(place.at, point);
    if (!nearest || metres < nearest.metres) nearest = { name: place.name, metres };
  }
  if (!nearest) return "a point on the map";
  return nearest.metres <= AT_PLACE_M ? nearest.name : `near ${nearest.name}`;
}
