/**
 * @module protocol/ops
 * The operations view's read of a city (`GET /v1/ops/cells`): per H3 cell around a point, the
 * available drivers, the recent requests and the surge they make, and the trips picked up
 * there that are not over, by status. Counts only: no driver's position leaves its objects.
 */
import { z } from "zod";
import { CancelReasonCode } from "../domain/cancel-reasons";
import { LatLng, Money } from "./common";

/** At most this many rings around the centre (127 cells at 6). */
export const MAX_OPS_RINGS = 6;

export const OpsCellsQuery = z.object({
  lat: z.coerce.number().min(-90).max(90),
  lng: z.coerce.number().min(-180).max(180),
  rings: z.coerce.number().int().min(0).max(MAX_OPS_RINGS).default(4),
});

/** The part of the city an operations page shows: every cell within `rings` of a point (GET /v1/ops/cells's query). */
export const CityArea = z.object({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  rings: z.number().int().min(0).max(MAX_OPS_RINGS),
});
export type CityArea = z.infer<typeof CityArea>;

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

/** `GET /v1/ops/cancellations`: the newest first, filtered by side, code and time. */
export const OpsCancellationsQuery = z.object({
  by: z.enum(["rider", "driver", "admin", "system"]).optional(),
  reasonCode: CancelReasonCode.optional(),
  /** Only cancels at or after this (epoch ms); the counts cover the same span. */
  since: z.coerce.number().int().min(0).optional(),
  /** The `at` of the last cancel of the previous page. */
  before: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export type OpsCancellationsQuery = z.infer<typeof OpsCancellationsQuery>;

/** One cancel of a trip: by whom, why (null: a client that named no reason) and the fee it cost the rider. */
export const TripCancellation = z.object({
  tripId: z.string(),
  by: z.enum(["rider", "driver", "admin", "system"]),
  userId: z.string(),
  reasonCode: CancelReasonCode.nullable(),
  note: z.string().nullable(),
  fee: Money.nullable(),
  at: z.number().int(),
});
export type TripCancellation = z.infer<typeof TripCancellation>;

export const OpsCancellationsResponse = z.object({
  cancellations: z.array(TripCancellation),
  /** Cancels per code over the filter's side and span (not its code or page); `none` for no code. */
  counts: z.record(z.string(), z.number().int()),
});
export type OpsCancellationsResponse = z.infer<typeof OpsCancellationsResponse>;
