// Scheduled rides (README, "Scheduled rides"): a ride requested for a later pickup time, its
// fare held and its dispatch started by the trip's alarm at their lead times (the test moves
// the timers and runs the alarm), listing and cancelling upcoming rides, a wallet that does not
// cover the hold, no driver by the pickup time, an immediate ride meanwhile, the request's
// refusals, and the reconciliation cron leaving a scheduled ride's hold alone.
import { isRidewireError, RidewireClient } from "@ridewire/client";
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { reconcile } from "../../src/payments/reconcile";
import type { LatLng } from "../../src/protocol/common";
import { call, registerUser, type TestUser, unique } from "../helpers/api";
import {
  area,
  driverAction,
  editTripState,
  expectError,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  requestTrip,
  runTripAlarm,
  stopTripAlarms,
  tripStub,
  waitDriverStatus,
  waitFor,
} from "../helpers/dispatch";
import { expectLedgerBalanced, walletOf } from "../helpers/ledger";

const config = loadConfig(env);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

afterAll(stopTripAlarms);
afterEach(expectLedgerBalanced);

function schedule(
  rider: TestUser,
  pickup: LatLng,
  scheduledAt: unknown,
  options: { dropoff?: LatLng; headers?: Record<string, string> } = {},
) {
  return call("POST", "/v1/trips", {
    token: rider.token,
    body: { pickup, dropoff: options.dropoff ?? offset(pickup, 3), scheduledAt },
    ...(options.headers ? { headers: options.headers } : {}),
  });
}

/** A ride scheduled two hours ahead (beyond the hold's lead time: nothing is held yet). */
async function scheduledRide(rider: TestUser, pickup: LatLng, scheduledAt = Date.now() + 2 * 60 * MINUTE) {
  const res = await schedule(rider, pickup, scheduledAt);
  expect(res.status).toBe(201);
  return res.body.trip;
}

async function upcoming(rider: TestUser): Promise<{ id: string; status: string; scheduledAt: number }[]> {
  const res = await call("GET", "/v1/trips/scheduled", { token: rider.token });
  expect(res.status).toBe(200);
  return res.body.trips;
}

/**
 * Makes the ride's next step due (the hold, or the start of dispatch) as if its lead time had
 * come, and runs the trip's alarm: what the alarm set for that time would do.
 */
async function reachStep(tripId: string, step: "hold" | "dispatch"): Promise<void> {
  await runInDurableObject(tripStub(tripId), (_instance, ctx) => {
    const due = Date.now() - 1;
    if (step === "hold") ctx.storage.sql.exec(`UPDATE schedule SET hold_at = ?`, due);
    else ctx.storage.sql.exec(`UPDATE schedule SET hold_at = MIN(hold_at, ?), dispatch_at = ?`, due, due);
  });
  expect(await runTripAlarm(tripId)).toBe(true);
}

/** As if the pickup time (and the grace after it, and the match timeout) had passed. */
async function passPickup(tripId: string): Promise<void> {
  const past = Date.now() - config.SCHEDULE_NO_DRIVER_GRACE_MS - config.MATCH_TIMEOUT_MS - 1_000;
  await editTripState(tripId, (s) => {
    s.scheduledAt = past;
    s.matchingStartedAt = Math.min(s.matchingStartedAt, past);
  });
  await runInDurableObject(tripStub(tripId), (_instance, ctx) => {
    ctx.storage.sql.exec(`UPDATE schedule SET pickup_at = ?`, past);
  });
}

async function heldOf(rider: TestUser): Promise<number> {
  return (await walletOf(rider)).held.amount;
}

/** Waits for the rider's notification of the trip's status event `seq` to reach the log. */
function notified(rider: TestUser, tripId: string, seq: number) {
  const id = `trip:${tripId}:${seq}:${rider.user.id}`;
  return waitFor(
    `notification ${id}`,
    async () => {
      const res = await call("GET", "/v1/notifications?limit=100", { token: rider.token });
      return (res.body.notifications as { id: string; type: string }[]).find((n) => n.id === id);
    },
    8_000,
  );
}

