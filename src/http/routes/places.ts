/**
 * @module http/routes/places
 * Place search and reverse lookup for signed-in users (docs/API.md, "Map and places"), through
 * the operator's geocoder (src/geocoder.ts); 503 `geocoder_unavailable` when none is
 * configured, and the web app falls back to its own list of the city's places.
 */
import { Hono } from "hono";
import { reversePlace, searchPlaces } from "../../geocoder";
import { PlaceSearchQuery, PointQuery, type PlaceSearchResponse, type ReversePlaceResponse } from "../../protocol/map";
import { requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readQuery } from "../validate";

export const placeRoutes = new Hono<AppEnv>();

placeRoutes.use("/places/*", requireUser);

placeRoutes.get("/places/search", async (c) => {
  const query = readQuery(c, PlaceSearchQuery);
  const near = query.lat !== undefined && query.lng !== undefined ? { lat: query.lat, lng: query.lng } : undefined;
  const places = await searchPlaces(c.get("config"), query.q, near);
  return c.json({ places } satisfies PlaceSearchResponse);
});

placeRoutes.get("/places/reverse", async (c) => {
  const point = readQuery(c, PointQuery);
  const place = await reversePlace(c.get("config"), point);
  return c.json({ place } satisfies ReversePlaceResponse);
});
