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

/** The name of a place within 150 m of `point`, else its coordinates. */
export function describePoint(city: City, point: LatLng): string {
  const near = city.places.find(
    (p) => Math.abs(p.at.lat - point.lat) < 0.0014 && Math.abs(p.at.lng - point.lng) < 0.0017,
  );
  return near ? near.name : `${point.lat.toFixed(4)}, ${point.lng.toFixed(4)}`;
}
