/**
 * @module http/openapi/map
 * Operations of routes/map.ts, routes/places.ts and routes/nearby-cars.ts: the street map's settings and tile
 * archive, place search, and the coarse dots of nearby cars.
 */
import { MapConfigResponse, NearbyCarsResponse, PlaceSearchResponse, ReversePlaceResponse } from "../../protocol/map";
import type { Operation } from "./operation";

export const mapOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/map",
    summary: "What the web app's map draws: the operator's style URL, or the tile archive served here, or neither",
    auth: false,
    status: 200,
    response: MapConfigResponse,
  },
  {
    method: "get",
    path: "/v1/tiles/{file}",
    summary:
      "The configured PMTiles archive (`<MAP_TILES_ARCHIVE>.pmtiles`), by one `Range: bytes=` per request: " +
      "206 with Content-Range and ETag; 304 on If-None-Match; 416 for a range it cannot serve",
    auth: false,
    status: 206,
    fileResponse: ["application/vnd.pmtiles"],
  },
  {
    method: "get",
    path: "/v1/places/search",
    summary: "Up to 5 places matching `q` (2 to 100 characters), near `lat`/`lng` first, from the operator's geocoder",
    auth: true,
    status: 200,
    query: ["q", "lat", "lng"],
    response: PlaceSearchResponse,
  },
  {
    method: "get",
    path: "/v1/places/reverse",
    summary: "The geocoder's name for the place at `lat`/`lng` (null when it knows none)",
    auth: true,
    status: 200,
    query: ["lat", "lng"],
    response: ReversePlaceResponse,
  },
  {
    method: "get",
    path: "/v1/cars/nearby",
    summary:
      "Available cars around `lat`/`lng` as coarse dots (centres of H3 resolution-8 cells, nearest first, " +
      "at most 8): no ids, no counts, no exact positions",
    auth: true,
    status: 200,
    query: ["lat", "lng"],
    response: NearbyCarsResponse,
  },
];
