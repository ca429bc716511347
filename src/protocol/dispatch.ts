/**
 * @module protocol/dispatch
 * Drivers, quotes, trips and ratings (docs/API.md): HTTP bodies, resources, and the frames of the
 * driver channel and the trip room.
 */
import { z } from "zod";
import { FareBreakdown, FareDecision } from "../domain/fare";
import { CancelReasonCode, DriverCancelBody, RiderCancelBody } from "../domain/cancel-reasons";
import { TripRider, TripStatus } from "../domain/trip";

export { TripRider };
import { LatLng, type Message, MessageText, Money } from "./common";
import { type ControlFrame, FrameId, PingFrame, type WelcomeFrame } from "./frames";
import { TripDriver, VehicleTier } from "./vehicles";

export const DriverStatus = z.enum(["offline", "available", "offered", "on_trip"]);
export type DriverStatus = z.infer<typeof DriverStatus>;

export const Driver = z.object({
  id: z.string(),
  status: DriverStatus,
  tripId: z.string().nullable(),
  location: LatLng.nullable(),
  locationAt: z.number().int().nullable(),
  connected: z.boolean(),
});
export type Driver = z.infer<typeof Driver>;

/**
 * `acceptLowerTiers`: the driver also takes rides of the tiers their vehicle's tier `accepts` (a comfort car taking
 * economy; README "Tiers"); absent: false.
 */
export const OnlineBody = z.object({ location: LatLng, acceptLowerTiers: z.boolean().optional() });
export type OnlineBody = z.infer<typeof OnlineBody>;

/** `PUT /v1/drivers/me/tiers`: whether the driver also takes the lower tiers their vehicle's tier accepts. */
export const DriverTiersBody = z.object({ acceptLowerTiers: z.boolean() }).strict();
export type DriverTiersBody = z.infer<typeof DriverTiersBody>;

/** The tiers a driver serves now (README, "Tiers"), and whether they opted in to the lower ones. */
export const DriverTiers = z.object({ acceptLowerTiers: z.boolean(), serves: z.array(z.string()) });
export type DriverTiers = z.infer<typeof DriverTiers>;

/** A tier's name (README, "Tiers"); which names exist is TIERS'. */
export const TierName = VehicleTier;

/** `tier`: quote (or request) only that tier; absent: every tier offered near the pickup (a request: the default). */
export const QuoteBody = z.object({ pickup: LatLng, dropoff: LatLng, tier: TierName.optional() });
export type QuoteBody = z.infer<typeof QuoteBody>;

export const Quote = z.object({
  id: z.string(),
  pickup: LatLng,
  dropoff: LatLng,
  distanceKm: z.number(),
  durationMin: z.number(),
  fare: Money,
  surge: z.number(),
  pickupEtaSec: z.number().int().nullable(),
  expiresAt: z.number().int(),
  /** The tier priced (README, "Tiers"); absent only on quotes made before tiers, which were the default tier's. */
  tier: z.string().optional(),
  /**
   * How `fare` is made up (base, distance, time, what surge adds, the top-up to the minimum fare), adding up to it;
   * absent only on quotes made before it was shown.
   */
  breakdown: FareBreakdown.optional(),
});
export type Quote = z.infer<typeof Quote>;

/**
 * A scheduled ride's pickup time (epoch ms; README, "Scheduled rides"): the route takes it from
 * SCHEDULE_MIN_LEAD_MS to SCHEDULE_MAX_AHEAD_MS ahead. Absent: a ride now.
 */
export const ScheduledAt = z.number().int().positive();
export const TripRequestBody = z.union([
  z.object({ quoteId: z.string().min(1).max(64), scheduledAt: ScheduledAt.optional() }).strict(),
  QuoteBody.extend({ scheduledAt: ScheduledAt.optional() }).strict(),
]);
export type TripRequestBody = z.infer<typeof TripRequestBody>;

