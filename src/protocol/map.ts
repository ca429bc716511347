/**
 * @module protocol/map
 * Bodies of the street map's routes (docs/API.md, "Map and places"): the map's configuration,
 * place search and reverse lookup through the operator's geocoder, and the coarse dots of the
 * available cars near a point.
 */
import { z } from "zod";
import { LatLng } from "../domain/geo";

/**
 * `GET /v1/map`: what the web app draws. `style`: a MapLibre style URL the operator set; `tiles`:
 * the path of the PMTiles archive this Worker serves; both null: no street map (the app's SVG city).
 * `geocoder`: whether place search and reverse lookup answer.
 */
export const MapConfigResponse = z.object({
  style: z.string().nullable(),
  tiles: z.string().nullable(),
  geocoder: z.boolean(),
});
export type MapConfigResponse = z.infer<typeof MapConfigResponse>;

const lat = z.coerce.number().min(-90).max(90);
const lng = z.coerce.number().min(-180).max(180);

/** `GET /v1/places/search?q=&lat=&lng=`: `lat`/`lng` (both or neither) rank places near them first. */
export const PlaceSearchQuery = z
  .object({ q: z.string().trim().min(2).max(100), lat: lat.optional(), lng: lng.optional() })
  .strict()
  .refine((q) => (q.lat === undefined) === (q.lng === undefined), "give both lat and lng, or neither");
export type PlaceSearchQuery = z.infer<typeof PlaceSearchQuery>;

/** `GET /v1/places/reverse?lat=&lng=` and `GET /v1/cars/nearby?lat=&lng=`. */
export const PointQuery = z.object({ lat, lng }).strict();
export type PointQuery = z.infer<typeof PointQuery>;

/** A place as the app shows it: a name a person reads ("Ferry Building, San Francisco"), and where it is. */
export const Place = z.object({ name: z.string().min(1).max(200), at: LatLng });
export type Place = z.infer<typeof Place>;

export const PlaceSearchResponse = z.object({ places: z.array(Place).max(10) });
export type PlaceSearchResponse = z.infer<typeof PlaceSearchResponse>;

/** null: the geocoder knows no place there. */
export const ReversePlaceResponse = z.object({ place: Place.nullable() });
export type ReversePlaceResponse = z.infer<typeof ReversePlaceResponse>;

/**
 * `GET /v1/cars/nearby`: one dot per coarse cell with an available car, nearest first, at most a few;
 * each dot is the cell's centre, up to `precisionM` metres from the car. No ids, no counts.
 */
export const NearbyCarsResponse = z.object({ cars: z.array(LatLng), precisionM: z.number().int() });
export type NearbyCarsResponse = z.infer<typeof NearbyCarsResponse>;
