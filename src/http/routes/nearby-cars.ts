/**
 * @module http/routes/nearby-cars
 * `GET /v1/cars/nearby?lat=&lng=`: the cars a rider sees on the map before requesting, as
 * coarse dots (domain/nearby-cars.ts says how coarse, and why): from the same geo index the
 * quotes read, with no driver id, no count and no exact position in the answer. Signed-in
 * users only, under a rate-limit class of its own (`nearby`), so a sweep of the city is slow.
 */
import { Hono } from "hono";
import { coarseCarDots, NEARBY_CAR_PRECISION_M } from "../../domain/nearby-cars";
import { PointQuery, type NearbyCarsResponse } from "../../protocol/map";
import { availableDriverPositions } from "../../rooms/geo-cell-client";
import { requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readQuery } from "../validate";

export const nearbyCarRoutes = new Hono<AppEnv>();

nearbyCarRoutes.use("/cars/*", requireUser);

nearbyCarRoutes.get("/cars/nearby", async (c) => {
  const point = readQuery(c, PointQuery);
  const positions = await availableDriverPositions(c.env, c.get("config"), point, Date.now());
  return c.json({
    cars: coarseCarDots(positions, point),
    precisionM: NEARBY_CAR_PRECISION_M,
  } satisfies NearbyCarsResponse);
});