export const Trip = z.object({
  id: z.string(),
  riderId: z.string(),
  driverId: z.string().nullable(),
  status: TripStatus,
  pickup: LatLng,
  dropoff: LatLng,
  quote: Quote,
  fare: Money.nullable(),
  driverLocation: LatLng.nullable(),
  etaSec: z.number().int().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  /** A scheduled ride's pickup time (epoch ms); absent on a ride requested for now (README, "Scheduled rides"). */
  scheduledAt: z.number().int().optional(),
  cancellationFee: Money.optional(),
  /**
   * Once cancelled: by the rider, by an operator, or by the service (`system`: a scheduled ride whose hold was refused
   * or whose rider was on another trip); a driver's cancel sends the trip back to matching.
   */
  cancelledBy: z.enum(["rider", "admin", "system"]).optional(),
  /** Once cancelled: why, as a code of the canceller's list (`admin` for an operator) and a note; null when none. */
  cancellation: z.object({ reasonCode: CancelReasonCode.nullable(), note: z.string().nullable() }).optional(),
  /**
   * Once completed: the quoted and the charged fare, and whether the cap or a review applied (README, "Money rules").
   */
  fareDecision: FareDecision.optional(),
  /**
   * The trip's PIN, in the rider's own reads (`POST /v1/trips`, `GET /v1/trips/:id`, `GET /v1/trips/current`) until
   * the ride starts; never in the driver's, nor in frames (README, "Safety").
   */
  pin: z.string().optional(),
  /**
   * The assigned driver from acceptance on: first name, rating and car (make, model, colour,
   * plate); never before a driver accepted (README, "Drivers and vehicles").
   */
  driver: TripDriver.optional(),
  /**
   * The rider as their driver sees them, from acceptance on: first name and rating (null before any); absent on
   * trips requested before it was shown (README, "Drivers and vehicles").
   */
  rider: TripRider.optional(),
});
export type Trip = z.infer<typeof Trip>;

/** A trip PIN as the driver types it: four digits. */
export const TripPinCode = z.string().regex(/^[0-9]{4}$/, "a PIN is four digits");

/** `POST /v1/trips/:id/start`: the PIN the rider read out, where the trip needs one. */
export const StartBody = z.object({ pin: TripPinCode.optional() });
export type StartBody = z.infer<typeof StartBody>;

export {
  CancelReasonCode,
  DriverCancelBody,
  DriverCancelCode,
  RiderCancelBody,
  RiderCancelCode,
} from "../domain/cancel-reasons";
/**
 * `POST /v1/trips/:id/cancel`: `{ reasonCode, note? }` from the caller's side's list (a note for `other`), or the old
 * `{ reason }` (read as `other`), or nothing. The route checks it against the caller's side.
 */
export const CancelBody = z.union([RiderCancelBody, DriverCancelBody]);
export type CancelBody = z.infer<typeof CancelBody>;
export const RatingBody = z.object({ stars: z.number().int().min(1).max(5), comment: z.string().max(500).optional() });
export type RatingBody = z.infer<typeof RatingBody>;

/**
 * Where a page of `GET /v1/trips` ends: the last trip's `createdAt` and id (the id breaks ties between trips made in
 * the same millisecond). Opaque to clients: they pass back `nextCursor` as it came.
 */
export const TripCursor = z
  .string()
  .regex(/^[0-9]{1,15}\.[A-Za-z0-9_-]{1,64}$/, "cursor must be a nextCursor as GET /v1/trips returned it")
  .transform((cursor) => {
    const dot = cursor.indexOf(".");
    return { createdAt: Number(cursor.slice(0, dot)), id: cursor.slice(dot + 1) };
  });
export type TripCursor = z.infer<typeof TripCursor>;
export const tripCursorOf = (trip: Pick<Trip, "createdAt" | "id">): string => `${trip.createdAt}.${trip.id}`;

export const TripListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    /** The page after the trip this names (`nextCursor` of the previous page). */
    cursor: TripCursor.optional(),
    /** Older clients' cursor: only trips created before this (epoch ms). */
    before: z.coerce.number().int().min(0).optional(),
    /** Only trips created at or after this (epoch ms). */
    since: z.coerce.number().int().min(0).optional(),
    /** Only trips created at or before this (epoch ms). */
    to: z.coerce.number().int().min(0).optional(),
    /** Only trips in this status. */
    status: TripStatus.optional(),
    /** Only the trips the caller rode (`rider`) or drove (`driver`). */
    as: z.enum(["rider", "driver"]).optional(),
  })
  .refine((q) => q.since === undefined || q.to === undefined || q.since <= q.to, {
    message: "since must not be after to",
    path: ["since"],
  });
export type TripListQuery = z.infer<typeof TripListQuery>;

/** A rating of the trip as `GET /v1/trips` shows it: the stars and the comment, if any. */
export const TripRatingSummary = z.object({ stars: z.number().int(), comment: z.string().nullable() });
export type TripRatingSummary = z.infer<typeof TripRatingSummary>;

/** A trip in the caller's history: the trip, with where its receipt is, its route and the ratings on it. */
export const TripHistoryEntry = Trip.extend({
  /** The receipt's path (`GET /v1/trips/:id/receipt`) for a trip that charged the rider: completed, or a fee. */
  receiptUrl: z.string().nullable(),
  /** Where it went: the quote's distance and duration, and the km the ride's trace measured once completed. */
  route: z.object({
    pickup: LatLng,
    dropoff: LatLng,
    distanceKm: z.number(),
    durationMin: z.number(),
    drivenKm: z.number().nullable(),
  }),
  /** The caller's rating of the other party (`given`) and the other party's of the caller (`received`). */
  ratings: z.object({ given: TripRatingSummary.nullable(), received: TripRatingSummary.nullable() }),
});
export type TripHistoryEntry = z.infer<typeof TripHistoryEntry>;