describe("POST /v1/trips with scheduledAt", () => {
  it("refuses a pickup time too soon, too far, not a time, and from a driver", async () => {
    const rider = await registerUser("rider");
    const pickup = area(1);
    const now = Date.now();
    const soon = await schedule(rider, pickup, now + 5 * MINUTE);
    expectError(soon, 400, "schedule_out_of_range");
    expect(soon.body.error.details.earliest).toBeGreaterThanOrEqual(now + config.SCHEDULE_MIN_LEAD_MS);
    expectError(await schedule(rider, pickup, now - MINUTE), 400, "schedule_out_of_range");
    expectError(await schedule(rider, pickup, now + 31 * DAY), 400, "schedule_out_of_range");
    for (const bad of ["tomorrow", new Date(now + DAY).toISOString(), now + DAY + 0.5, -1, 0, null, 1e300])
      expectError(await schedule(rider, pickup, bad), 400, "invalid_request");
    const driver = await registerUser("driver");
    expectError(await schedule(driver, pickup, now + DAY), 403, "forbidden");
    // Nothing was listed or held by any of them.
    expect(await upcoming(rider)).toEqual([]);
    expect(await heldOf(rider)).toBe(0);
  });

  it("creates a scheduled ride with its quote locked, holds nothing yet, and lists it", async () => {
    const rider = await registerUser("rider");
    const pickup = area(2);
    const quoted = await call("POST", "/v1/quotes", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 4) },
    });
    expect(quoted.status).toBe(201);
    const scheduledAt = Date.now() + 3 * DAY;
    const res = await call("POST", "/v1/trips", {
      token: rider.token,
      body: { quoteId: quoted.body.quote.id, scheduledAt },
    });
    expect(res.status).toBe(201);
    const trip = res.body.trip;
    expect(trip).toMatchObject({ status: "scheduled", scheduledAt, driverId: null, quote: quoted.body.quote });
    expect(await heldOf(rider)).toBe(0);
    // Not the rider's current trip: the slot is free for a ride now.
    expect((await call("GET", "/v1/trips/current", { token: rider.token })).body.trip).toBeNull();
    expect(await upcoming(rider)).toMatchObject([{ id: trip.id, status: "scheduled", scheduledAt }]);
    // Another rider sees neither the ride nor it in their list.
    const other = await registerUser("rider");
    expect(await upcoming(other)).toEqual([]);
    expectError(await call("GET", `/v1/trips/${trip.id}`, { token: other.token }), 403, "forbidden");
    // Past the quote's own expiry the ride keeps its fare: the alarm holds exactly the quoted fare.
    await reachStep(trip.id, "hold");
    expect(await heldOf(rider)).toBe(quoted.body.quote.fare.amount);
  });

  it("holds a fare due at once before answering: 402 for a wallet that does not cover it, nothing listed", async () => {
    const pickup = area(5);
    // Half an hour ahead: inside the hold's lead time (1 h).
    const broke = await registerUser("rider", "Rider", { funds: 0 });
    const refused = await schedule(broke, pickup, Date.now() + 30 * MINUTE);
    expectError(refused, 402, "insufficient_funds");
    expect(await upcoming(broke)).toEqual([]);
    expect(await heldOf(broke)).toBe(0);

    const rider = await registerUser("rider");
    const res = await schedule(rider, pickup, Date.now() + 30 * MINUTE);
    expect(res.status).toBe(201);
    expect(await heldOf(rider)).toBe(res.body.trip.quote.fare.amount);
    // The trip's alarm, due at once, holds nothing twice.
    await runTripAlarm(res.body.trip.id);
    expect(await heldOf(rider)).toBe(res.body.trip.quote.fare.amount);
    expect((await getTrip(rider, res.body.trip.id)).status).toBe("scheduled");
  });

  it("answers a retry with the same Idempotency-Key with the same ride, and another ride with 409", async () => {
    const rider = await registerUser("rider");
    const pickup = area(3);
    const scheduledAt = Date.now() + DAY;
    const headers = { "Idempotency-Key": unique("key") };
    const [a, b] = await Promise.all([
      schedule(rider, pickup, scheduledAt, { headers }),
      schedule(rider, pickup, scheduledAt, { headers }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.trip.id).toBe(b.body.trip.id);
    expect(await upcoming(rider)).toHaveLength(1);
    expectError(await schedule(rider, pickup, scheduledAt + MINUTE, { headers }), 409, "conflict");
  });

  it("refuses a ride within SCHEDULE_MIN_GAP_MS of another of the rider's, not of someone else's", async () => {
    const rider = await registerUser("rider");
    const pickup = area(6);
    const at = Date.now() + DAY;
    const first = await scheduledRide(rider, pickup, at);
    for (const near of [at, at - 20 * MINUTE, at + config.SCHEDULE_MIN_GAP_MS - 1]) {
      const res = await schedule(rider, pickup, near);
      expectError(res, 409, "schedule_overlap");
      expect(res.body.error.details).toEqual({ tripId: first.id });
    }
    expect((await schedule(rider, pickup, at + config.SCHEDULE_MIN_GAP_MS)).status).toBe(201);
    expect((await schedule(await registerUser("rider"), pickup, at)).status).toBe(201);
  });

  it(`allows SCHEDULE_MAX_UPCOMING (${config.SCHEDULE_MAX_UPCOMING}) upcoming rides per rider`, async () => {
    const rider = await registerUser("rider");
    const pickup = area(4);
    const trips = [];
    for (let i = 0; i < config.SCHEDULE_MAX_UPCOMING; i++)
      trips.push(await scheduledRide(rider, pickup, Date.now() + (i + 1) * DAY));
    const over = await schedule(rider, pickup, Date.now() + 10 * DAY);
    expectError(over, 409, "too_many_scheduled");
    expect(over.body.error.details).toEqual({ limit: config.SCHEDULE_MAX_UPCOMING });
    // Soonest first.
    expect((await upcoming(rider)).map((t) => t.id)).toEqual(trips.map((t) => t.id));
    // A cancel makes room once the cancel reaches D1 (promptly: it ends the trip).
    expect((await call("POST", `/v1/trips/${trips[0].id}/cancel`, { token: rider.token })).status).toBe(200);
    await runTripAlarm(trips[0].id);
    await waitFor("a place for another ride", async () =>
      (await schedule(rider, pickup, Date.now() + 10 * DAY)).status === 201 ? true : undefined,
    );
  });
});

