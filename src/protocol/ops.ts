/**
 * @module protocol/ops
 * The operations view's read of a city (`GET /v1/ops/cells`): per H3 cell around a point, the
 * available drivers, the recent requests and the surge they make, and the trips picked up
 * there that are not over, by status. Counts only: no driver's position leaves its objects.
 */
import { z } from "zod";
import { LatLng } from "./common";

/** At most this many rings around the centre (127 cells at 6). */
export const MAX_OPS_RINGS = 6;

export const OpsCellsQuery = z.object({
  lat: z.coerce.number().min(-90).max(90),
  lng: z.coerce.number().min(-180).max(180),
  rings: z.coerce.number().int().min(0).max(MAX_OPS_RINGS).default(4),
});

export const OpsCell = z.object({
  cell: z.string(),
  availableDrivers: z.number().int(),
  recentRequests: z.number().int(),
  surge: z.number(),
  activeTrips: z.record(z.string(), z.number().int()),
});
export type OpsCell = z.infer<typeof OpsCell>;

export const OpsCellsResponse = z.object({
  resolution: z.number().int(),
  center: LatLng,
  cells: z.array(OpsCell),
  totals: z.object({
    availableDrivers: z.number().int(),
    recentRequests: z.number().int(),
    activeTrips: z.number().int(),
  }),
  at: z.number().int(),
});
export type OpsCellsResponse = z.infer<typeof OpsCellsResponse>;
