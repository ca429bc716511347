/**
 * @module http/routes/admin-lists
 * Operators' lists (`/v1/admin/drivers`, `/v1/admin/trips`; mounted under the admin routes, whose middleware lets
 * only operators in): drivers and trips found by a search word, newest first, a page at a time (db/admin-lists.ts).
 */
import { Hono } from "hono";
import { listDrivers, listTripsForOps } from "../../db/admin-lists";
import { withLastSeen } from "../../db/presence";
import {
  AdminDriverListQuery,
  type AdminDriverListResponse,
  AdminTripListQuery,
  type AdminTripListResponse,
} from "../../protocol/ops-lists";
import type { AppEnv } from "../context";
import { readQuery } from "../validate";

export const adminListRoutes = new Hono<AppEnv>();

adminListRoutes.get("/drivers", async (c) => {
  const query = readQuery(c, AdminDriverListQuery);
  const { drivers, nextCursor } = await listDrivers(c.env.DB, query);
  return c.json({ drivers: await withLastSeen(c.env, drivers), nextCursor } satisfies AdminDriverListResponse);
});

adminListRoutes.get("/trips", async (c) => {
  const query = readQuery(c, AdminTripListQuery);
  return c.json((await listTripsForOps(c.env, query)) satisfies AdminTripListResponse);
});