describe("a scheduled ride's lead times", () => {
  it("holds the fare at its lead time, starts dispatch at its own, and a driver completes the ride", async () => {
    const rider = await registerUser("rider");
    const pickup = area(10);
    const trip = await scheduledRide(rider, pickup);
    const fare = trip.quote.fare.amount;

    await reachStep(trip.id, "hold");
    expect(await heldOf(rider)).toBe(fare);
    expect((await getTrip(rider, trip.id)).status).toBe("scheduled");
    expect((await upcoming(rider)).map((t) => t.id)).toEqual([trip.id]);
    // A second alarm holds nothing twice.
    await reachStep(trip.id, "hold");
    expect(await heldOf(rider)).toBe(fare);

    const driver = await onlineDriver(offset(pickup, 0.5));
    await reachStep(trip.id, "dispatch");
    const offer = await nextOffer(driver, trip.id);
    expect(offer).toMatchObject({ tripId: trip.id, fare: trip.quote.fare });
    expect(await upcoming(rider)).toEqual([]);
    // The ride holds the rider's active-trip slot now.
    expect((await call("GET", "/v1/trips/current", { token: rider.token })).body.trip).toMatchObject({
      id: trip.id,
      status: "matching",
    });
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    for (const action of ["arrived", "start", "complete"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    await waitDriverStatus(driver, "available");
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "completed", driverId: driver.user.id });
    await runTripAlarm(trip.id);
    await waitFor("the fare to be captured", async () => ((await heldOf(rider)) === 0 ? true : undefined));
  });

  it("cancels for free before dispatch: no hold is left and the ride is not listed", async () => {
    const rider = await registerUser("rider");
    const pickup = area(11);
    const before = await walletOf(rider);
    const trip = await scheduledRide(rider, pickup);
    await reachStep(trip.id, "hold");
    expect(await heldOf(rider)).toBe(trip.quote.fare.amount);

    // Nobody else may cancel it.
    const stranger = await registerUser("rider");
    expectError(await call("POST", `/v1/trips/${trip.id}/cancel`, { token: stranger.token }), 403, "forbidden");
    const driver = await registerUser("driver");
    expectError(await call("POST", `/v1/trips/${trip.id}/cancel`, { token: driver.token }), 403, "forbidden");

    const res = await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token });
    expect(res.status).toBe(200);
    expect(res.body.trip).toMatchObject({ status: "cancelled", cancelledBy: "rider" });
    expect(res.body.trip.cancellationFee).toBeUndefined();
    expect(await upcoming(rider)).toEqual([]);
    await runTripAlarm(trip.id);
    await waitFor("the hold to be released", async () => ((await heldOf(rider)) === 0 ? true : undefined));
    expect((await walletOf(rider)).balance).toEqual(before.balance);
    // Its lead times come and go: nothing happens to a cancelled ride.
    await runInDurableObject(tripStub(trip.id), (_instance, ctx) => {
      ctx.storage.sql.exec(`UPDATE schedule SET hold_at = 0, dispatch_at = 0`);
    });
    await runTripAlarm(trip.id);
    expect((await getTrip(rider, trip.id)).status).toBe("cancelled");
    expect(await heldOf(rider)).toBe(0);
    expectError(await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token }), 409, "conflict");
  });

  it("cancels the ride and tells the rider when the wallet does not cover the hold", async () => {
    const rider = await registerUser("rider", "Rider", { funds: 0 });
    const pickup = area(12);
    // Accepted with an empty wallet: the money only needs to be there at the hold's lead time.
    const trip = await scheduledRide(rider, pickup);
    await reachStep(trip.id, "hold");
    const ended = await getTrip(rider, trip.id);
    expect(ended).toMatchObject({
      status: "cancelled",
      cancelledBy: "system",
      cancellation: { reasonCode: "schedule_unfunded" },
    });
    expect(ended.cancellationFee).toBeUndefined();
    expect(await upcoming(rider)).toEqual([]);
    expect(await heldOf(rider)).toBe(0);
    // Seq 1 is `scheduled`, 2 the cancel: the rider (with no socket in the trip) is sent it.
    expect(await notified(rider, trip.id, 2)).toMatchObject({ type: "trip_status" });
  });

  it("ends no_driver when no driver is found by the pickup time, releases the hold and tells the rider", async () => {
    const rider = await registerUser("rider");
    const pickup = area(13);
    const trip = await scheduledRide(rider, pickup);
    await reachStep(trip.id, "dispatch");
    expect(await heldOf(rider)).toBe(trip.quote.fare.amount);
    expect((await getTrip(rider, trip.id)).status).toBe("matching");
    // Before the pickup time it keeps looking, well past the match timeout of a ride for now.
    await editTripState(trip.id, (s) => {
      s.matchingStartedAt = Date.now() - config.MATCH_TIMEOUT_MS - 1_000;
    });
    await runTripAlarm(trip.id);
    expect((await getTrip(rider, trip.id)).status).toBe("matching");

    await passPickup(trip.id);
    await runTripAlarm(trip.id);
    expect((await getTrip(rider, trip.id)).status).toBe("no_driver");
    await runTripAlarm(trip.id);
    await waitFor("the hold to be released", async () => ((await heldOf(rider)) === 0 ? true : undefined));
    // 1 scheduled, 2 matching, 3 no_driver.
    expect(await notified(rider, trip.id, 3)).toMatchObject({ type: "trip_status" });
  });

  it("lets the rider ride now while a ride is scheduled; dispatch waits for that ride, then gives up", async () => {
    const rider = await registerUser("rider");
    const pickup = area(14);
    const scheduled = await scheduledRide(rider, pickup);
    const now = await requestTrip(rider, offset(pickup, 1), offset(pickup, 4));
    expect(now.status).toBe("matching");
    expect((await call("GET", "/v1/trips/current", { token: rider.token })).body.trip.id).toBe(now.id);

    // Dispatch is due while the rider is on the ride for now: the scheduled one waits.
    await reachStep(scheduled.id, "dispatch");
    expect((await getTrip(rider, scheduled.id)).status).toBe("scheduled");
    expect((await call("GET", "/v1/trips/current", { token: rider.token })).body.trip.id).toBe(now.id);
    // Still busy at the pickup time: the scheduled ride ends, its hold is released, the rider is told.
    await passPickup(scheduled.id);
    await reachStep(scheduled.id, "dispatch");
    expect(await getTrip(rider, scheduled.id)).toMatchObject({
      status: "cancelled",
      cancelledBy: "system",
      cancellation: { reasonCode: "schedule_rider_busy" },
    });
    expect(await notified(rider, scheduled.id, 2)).toMatchObject({ type: "trip_status" });
    await runTripAlarm(scheduled.id);
    await waitFor("only the ride for now to hold money", async () =>
      (await heldOf(rider)) === now.quote.fare.amount ? true : undefined,
    );
    expect((await getTrip(rider, now.id)).status).toBe("matching");
  });

  it("starts dispatch once the rider's ride for now has ended", async () => {
    const rider = await registerUser("rider");
    const pickup = area(15);
    const scheduled = await scheduledRide(rider, pickup);
    const now = await requestTrip(rider, offset(pickup, 1), offset(pickup, 4));
    await reachStep(scheduled.id, "dispatch");
    expect((await getTrip(rider, scheduled.id)).status).toBe("scheduled");
    expect((await call("POST", `/v1/trips/${now.id}/cancel`, { token: rider.token })).status).toBe(200);
    await reachStep(scheduled.id, "dispatch");
    expect((await getTrip(rider, scheduled.id)).status).toBe("matching");
    expect((await call("GET", "/v1/trips/current", { token: rider.token })).body.trip.id).toBe(scheduled.id);
  });
});