/** `GET /v1/trips`: a page of the caller's history, newest first; `nextCursor` null on the last page. */
export const TripHistoryResponse = z.object({ trips: z.array(TripHistoryEntry), nextCursor: z.string().nullable() });
export type TripHistoryResponse = z.infer<typeof TripHistoryResponse>;

/** `GET /v1/trips/scheduled`: the rider's upcoming scheduled rides, soonest pickup first. */
export const ScheduledTripsResponse = z.object({ trips: z.array(Trip) });
export type ScheduledTripsResponse = z.infer<typeof ScheduledTripsResponse>;

/** A location report from the driver's app. `at` is when the fix was taken (ms epoch). */
export const LocationFrame = z.object({
  type: z.literal("location"),
  id: FrameId.optional(),
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  heading: z.number().min(0).max(360).optional(),
  speedKmh: z.number().min(0).max(400).optional(),
  at: z.number().int(),
});
export type LocationFrame = z.infer<typeof LocationFrame>;

/** `POST /v1/drivers/me/location`: a location frame's fields, for apps on the SSE fallback. */
export const LocationBody = LocationFrame.omit({ type: true, id: true });
export type LocationBody = z.infer<typeof LocationBody>;

const FrameTripId = z.string().min(1).max(64);

export { TRIP_MOVE_OF_FRAME, type TripMoveFrameType } from "./trip-moves";

/**
 * A move on a trip the driver holds, over the channel: the same as `POST /v1/trips/:id/<move>`, answered with an ack.
 */
const tripMoveFrame = <T extends string>(type: T) =>
  z.object({ type: z.literal(type), id: FrameId.optional(), tripId: FrameTripId });

export const DriverClientFrame = z.discriminatedUnion("type", [
  LocationFrame,
  tripMoveFrame("offer.accept"),
  tripMoveFrame("offer.decline"),
  tripMoveFrame("trip.arrived"),
  tripMoveFrame("trip.start").extend(StartBody.shape),
  tripMoveFrame("trip.complete"),
  tripMoveFrame("trip.cancel").extend(DriverCancelBody.shape),
  PingFrame,
]);
export type DriverClientFrame = z.infer<typeof DriverClientFrame>;

export const TripClientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message"), id: FrameId.optional(), text: MessageText }),
  PingFrame,
]);
export type TripClientFrame = z.infer<typeof TripClientFrame>;

/** What a driver is offered: enough to decide, nothing about the rider. */
export const Offer = z.object({
  tripId: z.string(),
  pickup: LatLng,
  dropoff: LatLng,
  fare: Money,
  pickupEtaSec: z.number().int(),
  expiresAt: z.number().int(),
  /** Who asked for the ride: first name and rating, for the driver to decide with; absent on older trips. */
  rider: TripRider.optional(),
});
export type Offer = z.infer<typeof Offer>;

export type OfferFrame = { type: "offer" } & Offer;
export type OfferExpiredFrame = { type: "offer.expired"; tripId: string };
export type DriverTripFrame = { type: "trip"; trip: Trip };
export type TripStatusFrame = { type: "status"; seq: number; trip: Trip };
export type TripLocationFrame = { type: "location"; lat: number; lng: number; at: number; etaSec: number | null };
export type TripMessageFrame = { type: "message"; seq: number; message: Message };
export type TripFareFrame = { type: "fare"; seq: number; fare: Money };

export type TripWelcome = WelcomeFrame<{ trip: Trip }>;
/** What a trip room sends besides the control frames; `status`, `message` and `fare` are its stored events. */
export type TripRoomFrame = TripWelcome | TripStatusFrame | TripLocationFrame | TripMessageFrame | TripFareFrame;
/** The frames of a trip's log, each built for its seq. */
export type TripStoredFrame = TripStatusFrame | TripMessageFrame | TripFareFrame;
export type TripServerFrame = TripRoomFrame | ControlFrame;

/** The driver channel keeps no log: its `seq` stays 0, and a pending offer comes with the welcome. */
export type DriverWelcome = WelcomeFrame<{ driver: Driver; offer?: Offer }>;
export type DriverChannelFrame = DriverWelcome | OfferFrame | OfferExpiredFrame | DriverTripFrame;
export type DriverServerFrame = DriverChannelFrame | ControlFrame;

/** A `status` frame as stored in a trip's log; read back by the trip's write-behind. */
export const StoredStatusFrame = z.object({ type: z.literal("status"), seq: z.number().int(), trip: Trip });
