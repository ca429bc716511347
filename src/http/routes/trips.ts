/**
 * @module http/routes/trips
 * Quotes, trip requests and everything a rider or driver does to a trip over HTTP. The trip's
 * own object decides every move; the Worker validates input, enforces one active trip per
 * rider with an atomic claim in D1, and keeps trip requests idempotent.
 */
import { Hono } from "hono";
import { ratingOf, saveRating } from "../../db/ratings";
import { releaseHold } from "../../db/holds";
import {
  type ListingOutcome,
  listScheduledTrip,
  scheduledTripIdsOf,
  unlistScheduledTrip,
} from "../../db/scheduled-trips";
import {
  activeTripOf,
  claimRiderSlot,
  findRequestQuoteAndActivity,
  findTripRequest,
  forgetTripRequest,
  listTrips,
  recordCancel,
  recordRequestStatement,
  releaseActiveTrip,
  saveQuote,
  saveQuotes,
  type SlotClaim,
  type StoredQuote,
} from "../../db/trips";
import type { Config } from "../../config";
import { admitRequest, type RequestLimits } from "../../domain/request-limits";
import { priceQuote, quoteBreakdown } from "../../domain/pricing";
import { surgeMultiplier } from "../../domain/surge";
import { rideRefusal } from "../../domain/service-area";
import { firstNameOf, isActive, type TripRider } from "../../domain/trip";
import { slotHolderState } from "../../domain/rider-slot";
import { ApiError, conflict, notFound, type Result, unwrap } from "../../errors";
import type { LatLng } from "../../protocol/common";
import { cancelReasonOf } from "../../domain/cancel-reasons";
import {
  DriverCancelBody,
  QuoteBody,
  RiderCancelBody,
  RatingBody,
  StartBody,
  TripListQuery,
  type TripHistoryResponse,
  TripRequestBody,
  type Quote,
  type Trip,
} from "../../protocol/dispatch";
import { PostMessageBody } from "../../protocol/http";
import { tiersAt } from "../../domain/tiers";
import { nearbyByTier } from "../../rooms/geo-cell-client";
import { requireRole, requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { forwardFallback, forwardUpgrade } from "../upgrade";
import { newId } from "../../ids";
import { placeHold } from "../holds";
import { readBody, readId, readIdempotencyKey, readOptionalBody, readQuery } from "../validate";
import { redactSecrets } from "../../redact";
import { driverSession, tripRoom as tripObject } from "../../rooms/stubs";
import { logJson } from "../../log";

export const tripRoutes = new Hono<AppEnv>();

tripRoutes.use("/quotes", requireUser);
tripRoutes.use("/trips", requireUser);
tripRoutes.use("/trips/*", requireUser);

/**
 * Prices a ride now, per tier: distance and time from the straight line, the tier's fare rules, surge from the pickup
 * cell (its demand against the drivers there who serve the tier), pickup ETA from the cells around it. `tier`: that
 * tier only (400 `tier_unavailable` if it is not offered at the pickup); absent: the default tier offered there, then
 * every other tier offered there with a driver near. The cells are asked once for all the tiers.
 */
async function makeQuotes(c: AppContext, pickup: LatLng, dropoff: LatLng, tier?: string): Promise<StoredQuote[]> {
  const config = c.get("config");
  const refusal = rideRefusal({ areas: config.SERVICE_AREAS, minTripKm: config.MIN_TRIP_KM }, pickup, dropoff);
  if (refusal) throw new ApiError(400, refusal.code, refusal.message, refusal.details);
  const offered = tiersAt(config.TIERS, config.SERVICE_AREAS, pickup);
  const wanted = tier === undefined ? offered : offered.filter((t) => t.name === tier);
  const [main] = wanted;
  if (main === undefined)
    throw new ApiError(400, "tier_unavailable", `the ${tier ?? "default"} tier is not offered at this pickup`, {
      tiers: offered.map((t) => t.name),
    });
  const now = Date.now();
  const nearby = await nearbyByTier(
    c.env,
    config,
    pickup,
    wanted.map((t) => t.name),
    now,
  );
  const quotes: StoredQuote[] = [];
  for (const t of wanted) {
    const near = nearby[t.name] ?? { pickupEtaSec: null, availableDrivers: 0, recentRequests: 0 };
    // The first tier is always quoted, as before tiers (with no ETA when no driver is near); the others only when a
    // driver who serves them is.
    if (t !== main && near.pickupEtaSec === null) continue;
    const surge = surgeMultiplier(near);
    const terms = priceQuote(config, pickup, dropoff, surge, t);
    // Only the nearest ETA leaves this function: a quote never reveals where drivers are.
    const quote: Quote = {
      id: newId("qt"),
      pickup,
      dropoff,
      distanceKm: terms.distanceKm,
      durationMin: terms.durationMin,
      fare: terms.fare,
      surge,
      pickupEtaSec: near.pickupEtaSec,
      expiresAt: now + config.QUOTE_TTL_MS,
      tier: t.name,
      breakdown: quoteBreakdown(terms),
    };
    quotes.push({ quote, terms });
  }
  return quotes;
}

/** One tier's quote (a request that names its pickup and dropoff), saved for the trip to be made with. */
async function makeQuote(c: AppContext, pickup: LatLng, dropoff: LatLng, tier?: string): Promise<StoredQuote> {
  const [stored] = await makeQuotes(c, pickup, dropoff, tier);
  return stored as StoredQuote;
}

/**
 * `quotes`: one per tier (see makeQuotes), each saved to be requested by its id; `quote`: the first of them (the
 * default tier's, or the named one's), as the answer was before tiers.
 */
tripRoutes.post("/quotes", requireRole("rider"), async (c) => {
  const body = await readBody(c, QuoteBody);
  const stored = await makeQuotes(c, body.pickup, body.dropoff, body.tier);
  const riderId = c.get("identity").userId;
  await saveQuotes(c.env.DB, riderId, stored);
  return c.json({ quote: stored[0]?.quote, quotes: stored.map((s) => s.quote) }, 201);
});

const requestLimits = (config: Config): RequestLimits => ({
  requestLimit: config.TRIP_REQUEST_LIMIT,
  requestWindowMs: config.TRIP_REQUEST_WINDOW_MS,
  cooldownAfter: config.CANCEL_COOLDOWN_AFTER,
  cooldownWindowMs: config.CANCEL_COOLDOWN_WINDOW_MS,
  cooldownBaseMs: config.CANCEL_COOLDOWN_BASE_MS,
  cooldownMaxMs: config.CANCEL_COOLDOWN_MAX_MS,
});

tripRoutes.post("/trips", requireRole("rider"), async (c) => {
  const riderId = c.get("identity").userId;
  const key = readIdempotencyKey(c);
  const body = await readBody(c, TripRequestBody);
  if (body.scheduledAt !== undefined) checkScheduleWindow(c.get("config"), body.scheduledAt, Date.now());
  const limits = requestLimits(c.get("config"));
  // One round trip: the limits cost a trip request no extra one.
  const quoteId = "quoteId" in body ? body.quoteId : undefined;
  const earlier = await findRequestQuoteAndActivity(c.env.DB, riderId, key, quoteId, Date.now(), limits);
  const activity = earlier.activity;
  // A retry of a request that went through answers its trip, whatever the limits say now.
  if (earlier.earlierTripId !== undefined && key !== undefined) {
    const made = await keyedTrip(c, riderId, key, earlier.earlierTripId, earlier.earlierAt ?? 0);
    if (made !== undefined) return c.json({ trip: sameRideOrConflict(body, made) }, 201);
  }
  const admission = admitRequest(activity, Date.now(), limits);
  if (!admission.ok) {
    const retryAfter = Math.ceil(admission.retryAfterMs / 1000);
    const message =
      admission.reason === "cancel_cooldown"
        ? "you cancelled several trips lately; wait before requesting again"
        : "too many trip requests; wait before requesting again";
    throw new ApiError(
      429,
      "rate_limited",
      message,
      { reason: admission.reason, retryAfterSeconds: retryAfter },
      retryAfter,
    );
  }
  let stored: StoredQuote;
  if ("quoteId" in body) {
    if (!earlier.quote) throw notFound("quote not found");
    if (earlier.quote.quote.expiresAt <= Date.now()) throw conflict("the quote has expired; ask for a new one");
    stored = earlier.quote;
  } else {
    stored = await makeQuote(c, body.pickup, body.dropoff, body.tier);
    await saveQuote(c.env.DB, riderId, stored.quote, stored.terms);
  }
  // What the driver is shown of the rider, from the offer on: read in the same round trip as the limits.
  const rider: TripRider = {
    firstName: firstNameOf(c.get("identity").name, "Rider"),
    rating: earlier.riderRating.average,
  };
  if (body.scheduledAt !== undefined)
    return c.json({ trip: await scheduleTrip(c, { riderId, rider }, key, body, body.scheduledAt, stored) }, 201);

  const tripId = newId("trip");
  const now = Date.now();
  // The quote's fare is held on the wallet before anything else (402 insufficient_funds), so of
  // several requests at once only those the balance covers go on (db/postings.ts says how). The
  // hold is in the rider's partition; then one transaction in `DB` claims the rider's one
  // active-trip slot, and records the Idempotency-Key if the claim took. The hold is given back if
  // the request goes no further; the trip room settles it when the trip ends. A crash between the
  // hold and the claim leaves a hold with no trip, which the reconciliation gives back
  // (payments/reconcile.ts, "unknown_trip").
  await placeHold(c.env, tripId, riderId, stored.quote.fare, now);
  const giveBack = () =>
    releaseHold(c.env, tripId, riderId, stored.quote.fare.currency, Date.now()).catch((err) =>
      logHoldLeak(tripId, err),
    );
  let twin: Trip | null = null;
  try {
    const slot = await claimRiderSlot(c.env.DB, riderId, tripId, now, {
      key,
      alongside: [recordRequestStatement(c.env.DB, riderId, tripId, now)],
    });
    twin = await takeSlot(c, riderId, tripId, key, slot);
  } catch (err) {
    await giveBack();
    throw err;
  }
  if (twin !== null) {
    await giveBack();
    return c.json({ trip: sameRideOrConflict(body, twin) }, 201);
  }
  try {
    const trip = unwrap(
      await tripObject(c.env, tripId).create(
        { id: tripId, riderId, rider, quote: stored.quote, terms: stored.terms },
        c.get("traceId"),
      ),
    );
    return c.json({ trip }, 201);
  } catch (err) {
    // No trip was made: a retry with the key makes it rather than asking for this one. Each step
    // goes on if the one before fails: a key or a slot left behind is given up after
    // SLOT_CREATE_GRACE_MS, and the hold goes back here (or through the reconciliation).
    if (key !== undefined)
      await forgetTripRequest(c.env.DB, riderId, key, tripId).catch((e) =>
        logFailure("could not forget a failed request's key", tripId, e),
      );
    await releaseActiveTrip(c.env.DB, riderId, tripId).catch((e) =>
      logFailure("could not free a failed request's slot", tripId, e),
    );
    await giveBack();
    throw err;
  }
});

/**
 * An Idempotency-Key answers with its first trip only when it asks for the same ride (the same
 * quote, or the same pickup and dropoff); reused for another ride it is 409, as top-ups do,
 * rather than a silent answer with a trip the rider did not ask for this time.
 */
function sameRideOrConflict(body: TripRequestBody, trip: Trip): Trip {
  const same =
    body.scheduledAt === trip.scheduledAt &&
    ("quoteId" in body
      ? trip.quote.id === body.quoteId
      : trip.pickup.lat === body.pickup.lat &&
        trip.pickup.lng === body.pickup.lng &&
        trip.dropoff.lat === body.dropoff.lat &&
        trip.dropoff.lng === body.dropoff.lng &&
        (body.tier === undefined || trip.quote.tier === body.tier));
  if (!same) throw conflict("this Idempotency-Key was used for a different trip request", { tripId: trip.id });
  return trip;
}

/** A pickup time from SCHEDULE_MIN_LEAD_MS to SCHEDULE_MAX_AHEAD_MS ahead of `now`, or 400 `schedule_out_of_range`. */
function checkScheduleWindow(config: Config, scheduledAt: number, now: number): void {
  const earliest = now + config.SCHEDULE_MIN_LEAD_MS;
  const latest = now + config.SCHEDULE_MAX_AHEAD_MS;
  if (scheduledAt >= earliest && scheduledAt <= latest) return;
  throw new ApiError(
    400,
    "schedule_out_of_range",
    `a ride is scheduled from ${config.SCHEDULE_MIN_LEAD_MS / 60_000} minutes to ` +
      `${Math.floor(config.SCHEDULE_MAX_AHEAD_MS / 86_400_000)} days ahead`,
    { earliest, latest },
  );
}

/**
 * A scheduled ride (README, "Scheduled rides"): no active-trip slot now and, unless its lead time
 * has already come, no hold (the trip takes both at their lead times, rooms/trip-schedule.ts), so
 * the rider may ride meanwhile. A hold due at once is placed here, so that a wallet that does not
 * cover it is 402 now rather than a cancelled ride a moment later. The quote is locked: its fare
 * and terms are what the ride costs, whatever surge says at pickup. Listed in D1 within the
 * rider's limit, with the Idempotency-Key, in one transaction.
 */
async function scheduleTrip(
  c: AppContext,
  { riderId, rider }: { riderId: string; rider: TripRider },
  key: string | undefined,
  body: TripRequestBody,
  scheduledAt: number,
  stored: StoredQuote,
): Promise<Trip> {
  const config = c.get("config");
  const tripId = newId("trip");
  const now = Date.now();
  const holdNow = scheduledAt - config.SCHEDULE_HOLD_LEAD_MS <= now;
  if (holdNow) await placeHold(c.env, tripId, riderId, stored.quote.fare, now);
  // The trip holds nothing until it exists: a request that goes no further gives the hold back.
  const giveBack = async () => {
    if (holdNow)
      await releaseHold(c.env, tripId, riderId, stored.quote.fare.currency, Date.now()).catch((err) =>
        logHoldLeak(tripId, err),
      );
  };
  let listing: ListingOutcome;
  try {
    listing = await listScheduledTrip(c.env.DB, {
      riderId,
      tripId,
      pickupAt: scheduledAt,
      now,
      key,
      limit: config.SCHEDULE_MAX_UPCOMING,
      minGapMs: config.SCHEDULE_MIN_GAP_MS,
    });
  } catch (err) {
    await giveBack();
    throw err;
  }
  if (listing.listed && listing.keyRecorded) {
    try {
      return unwrap(
        await tripObject(c.env, tripId).create(
          { id: tripId, riderId, rider, quote: stored.quote, terms: stored.terms, scheduledAt },
          c.get("traceId"),
        ),
      );
    } catch (err) {
      if (key !== undefined)
        await forgetTripRequest(c.env.DB, riderId, key, tripId).catch((e) =>
          logFailure("could not forget a failed schedule's key", tripId, e),
        );
      await unlistScheduledTrip(c.env.DB, tripId).catch((e) =>
        logFailure("could not unlist a failed schedule", tripId, e),
      );
      await giveBack();
      throw err;
    }
  }
  if (listing.listed) await unlistScheduledTrip(c.env.DB, tripId);
  await giveBack();
  // A twin request with the same key listed its ride first (its ride may also be what this one
  // overlaps): this one answers with it.
  const twin = key === undefined ? undefined : await twinTrip(c, riderId, key);
  if (twin !== undefined) return sameRideOrConflict(body, twin);
  if (listing.listed) throw conflict("this Idempotency-Key is in use by a request still in flight");
  if (listing.why === "overlap")
    throw new ApiError(
      409,
      "schedule_overlap",
      `you have a scheduled ride within ${config.SCHEDULE_MIN_GAP_MS / 60_000} minutes of this pickup time`,
      { tripId: listing.tripId },
    );
  throw new ApiError(
    409,
    "too_many_scheduled",
    `you have ${config.SCHEDULE_MAX_UPCOMING} upcoming scheduled rides already; cancel one first`,
    { limit: config.SCHEDULE_MAX_UPCOMING },
  );
}

/**
 * The trip an earlier request with this Idempotency-Key made, if any. That request lists its ride
 * with its key before it creates the trip: its create is given a moment.
 */
async function twinTrip(c: AppContext, riderId: string, key: string): Promise<Trip | undefined> {
  const twinId = await findTripRequest(c.env.DB, riderId, key);
  if (twinId === undefined) return undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    const twin = plainResult(await tripObject(c.env, twinId).get(c.get("identity")));
    if (twin.ok || twin.error.code !== "not_found") return unwrap(twin);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw conflict("this Idempotency-Key is in use by a request still in flight");
}

/**
 * The trip the earlier request with this Idempotency-Key made. That request records its key with
 * its slot claim (or listing), before it creates the trip: a retry sent meanwhile waits a moment
 * for the trip, then is 409 with Retry-After while that request is still on its way. A key recorded
 * SLOT_CREATE_GRACE_MS ago whose trip never came to be is a request that died (as for the slot,
 * domain/rider-slot.ts): the key is forgotten, and undefined lets this request make the trip.
 */
async function keyedTrip(
  c: AppContext,
  riderId: string,
  key: string,
  tripId: string,
  recordedAt: number,
): Promise<Trip | undefined> {
  const trip = await tripOnceMade(c, tripId, recordedAt, "this Idempotency-Key is in use by a request still in flight");
  if (trip.ok || trip.error.code !== "not_found") return unwrap(trip);
  await forgetTripRequest(c.env.DB, riderId, key, tripId);
  return undefined;
}

/**
 * The trip `tripId` as it answers this request, given the moment its request needs to create it:
 * while it answers not_found and was claimed (or its key recorded) at `since` less than
 * SLOT_CREATE_GRACE_MS ago, it is asked again every HOLDER_CREATE_WAIT_MS, HOLDER_CREATE_WAITS
 * times, and then this request is 409 with Retry-After (`busy`). A not_found past the grace is
 * answered: that request died.
 */
async function tripOnceMade(c: AppContext, tripId: string, since: number, busy: string): Promise<Result<Trip>> {
  for (let waits = 0; ; waits++) {
    const trip = plainResult(await tripObject(c.env, tripId).get(c.get("identity")));
    if (slotHolderState(trip, since, Date.now()) !== "being_created") return trip;
    if (waits >= HOLDER_CREATE_WAITS) throw new ApiError(409, "conflict", busy, { tripId }, 1);
    await scheduler.wait(HOLDER_CREATE_WAIT_MS);
  }
}

/** The plain Result: the RPC stub's type of it hides the error variant from narrowing. */
const plainResult = <T>(result: Result<T>): Result<T> => result;

/** The reconciliation cron (payments/reconcile.ts) releases such a hold later. */
function logHoldLeak(tripId: string, err: unknown): void {
  logFailure("could not release the hold of a failed request", tripId, err);
}

function logFailure(reason: string, tripId: string, err: unknown): void {
  logJson("error", {
    where: "trips",
    reason,
    tripId,
    error: redactSecrets(err instanceof Error ? err.message : String(err)),
  });
}

/**
 * Takes the rider's active-trip slot if the first attempt (`first`) found it held: once the trip
 * holding it says it is over (the trip room frees the slot behind its end, through its outbox), or
 * once it has not come to be within SLOT_CREATE_GRACE_MS. A holder still being created is asked
 * again after a moment. Returns the trip of a twin request (same Idempotency-Key, sent at the same
 * time) that got the key first, which this request then answers with; null when the slot and the
 * key are this trip's.
 */
async function takeSlot(
  c: AppContext,
  riderId: string,
  tripId: string,
  key: string | undefined,
  first: SlotClaim,
): Promise<Trip | null> {
  let slot = first;
  for (let attempt = 0; attempt < 3 && !slot.claimed; attempt++) {
    const holder = slot.holder;
    if (holder === null) {
      slot = await claimRiderSlot(c.env.DB, riderId, tripId, Date.now(), { key });
      continue;
    }
    const current = await tripOnceMade(
      c,
      holder.tripId,
      holder.claimedAt,
      "your last trip request is still being made",
    );
    if (slotHolderState(current, holder.claimedAt, Date.now()) !== "over") {
      // The twin wrote its key with its claim, so the read that found it holding found its key.
      if (current.ok && key !== undefined && slot.keyed?.tripId === holder.tripId) return current.value;
      throw conflict("you already have an active trip", { tripId: holder.tripId });
    }
    slot = await claimRiderSlot(c.env.DB, riderId, tripId, Date.now(), { key, from: holder.tripId });
  }
  if (!slot.claimed) throw conflict("you already have an active trip");
  // A twin with this key recorded it after this request looked for it, and its trip was over
  // before this claim (so the slot was free): that trip is the answer, not a second one under one key.
  if (key === undefined || slot.keyed === null || slot.keyed.tripId === tripId) return null;
  await releaseActiveTrip(c.env.DB, riderId, tripId);
  const keyed = await keyedTrip(c, riderId, key, slot.keyed.tripId, slot.keyed.recordedAt);
  if (keyed === undefined) throw new ApiError(409, "conflict", "this Idempotency-Key's request made no trip", {}, 1);
  return keyed;
}

/** A request that finds the slot held by a trip still being created asks it again this often, this many times. */
const HOLDER_CREATE_WAIT_MS = 25;
const HOLDER_CREATE_WAITS = 40;

/**
 * The rider's upcoming scheduled rides, soonest first, each read from its trip object (the D1
 * index only says which to ask); a ride that has left `scheduled` is not shown, whatever the
 * index says while its write-behind catches up.
 */
tripRoutes.get("/trips/scheduled", requireRole("rider"), async (c) => {
  const identity = c.get("identity");
  // Twice the limit: rows whose trips left `scheduled` a moment ago do not crowd out upcoming ones.
  const ids = await scheduledTripIdsOf(c.env.DB, identity.userId, 2 * c.get("config").SCHEDULE_MAX_UPCOMING);
  const trips = await Promise.all(ids.map(async (id) => tripObject(c.env, id).get(identity)));
  return c.json({
    trips: trips.flatMap((result) => (result.ok && result.value.status === "scheduled" ? [result.value] : [])),
  });
});

tripRoutes.get("/trips", async (c) => {
  const query = readQuery(c, TripListQuery);
  const body: TripHistoryResponse = await listTrips(c.env, c.get("identity").userId, query);
  return c.json(body);
});

/**
 * The caller's trip in progress, from the objects that own it rather than the trip list (which
 * D1 gets behind, TRIP_HISTORY_FLUSH_MS later): a rider's from the active-trip slot their
 * request claimed, a driver's from their session. `{ trip: null }` when there is none, or when
 * the one found has just ended.
 */
tripRoutes.get("/trips/current", async (c) => {
  const identity = c.get("identity");
  let tripId: string | null;
  if (identity.role === "driver") {
    // An offered trip is not theirs yet (its room would refuse them): only the one they drive.
    const driver = unwrap(await driverSession(c.env, identity.userId).get());
    tripId = driver.status === "on_trip" ? driver.tripId : null;
  } else tripId = await activeTripOf(c.env.DB, identity.userId);
  if (tripId === null) return c.json({ trip: null });
  const trip = unwrap(await tripObject(c.env, tripId).get(identity));
  return c.json({ trip: isActive(trip.status) ? trip : null });
});

tripRoutes.get("/trips/:id", async (c) =>
  c.json({ trip: unwrap(await tripObject(c.env, readId(c)).get(c.get("identity"))) }),
);

for (const action of ["accept", "decline", "complete"] as const) {
  tripRoutes.post(`/trips/:id/${action}`, requireRole("driver"), async (c) => {
    const trip = unwrap(await tripObject(c.env, readId(c))[action](c.get("identity"), c.get("traceId")));
    return c.json({ trip });
  });
}

tripRoutes.post("/trips/:id/arrived", requireRole("driver"), async (c) => {
  const trip = unwrap(await tripObject(c.env, readId(c)).arrived(c.get("identity"), undefined, c.get("traceId")));
  return c.json({ trip });
});

/** The driver starts the ride with the rider's PIN, where the trip needs one (README, "Safety"). */
tripRoutes.post("/trips/:id/start", requireRole("driver"), async (c) => {
  const body = await readOptionalBody(c, StartBody);
  const trip = unwrap(
    await tripObject(c.env, readId(c)).start(c.get("identity"), body.pin, undefined, c.get("traceId")),
  );
  return c.json({ trip });
});

tripRoutes.post("/trips/:id/cancel", async (c) => {
  const identity = c.get("identity");
  // Each side names its reason from its own list: a rider cannot say the rider did not show up.
  const body = await readOptionalBody(c, identity.role === "driver" ? DriverCancelBody : RiderCancelBody);
  const trip = unwrap(await tripObject(c.env, readId(c)).cancel(identity, cancelReasonOf(body), c.get("traceId")));
  // Recorded before the answer, so that the cool-down already holds for the rider's next
  // request; the trip room records it again with the trip's history (a repeat adds nothing).
  if (trip.status === "cancelled" && trip.riderId === identity.userId) {
    await recordCancel(c.env.DB, trip.riderId, trip.id, trip.updatedAt).catch((err) =>
      logFailure("could not record a rider's cancel", trip.id, err),
    );
  }
  return c.json({ trip });
});

tripRoutes.post("/trips/:id/rating", async (c) => {
  const tripId = readId(c);
  const body = await readBody(c, RatingBody);
  const { rateeId, role } = unwrap(await tripObject(c.env, tripId).rateeFor(c.get("identity")));
  const saved = await saveRating(c.env.DB, {
    tripId,
    raterId: c.get("identity").userId,
    rateeId,
    stars: body.stars,
    comment: body.comment ?? null,
    createdAt: Date.now(),
  });
  if (!saved) throw conflict("you have already rated this trip");
  const rating = await ratingOf(c.env.DB, rateeId);
  // The driver's rating feeds matching; their session carries it to the geo index.
  if (role === "driver") await driverSession(c.env, rateeId).setRating(rating.average);
  return c.json({ rating: { tripId, rateeId, stars: body.stars, comment: body.comment ?? null } }, 201);
});

tripRoutes.post("/trips/:id/messages", async (c) => {
  const key = readIdempotencyKey(c);
  const body = await readBody(c, PostMessageBody);
  const message = unwrap(
    await tripObject(c.env, readId(c)).postMessage(c.get("identity"), body.text, key, c.get("traceId")),
  );
  return c.json({ message }, 201);
});

tripRoutes.get("/trips/:id/ws", async (c) => forwardUpgrade(c, tripObject(c.env, readId(c))));
tripRoutes.get("/trips/:id/events", async (c) => forwardFallback(c, tripObject(c.env, readId(c)), "events"));
tripRoutes.get("/trips/:id/poll", async (c) => forwardFallback(c, tripObject(c.env, readId(c)), "poll"));