describe("the SDK", () => {
  it("books, lists and cancels a scheduled ride, and surfaces the schedule's errors", async () => {
    const rider = await registerUser("rider");
    const sdk = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: rider.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });
    const pickup = area(30);
    const scheduledAt = Date.now() + DAY;
    const trip = await sdk.requestTrip({ pickup, dropoff: offset(pickup, 3), scheduledAt });
    expect(trip).toMatchObject({ status: "scheduled", scheduledAt });
    expect((await sdk.scheduledTrips()).map((t) => t.id)).toEqual([trip.id]);
    const tooSoon = await sdk.requestTrip({ pickup, dropoff: offset(pickup, 3), scheduledAt: Date.now() }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isRidewireError(tooSoon) && tooSoon.code).toBe("schedule_out_of_range");
    expect((await sdk.cancelTrip(trip.id)).status).toBe("cancelled");
    expect(await sdk.scheduledTrips()).toEqual([]);
  });
});

describe("the reconciliation cron and scheduled rides", () => {
  it("leaves a scheduled ride's hold alone and sets its lost alarm again", async () => {
    const rider = await registerUser("rider");
    const pickup = area(20);
    // Half an hour ahead: the hold's lead time (1 h) has already come, so the request holds the fare.
    const trip = await scheduledRide(rider, pickup, Date.now() + 30 * MINUTE);
    const fare = trip.quote.fare.amount;
    expect(await heldOf(rider)).toBe(fare);
    // The alarm is lost.
    await runInDurableObject(tripStub(trip.id), (_instance, ctx) => ctx.storage.deleteAlarm());

    const summary = await reconcile(env, config, Date.now() + config.RECONCILE_HOLD_GRACE_MS + MINUTE);
    expect(summary.released.map((r) => r.tripId)).not.toContain(trip.id);
    expect(summary.scheduledRearmed).toBeGreaterThanOrEqual(1);
    expect(await heldOf(rider)).toBe(fare);
    expect((await getTrip(rider, trip.id)).status).toBe("scheduled");
    const alarm = await runInDurableObject(tripStub(trip.id), (_instance, ctx) => ctx.storage.getAlarm());
    expect(alarm).not.toBeNull();
  });

  it("takes a listed ride whose trip was never created off the list", async () => {
    const rider = await registerUser("rider");
    const lost = unique("trip_lost");
    await env.DB.prepare(`INSERT INTO scheduled_trips (trip_id, rider_id, pickup_at, created_at) VALUES (?, ?, ?, ?)`)
      .bind(lost, rider.user.id, Date.now() - MINUTE, Date.now() - DAY)
      .run();
    await reconcile(env, config, Date.now());
    const row = await env.DB.prepare(`SELECT 1 FROM scheduled_trips WHERE trip_id = ?`).bind(lost).first();
    expect(row).toBeNull();
  });
});
