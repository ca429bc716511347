/**
 * @module protocol/safety
 * Trip safety (README, "Safety"): the share link a rider hands to someone they trust, and the
 * trip as that person sees it without an account. The PIN's bodies live with the trip's moves
 * in protocol/dispatch.
 */
import { z } from "zod";
import { TripStatus } from "../domain/trip";
import { LatLng } from "./common";
import { type ControlFrame, FrameId, PingFrame, type WelcomeFrame } from "./frames";
import { CityArea, type OpsCellsResponse } from "./ops";
import type { OpsMetricsResponse } from "./ops-metrics";
import { TripVehicle } from "./vehicles";

/** `POST /v1/trips/:id/share`: a new link. The token is shown this once; the service keeps only its hash. */
export const ShareLink = z.object({
  id: z.string(),
  token: z.string(),
  /** The web app's page for the token, on this service's origin. */
  url: z.string(),
  expiresAt: z.number().int(),
});
export type ShareLink = z.infer<typeof ShareLink>;

/**
 * A share token as it travels: `<trip id>.<secret>`, the secret 32 random bytes in base64url.
 * The trip id says which trip to ask; the secret is what the trip checks (by its hash).
 */
export const ShareToken = z
  .string()
  .max(140)
  .regex(/^trip_[a-z0-9]{1,64}\.[A-Za-z0-9_-]{43}$/, "not a share token");

/**
 * `GET /v1/shared/:token`: what the link shows. The driver's first name and position and the
 * ETA, with the trip's status; nothing of the rider (no id, name, pickup, dropoff or fare) and
 * no PIN.
 */
export const SharedTrip = z.object({
  status: TripStatus,
  /** The assigned driver's first name and car (null when they have none on record); null before acceptance. */
  driver: z.object({ firstName: z.string(), vehicle: TripVehicle.nullable() }).nullable(),
  /** The driver's latest position while they are on the trip (to the pickup, then the ride). */
  position: LatLng.nullable(),
  /** Seconds to the pickup before the ride, to the dropoff during it. */
  etaSec: z.number().int().nullable(),
  updatedAt: z.number().int(),
  /** When the link stops working at the latest (it stops earlier at the trip's end). */
  expiresAt: z.number().int(),
});
export type SharedTrip = z.infer<typeof SharedTrip>;

export const SharedTripResponse = z.object({
  trip: SharedTrip,
  /** How long a page should wait before asking again (ms). */
  pollAfterMs: z.number().int(),
});
export type SharedTripResponse = z.infer<typeof SharedTripResponse>;

/**
 * `POST /v1/trips/:id/sos`: where the caller is now, and a few words if they can. A blank note
 * is no note: an alert is never refused for what it says.
 */
export const SosBody = z.object({
  location: LatLng,
  note: z
    .string()
    .max(500)
    .optional()
    .transform((note) => note?.trim() || undefined),
});
export type SosBody = z.infer<typeof SosBody>;

/** An SOS alert, as the caller and the operations view see it. */
export const TripAlert = z.object({
  id: z.string(),
  tripId: z.string(),
  raisedBy: z.string(),
  role: z.enum(["rider", "driver"]),
  location: LatLng,
  note: z.string().nullable(),
  createdAt: z.number().int(),
  acknowledgedAt: z.number().int().nullable(),
  acknowledgedBy: z.string().nullable(),
});
export type TripAlert = z.infer<typeof TripAlert>;

/** `GET /v1/ops/alerts`: the open ones (default) or all, newest first, paged by `before` (a createdAt). */
export const OpsAlertsQuery = z.object({
  state: z.enum(["open", "all"]).default("open"),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: z.coerce.number().int().min(0).optional(),
});
export type OpsAlertsQuery = z.infer<typeof OpsAlertsQuery>;

/**
 * `city.watch` on the operations desk's feed: send this area's cells (`city` frames) now and every
 * CITY_PUSH_MS while the socket is open, instead of the page polling GET /v1/ops/cells. A later
 * watch replaces the socket's area; closing the socket ends it.
 */
export const CityWatchFrame = z
  .object({ type: z.literal("city.watch"), id: FrameId.optional() })
  .extend(CityArea.shape);
export type CityWatchFrame = z.infer<typeof CityWatchFrame>;

/** The operations desk's feed (`/v1/ops/alerts/ws`): pings, and the area of the city to push. */
export const OpsDeskClientFrame = z.discriminatedUnion("type", [PingFrame, CityWatchFrame]);
export type OpsDeskClientFrame = z.infer<typeof OpsDeskClientFrame>;

/**
 * An alert as it is now, the moment it is raised or acknowledged. The feed keeps no log: a
 * page reads the open alerts with `GET /v1/ops/alerts` on `welcome` (after every reconnect),
 * then applies these.
 */
export type OpsAlertFrame = { type: "alert"; alert: TripAlert };
/**
 * A trip the watchdog (domain/trip-watchdog) just moved, the moment it did: `driver_silent` (handed back to matching
 * without `driverId`) or `arrived_no_start` (cancelled by the service). `GET /v1/ops/cancellations?by=system` is the
 * record of them; this is the live feed.
 */
export type StuckTrip = {
  tripId: string;
  reasonCode: "driver_silent" | "arrived_no_start";
  riderId: string;
  driverId: string;
  at: number;
};
export type OpsStuckTripFrame = { type: "stuck_trip"; trip: StuckTrip };
export type OpsDeskWelcome = WelcomeFrame<Record<never, never>>;
/** The watched area's cells as GET /v1/ops/cells answers them, pushed by the desk (see `CityWatchFrame`). */
export type OpsCityFrame = { type: "city"; city: OpsCellsResponse };
/** The live metrics as GET /v1/ops/metrics answers them, pushed with each `city` frame to the pages that watch. */
export type OpsMetricsFrame = { type: "metrics"; metrics: OpsMetricsResponse };
export type OpsDeskFrame = OpsDeskWelcome | OpsAlertFrame | OpsStuckTripFrame | OpsCityFrame | OpsMetricsFrame;
export type OpsDeskServerFrame = OpsDeskFrame | ControlFrame;
