/**
 * @module simulator/city
 * Where the simulation happens: city presets (a lat/lng box each), random points and trips in
 * them, and the movement of a car along straight segments between waypoints at a set speed.
 * Positions are a pure function of the clock: a fix taken at `at` is where the car is at
 * `at`, so the speed the server infers between two fixes is never above the car's own.
 */
import type { LatLng } from "@ridewire/client";
import { haversineKm } from "../../src/domain/geo";

export type Bounds = { south: number; north: number; west: number; east: number };
export type City = { name: string; label: string; bounds: Bounds };

export const CITIES: Record<string, City> = {
  sf: { name: "sf", label: "San Francisco", bounds: { south: 37.7, north: 37.81, west: -122.51, east: -122.38 } },
  nyc: { name: "nyc", label: "New York (Manhattan)", bounds: { south: 40.7, north: 40.8, west: -74.02, east: -73.93 } },
  london: {
    name: "london",
    label: "London (central)",
    bounds: { south: 51.47, north: 51.55, west: -0.2, east: -0.02 },
  },
  paris: { name: "paris", label: "Paris", bounds: { south: 48.82, north: 48.9, west: 2.26, east: 2.41 } },
};

const EARTH_RADIUS_KM = 6371;
const KM_PER_DEG_LAT = (Math.PI * EARTH_RADIUS_KM) / 180;
const rad = (deg: number) => (deg * Math.PI) / 180;
const kmPerDegLng = (lat: number) => KM_PER_DEG_LAT * Math.cos(rad(lat));

export const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/** Great-circle distance, the server's own function (src/domain/geo is pure TypeScript). */
export const distanceKm = haversineKm;

/** Compass bearing from a to b in degrees, [0, 360). */
export function bearing(a: LatLng, b: LatLng): number {
  const y = Math.sin(rad(b.lng - a.lng)) * Math.cos(rad(b.lat));
  const x =
    Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) -
    Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lng - a.lng));
  const deg = (Math.atan2(y, x) * 180) / Math.PI;
  return (deg + 360) % 360;
}

/** The point `fraction` of the way from a to b (straight in lat/lng: city distances are short). */
function along(a: LatLng, b: LatLng, fraction: number): LatLng {
  return { lat: a.lat + (b.lat - a.lat) * fraction, lng: a.lng + (b.lng - a.lng) * fraction };
}

const inside = (p: LatLng, b: Bounds) => p.lat >= b.south && p.lat <= b.north && p.lng >= b.west && p.lng <= b.east;

/**
 * The area the simulation uses: the whole city, or with `radiusKm` a square of that half-size
 * around the city's centre (a denser, smaller playground, e.g. for short test runs).
 */
export function areaOf(city: City, radiusKm?: number): Bounds {
  const b = city.bounds;
  if (radiusKm === undefined) return b;
  const centre = { lat: (b.south + b.north) / 2, lng: (b.west + b.east) / 2 };
  const dLat = radiusKm / KM_PER_DEG_LAT;
  const dLng = radiusKm / kmPerDegLng(centre.lat);
  return {
    south: Math.max(b.south, centre.lat - dLat),
    north: Math.min(b.north, centre.lat + dLat),
    west: Math.max(b.west, centre.lng - dLng),
    east: Math.min(b.east, centre.lng + dLng),
  };
}

export function randomPoint(b: Bounds): LatLng {
  return { lat: between(b.south, b.north), lng: between(b.west, b.east) };
}

/** A point in the area `km` from `from` in a random direction; the nearest fit if none is that far. */
export function pointAway(from: LatLng, km: number, b: Bounds): LatLng {
  let best: LatLng | null = null;
  let bestKm = -1;
  for (let attempt = 0; attempt < 48; attempt++) {
    const angle = Math.random() * 2 * Math.PI;
    const p = {
      lat: from.lat + (km * Math.cos(angle)) / KM_PER_DEG_LAT,
      lng: from.lng + (km * Math.sin(angle)) / kmPerDegLng(from.lat),
    };
    if (inside(p, b)) return p;
    const clamped = {
      lat: Math.min(b.north, Math.max(b.south, p.lat)),
      lng: Math.min(b.east, Math.max(b.west, p.lng)),
    };
    const d = distanceKm(from, clamped);
    if (d > bestKm) {
      best = clamped;
      bestKm = d;
    }
  }
  return best ?? randomPoint(b);
}

/**
 * A city-grid route: first along one axis, then the other (which one first is random), so cars
 * turn corners instead of cutting across blocks.
 */
export function gridRoute(from: LatLng, to: LatLng): LatLng[] {
  const corner = Math.random() < 0.5 ? { lat: from.lat, lng: to.lng } : { lat: to.lat, lng: from.lng };
  return distanceKm(from, corner) < 0.02 || distanceKm(corner, to) < 0.02 ? [to] : [corner, to];
}

/** Where a car is and where it is going: waypoints driven in order at `speedKmh`. */
export class Mover {
  position: LatLng;
  /** Heading of the segment driven last, degrees. */
  heading = 0;
  speedKmh = 0;
  private path: LatLng[] = [];
  private at: number;

  constructor(start: LatLng, at: number) {
    this.position = start;
    this.at = at;
  }

  /** No waypoints left: the car stands where it is. */
  get idle(): boolean {
    return this.path.length === 0;
  }

  /** Drives `waypoints` from now on, replacing what was left of the route. */
  route(waypoints: LatLng[], speedKmh: number): void {
    this.path = [...waypoints];
    this.speedKmh = speedKmh;
  }

  stop(): void {
    this.path = [];
    this.speedKmh = 0;
  }

  /** Moves on to time `at`; true when the last waypoint was reached during this step. */
  advance(at: number): boolean {
    let km = (this.speedKmh * Math.max(0, at - this.at)) / 3_600_000;
    this.at = at;
    while (km > 0 && this.path.length > 0) {
      const next = this.path[0]!;
      const left = distanceKm(this.position, next);
      if (left > 0) this.heading = bearing(this.position, next);
      if (left <= km) {
        this.position = next;
        this.path.shift();
        km -= left;
        if (this.path.length === 0) {
          this.speedKmh = 0;
          return true;
        }
      } else {
        this.position = along(this.position, next, km / left);
        km = 0;
      }
    }
    return false;
  }
}
