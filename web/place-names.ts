/**
 * @module web/place-names
 * Names for the points a view shows (pickups, dropoffs), never coordinates: a place the user
 * chose from a search keeps its name; else the city's place within 150 m; else the geocoder's
 * reverse lookup when the service has one (asked once per point); else "near" the nearest place
 * of the city's list. Lookups are cached for the life of the view.
 */
import type { LatLng, RidewireClient } from "@ridewire/client";
import { mapConfigOnce } from "./map-config";
import { type City, describePoint, metresBetween } from "./places";

const keyOf = (p: LatLng) => `${p.lat.toFixed(5)},${p.lng.toFixed(5)}`;

export class PlaceNames {
  /** Names known per point (chosen, or looked up); lives as long as the view. */
  private readonly names = new Map<string, string>();
  private readonly asked = new Set<string>();
  /** Whether the service has a geocoder; learnt from `GET /v1/map` once. */
  private geocoder: Promise<boolean> | null = null;

  constructor(
    private readonly api: RidewireClient,
    private readonly city: City,
  ) {}

  /** The best name known now. */
  of(point: LatLng): string {
    return this.names.get(keyOf(point)) ?? describePoint(this.city, point);
  }

  /** A place the user picked by name: that name is the point's. */
  remember(point: LatLng, name: string): void {
    this.names.set(keyOf(point), name);
  }

  /** Asks the geocoder for a point away from the city's places; calls `then` once a better name is known. */
  resolve(point: LatLng, then: () => void): void {
    const key = keyOf(point);
    if (this.names.has(key) || this.asked.has(key)) return;
    if (this.city.places.some((p) => metresBetween(p.at, point) <= 150)) return;
    this.asked.add(key);
    this.geocoder ??= mapConfigOnce(this.api).then(
      (c) => c.geocoder,
      () => false,
    );
    void this.geocoder.then(async (on) => {
      if (!on) return;
      try {
        const place = await this.api.reversePlace(point);
        if (!place) return;
        this.names.set(key, place.name);
        then();
      } catch {
        // The geocoder is down or slow: "near …" stays, which is still a name.
      }
    });
  }
}
