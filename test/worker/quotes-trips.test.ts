// Quotes, trips and ratings over HTTP (API.md): shapes, who may do what, every state move and
// its refusals, idempotent requests, one active trip per rider, cancellation fees, history.
import { env, exports } from "cloudflare:workers";
import { historyStatus } from "../helpers/shards";
import { runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { RidewireClient } from "@ridewire/client";
import { haversineKm } from "../../src/domain/geo";
import { Quote, Trip, TripHistoryEntry, TripHistoryResponse } from "../../src/protocol/dispatch";
import { SLOT_CREATE_GRACE_MS } from "../../src/domain/rider-slot";
import { USD, walletOf } from "../helpers/ledger";
import { call, connectOk, registerUser, type TestUser } from "../helpers/api";
import {
  acceptedTrip,
  area,
  driverAction,
  editTripState,
  expectError,
  frameSeen,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  type OnlineDriver,
  requestTrip,
  runTripAlarm,
  stopTripAlarms,
  tripStub,
  waitDriverStatus,
  waitFor,
} from "../helpers/dispatch";

// wrangler.toml's values.
const HISTORY_FLUSH_MS = 15_000; // TRIP_HISTORY_FLUSH_MS
const OUTBOX_FLUSH_DELAY_MS = 1_000;

const quote = (rider: TestUser, body: unknown) => call("POST", "/v1/quotes", { token: rider.token, body });
const cancel = (user: TestUser, tripId: string, body?: unknown) =>
  call("POST", `/v1/trips/${tripId}/cancel`, { token: user.token, ...(body === undefined ? {} : { body }) });
const rate = (user: TestUser, tripId: string, body: unknown) =>
  call("POST", `/v1/trips/${tripId}/rating`, { token: user.token, body });
const me = async (user: TestUser) => (await call("GET", "/v1/me", { token: user.token })).body.user;

/** Runs the trip's alarm and waits until its D1 history (the rider's row) shows `status`. */
async function flushed(tripId: string, status: string): Promise<void> {
  await runTripAlarm(tripId);
  await waitFor(`trip ${tripId} to reach D1 as ${status}`, async () => {
    return (await historyStatus(tripId)) === status ? true : undefined;
  });
}

async function completedTrip(rider: TestUser, driver: OnlineDriver, pickup: { lat: number; lng: number }) {
  const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
  for (const action of ["arrived", "start", "complete"] as const)
    expect((await driverAction(driver, trip.id, action)).status).toBe(200);
  await waitDriverStatus(driver, "available");
  return getTrip(rider, trip.id);
}

// No trip timer may fire while the runtime is torn down.
afterAll(stopTripAlarms);

describe("POST /v1/quotes", () => {
  it(
    "prices a ride: distance, duration, an integer fare, surge 1.0 when quiet, no pickup ETA without " + "drivers",
    async () => {
      const rider = await registerUser("rider");
      const pickup = area(1);
      const dropoff = offset(pickup, 8, 3);
      const before = Date.now();
      const res = await quote(rider, { pickup, dropoff });
      expect(res.status).toBe(201);
      const q = Quote.strict().parse(res.body.quote);
      expect(q).toMatchObject({ pickup, dropoff, surge: 1, pickupEtaSec: null });
      const straightKm = haversineKm(pickup, dropoff);
      expect(q.distanceKm).toBeGreaterThanOrEqual(straightKm);
      expect(q.distanceKm).toBeLessThan(straightKm * 2);
      // 25 km/h in town: minutes ≈ km × 60 / 25.
      expect(q.durationMin).toBeCloseTo((q.distanceKm * 60) / 25, 0);
      expect(Number.isInteger(q.fare.amount)).toBe(true);
      expect(q.fare.currency).toBe("USD");
      // base 250 + 120 per km + 30 per minute, at least 700.
      expect(
        Math.abs(q.fare.amount - Math.max(700, 250 + q.distanceKm * 120 + q.durationMin * 30)),
      ).toBeLessThanOrEqual(2);
      expect(q.expiresAt).toBeGreaterThan(before);
      expect(q.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
      // The parts the rider is shown before requesting add up to the fare; no surge and no top-up when quiet.
      const b = q.breakdown;
      expect(b).toMatchObject({ base: 250, surge: 0, fee: 0 });
      expect(Math.abs((b?.distance ?? 0) - q.distanceKm * 120)).toBeLessThanOrEqual(1);
      expect(Math.abs((b?.time ?? 0) - q.durationMin * 30)).toBeLessThanOrEqual(1);
      expect((b?.base ?? 0) + (b?.distance ?? 0) + (b?.time ?? 0) + (b?.surge ?? 0) + (b?.fee ?? 0)).toBe(
        q.fare.amount,
      );
    },
  );

  it("charges at least the minimum fare for a short hop", async () => {
    const rider = await registerUser("rider");
    const pickup = area(2);
    const res = await quote(rider, { pickup, dropoff: offset(pickup, 0.25) });
    expect(res.status).toBe(201);
    expect(res.body.quote.fare).toEqual({ amount: 700, currency: "USD" });
    // The top-up to the minimum fare is its own part, so the rider sees why a short hop costs what it does.
    const b = res.body.quote.breakdown;
    expect(b.fee).toBeGreaterThan(0);
    expect(b.base + b.distance + b.time + b.surge + b.fee).toBe(700);
  });

  it("shows a pickup ETA with a driver nearby and never the driver's id or position", async () => {
    const pickup = area(3);
    const driverAt = offset(pickup, 0.6, 0.4);
    const driver = await onlineDriver(driverAt);
    const rider = await registerUser("rider");
    const res = await quote(rider, { pickup, dropoff: offset(pickup, 5) });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body.quote).sort()).toEqual([
      "breakdown",
      "distanceKm",
      "dropoff",
      "durationMin",
      "expiresAt",
      "fare",
      "id",
      "pickup",
      "pickupEtaSec",
      "surge",
      // The tier priced (README, "Tiers"): the default one here.
      "tier",
    ]);
    const q = res.body.quote;
    // 0.72 km × 1.3 detour at 25 km/h ≈ 135 s.
    expect(q.pickupEtaSec).toBeGreaterThan(60);
    expect(q.pickupEtaSec).toBeLessThan(300);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(driver.user.id);
    expect(text).not.toContain(String(driverAt.lat));
    expect(text).not.toContain(String(driverAt.lng));
    driver.socket.close();
  });

  it("surges within 1.0..3.0 when requests outnumber available drivers", async () => {
    const pickup = area(4);
    const dropoff = offset(pickup, 5);
    const first = await registerUser("rider");
    const calm = (await quote(first, { pickup, dropoff })).body.quote;
    expect(calm.surge).toBe(1);
    // A request with no driver around leaves unserved demand in the pickup's cell.
    await requestTrip(first, pickup, dropoff);
    const second = await registerUser("rider");
    const surged = await waitFor("the surge to rise", async () => {
      const q = (await quote(second, { pickup, dropoff })).body.quote;
      return q.surge > 1 ? q : undefined;
    });
    expect(surged.surge).toBeLessThanOrEqual(3);
    expect(Number.isInteger(surged.fare.amount)).toBe(true);
    expect(Math.abs(surged.fare.amount - calm.fare.amount * surged.surge)).toBeLessThanOrEqual(surged.surge);
    // What surge adds is shown as its own part: the surged fare less the calm one.
    expect(calm.breakdown.surge).toBe(0);
    expect(surged.breakdown.surge).toBe(surged.fare.amount - calm.fare.amount);
  });

  it("refuses a ride outside the service areas, or shorter than MIN_TRIP_KM, before pricing or holding", async () => {
    const rider = await registerUser("rider");
    const inside = area(41);
    const outside = { lat: 70, lng: 10 };
    for (const [pickup, dropoff, end] of [
      [outside, inside, "pickup"],
      [inside, outside, "dropoff"],
    ] as const) {
      const res = await quote(rider, { pickup, dropoff });
      expectError(res, 400, "outside_service_area");
      expect(res.body.error.details).toEqual({ end });
      expectError(
        await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff } }),
        400,
        "outside_service_area",
      );
    }
    for (const dropoff of [inside, offset(inside, 0.1)]) {
      const res = await quote(rider, { pickup: inside, dropoff });
      expectError(res, 400, "trip_too_short");
      expect(res.body.error.details).toMatchObject({ minKm: 0.2 });
      expectError(
        await call("POST", "/v1/trips", { token: rider.token, body: { pickup: inside, dropoff } }),
        400,
        "trip_too_short",
      );
    }
    // Nothing was held for the refused requests.
    expect((await call("GET", "/v1/wallet", { token: rider.token })).body.wallet.held.amount).toBe(0);
    expect((await quote(rider, { pickup: inside, dropoff: offset(inside, 0.3) })).status).toBe(201);
  });

  it("answers 403 to a driver, 401 without a token and 400 to bad coordinates", async () => {
    const driver = await registerUser("driver");
    const rider = await registerUser("rider");
    const pickup = area(5);
    const dropoff = offset(pickup, 2);
    expectError(await quote(driver, { pickup, dropoff }), 403, "forbidden");
    expectError(await call("POST", "/v1/quotes", { body: { pickup, dropoff } }), 401, "unauthorized");
    const bad = [
      { pickup: { lat: 91, lng: 0 }, dropoff },
      { pickup, dropoff: { lat: 0, lng: -180.5 } },
      { pickup: { lat: "1", lng: 2 }, dropoff },
      { pickup },
      { dropoff },
      {},
      [],
    ];
    for (const body of bad) {
      const res = await quote(rider, body);
      expectError(res, 400, "invalid_request");
      expect(res.body.error.details).toEqual(expect.any(Array));
    }
    expectError(
      await call("POST", "/v1/quotes", {
        token: rider.token,
        body: "nope",
        headers: { "Content-Type": "application/json" },
      }),
      400,
      "invalid_request",
    );
  });
});

describe("POST /v1/trips", () => {
  it("creates a trip in matching from pickup and dropoff", async () => {
    const rider = await registerUser("rider");
    const pickup = area(6);
    const dropoff = offset(pickup, 4);
    const res = await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff } });
    expect(res.status).toBe(201);
    const trip = Trip.strict().parse(res.body.trip);
    expect(trip).toMatchObject({
      riderId: rider.user.id,
      driverId: null,
      status: "matching",
      pickup,
      dropoff,
      fare: null,
      driverLocation: null,
      etaSec: null,
    });
    expect(trip.quote).toMatchObject({ pickup, dropoff });
    expect(trip.createdAt).toBe(trip.updatedAt);
    expect(await getTrip(rider, trip.id)).toMatchObject({ id: trip.id, status: "matching", quote: trip.quote });
  });

  it("creates a trip from a quote and keeps that quote's terms", async () => {
    const rider = await registerUser("rider");
    const pickup = area(7);
    const q = (await quote(rider, { pickup, dropoff: offset(pickup, 6) })).body.quote;
    const res = await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: q.id } });
    expect(res.status).toBe(201);
    expect(res.body.trip).toMatchObject({ status: "matching", pickup: q.pickup, dropoff: q.dropoff, quote: q });
  });

  it("answers 404 to an unknown quote or someone else's, and 409 to an expired one", async () => {
    const rider = await registerUser("rider");
    const other = await registerUser("rider");
    const pickup = area(8);
    expectError(
      await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: "qt_doesnotexist" } }),
      404,
      "not_found",
    );
    const theirs = (await quote(other, { pickup, dropoff: offset(pickup, 3) })).body.quote;
    expectError(
      await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: theirs.id } }),
      404,
      "not_found",
    );

    const mine = (await quote(rider, { pickup, dropoff: offset(pickup, 3) })).body.quote;
    const past = Date.now() - 1_000;
    await env.DB.prepare(`UPDATE quotes SET expires_at = ?, data = json_set(data, '$.quote.expiresAt', ?) WHERE id = ?`)
      .bind(past, past, mine.id)
      .run();
    expectError(await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: mine.id } }), 409, "conflict");
    // No trip was made: the rider is free to request.
    expect(
      (await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff: offset(pickup, 3) } })).status,
    ).toBe(201);
  });

  it("answers 400 to a body that is neither a quote id nor pickup and dropoff", async () => {
    const rider = await registerUser("rider");
    const pickup = area(9);
    const bodies = [
      {},
      { quoteId: "" },
      { quoteId: 5 },
      { pickup },
      { pickup, dropoff: { lat: 100, lng: 0 } },
      { quoteId: "qt_x", pickup, dropoff: pickup },
    ];
    for (const body of bodies)
      expectError(await call("POST", "/v1/trips", { token: rider.token, body }), 400, "invalid_request");
  });

  it("returns the same trip for the same Idempotency-Key, and only for the same rider", async () => {
    const rider = await registerUser("rider");
    const pickup = area(10);
    const body = { pickup, dropoff: offset(pickup, 3) };
    const headers = { "Idempotency-Key": "ride-home-1" };
    const first = await call("POST", "/v1/trips", { token: rider.token, body, headers });
    const again = await call("POST", "/v1/trips", { token: rider.token, body, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.trip.id).toBe(first.body.trip.id);
    // A new key is a new request, refused while the first trip is active.
    expectError(
      await call("POST", "/v1/trips", { token: rider.token, body, headers: { "Idempotency-Key": "ride-home-2" } }),
      409,
      "conflict",
    );
    // Keys belong to the rider who sent them.
    const other = await registerUser("rider");
    const theirs = await call("POST", "/v1/trips", { token: other.token, body, headers });
    expect(theirs.status).toBe(201);
    expect(theirs.body.trip.id).not.toBe(first.body.trip.id);
    expect(theirs.body.trip.riderId).toBe(other.user.id);
    expectError(
      await call("POST", "/v1/trips", { token: rider.token, body, headers: { "Idempotency-Key": "" } }),
      400,
      "invalid_request",
    );
  });

  it("never makes two trips from concurrent requests with one Idempotency-Key", async () => {
    const rider = await registerUser("rider");
    const pickup = area(11);
    const body = { pickup, dropoff: offset(pickup, 3) };
    // A double (triple) tap: every copy is answered with the one trip.
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        call("POST", "/v1/trips", { token: rider.token, body, headers: { "Idempotency-Key": "tap-tap-tap" } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    const ids = new Set(results.map((r) => r.body.trip.id));
    expect(ids.size).toBe(1);
    const later = await call("POST", "/v1/trips", {
      token: rider.token,
      body,
      headers: { "Idempotency-Key": "tap-tap-tap" },
    });
    expect(ids.has(later.body.trip.id)).toBe(true);
    // Without a shared key, concurrent requests still give the rider one active trip.
    const other = await registerUser("rider");
    const racing = await Promise.all(
      [1, 2, 3].map((i) =>
        call("POST", "/v1/trips", { token: other.token, body, headers: { "Idempotency-Key": `own-${i}` } }),
      ),
    );
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of racing.filter((r) => r.status !== 201)) expectError(r, 409, "conflict");
  });

  it("answers 409 to a second active trip, and lets the rider request again once it is over", async () => {
    const rider = await registerUser("rider");
    const pickup = area(12);
    const body = { pickup, dropoff: offset(pickup, 3) };
    const first = await requestTrip(rider, pickup, body.dropoff);
    const second = await call("POST", "/v1/trips", { token: rider.token, body });
    expectError(second, 409, "conflict");
    expect(second.body.error.details).toEqual({ tripId: first.id });
    expect((await cancel(rider, first.id)).status).toBe(200);
    // At once, before the trip's history reaches D1.
    const next = await call("POST", "/v1/trips", { token: rider.token, body });
    expect(next.status).toBe(201);
    expect(next.body.trip.id).not.toBe(first.id);
  });

  it("never takes the slot from a request still creating its trip, and frees one whose request died", async () => {
    const pickup = area(17);
    const body = { pickup, dropoff: offset(pickup, 3) };
    const holdSlot = (riderId: string, tripId: string, claimedAt: number) =>
      env.DB.prepare(`INSERT INTO active_trips (rider_id, trip_id, created_at) VALUES (?, ?, ?)`)
        .bind(riderId, tripId, claimedAt)
        .run();
    // A slot claimed a moment ago by a trip that does not exist yet: another request of this
    // rider's is between its claim and creating its trip. Taking the slot would give them two.
    const busy = await registerUser("rider");
    await holdSlot(busy.user.id, "trip_beingcreated", Date.now());
    const refused = await call("POST", "/v1/trips", { token: busy.token, body });
    expectError(refused, 409, "conflict");
    expect(refused.body.error.details).toEqual({ tripId: "trip_beingcreated" });
    expect(refused.headers.get("Retry-After")).toBe("1");
    // The refused request gave its hold back.
    expect((await walletOf(busy)).held).toEqual(USD(0));
    // A slot whose trip never came to be, claimed SLOT_CREATE_GRACE_MS ago: that request died.
    const stranded = await registerUser("rider");
    await holdSlot(stranded.user.id, "trip_neverwas", Date.now() - SLOT_CREATE_GRACE_MS - 1);
    const next = await call("POST", "/v1/trips", { token: stranded.token, body, headers: { "Idempotency-Key": "k1" } });
    expect(next.status).toBe(201);
    const slot = await env.DB.prepare(`SELECT trip_id FROM active_trips WHERE rider_id = ?`)
      .bind(stranded.user.id)
      .first<{ trip_id: string }>();
    expect(slot?.trip_id).toBe(next.body.trip.id);
    const again = await call("POST", "/v1/trips", {
      token: stranded.token,
      body,
      headers: { "Idempotency-Key": "k1" },
    });
    expect(again.body.trip.id).toBe(next.body.trip.id);
  });

  it("answers 403 to a driver requesting a trip", async () => {
    const driver = await registerUser("driver");
    const pickup = area(13);
    expectError(
      await call("POST", "/v1/trips", { token: driver.token, body: { pickup, dropoff: offset(pickup, 2) } }),
      403,
      "forbidden",
    );
    expectError(await call("POST", "/v1/trips", { body: { pickup, dropoff: offset(pickup, 2) } }), 401, "unauthorized");
  });
});

describe("GET /v1/trips/:id and /v1/trips", () => {
  it("shows a trip to its rider and its driver only", async () => {
    const pickup = area(14);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect((await call("GET", `/v1/trips/${trip.id}`, { token: rider.token })).body.trip).toMatchObject({
      id: trip.id,
      status: "accepted",
      driverId: driver.user.id,
    });
    const seenByDriver = await call("GET", `/v1/trips/${trip.id}`, { token: driver.token });
    expect(seenByDriver.status).toBe(200);
    expect(Trip.strict().parse(seenByDriver.body.trip).riderId).toBe(rider.user.id);
    for (const stranger of [await registerUser("rider"), await registerUser("driver")]) {
      expectError(await call("GET", `/v1/trips/${trip.id}`, { token: stranger.token }), 403, "forbidden");
    }
    expectError(await call("GET", `/v1/trips/${trip.id}`), 401, "unauthorized");
    expectError(await call("GET", `/v1/trips/trip_doesnotexist`, { token: rider.token }), 404, "not_found");
    expectError(await call("GET", `/v1/trips/${"x".repeat(65)}`, { token: rider.token }), 400, "invalid_request");
    driver.socket.close();
  });

  it("answers the trip in progress at once, before history has it, to its rider and then its driver", async () => {
    const pickup = area(40);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const current = async (user: TestUser) => {
      const res = await call("GET", "/v1/trips/current", { token: user.token });
      expect(res.status).toBe(200);
      return res.body.trip as Trip | null;
    };
    expect(await current(rider)).toBeNull();
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    // There at once, from the trip itself (the list gets it seconds behind).
    expect(await current(rider)).toMatchObject({ id: trip.id, status: "matching" });
    // Offered is not the driver's yet.
    await nextOffer(driver, trip.id);
    expect(await current(driver)).toBeNull();
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    expect(await current(driver)).toMatchObject({ id: trip.id, status: "accepted", riderId: rider.user.id });
    expect(Trip.strict().parse(await current(rider)).driverId).toBe(driver.user.id);
    // Nobody else sees it; once it ends there is none.
    expect(await current(await registerUser("rider"))).toBeNull();
    for (const action of ["arrived", "start", "complete"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    expect(await current(rider)).toBeNull();
    expect(await current(driver)).toBeNull();
    expectError(await call("GET", "/v1/trips/current"), 401, "unauthorized");
    driver.socket.close();
  });

  it("lists the user's trips newest first, for the rider and for the driver, with paging", async () => {
    const pickup = area(15);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const first = await requestTrip(rider, pickup, offset(pickup, 2));
    await nextOffer(driver, first.id);
    expect((await cancel(rider, first.id)).status).toBe(200);
    await waitDriverStatus(driver, "available");
    const second = await completedTrip(rider, driver, pickup);
    await flushed(first.id, "cancelled");
    await flushed(second.id, "completed");

    const mine = await call("GET", "/v1/trips", { token: rider.token });
    expect(mine.status).toBe(200);
    expect((mine.body.trips as Trip[]).map((t) => [t.id, t.status])).toEqual([
      [second.id, "completed"],
      [first.id, "cancelled"],
    ]);
    for (const t of mine.body.trips) TripHistoryEntry.strict().parse(t);
    expect(mine.body.trips[0]).toMatchObject(second);

    // The driver held only the second trip to the end.
    const theirs = await call("GET", "/v1/trips", { token: driver.token });
    expect((theirs.body.trips as Trip[]).map((t) => t.id)).toEqual([second.id]);

    const page = await call("GET", "/v1/trips?limit=1", { token: rider.token });
    expect((page.body.trips as Trip[]).map((t) => t.id)).toEqual([second.id]);
    const older = await call("GET", `/v1/trips?limit=1&before=${second.createdAt}`, { token: rider.token });
    expect((older.body.trips as Trip[]).map((t) => t.id)).toEqual([first.id]);
    // Filters: by status, by the caller's side of the trip, and by a createdAt floor.
    const ids = async (user: TestUser, q: string) =>
      ((await call("GET", `/v1/trips?${q}`, { token: user.token })).body.trips as Trip[]).map((t) => t.id);
    expect(await ids(rider, "status=cancelled")).toEqual([first.id]);
    expect(await ids(rider, "status=completed&as=rider")).toEqual([second.id]);
    expect(await ids(rider, "as=driver")).toEqual([]);
    expect(await ids(driver, "as=driver")).toEqual([second.id]);
    expect(await ids(rider, `since=${second.createdAt}`)).toEqual([second.id]);
    for (const query of ["status=flying", "as=admin", "since=-5"])
      expectError(await call("GET", `/v1/trips?${query}`, { token: rider.token }), 400, "invalid_request");

    expect((await call("GET", "/v1/trips", { token: (await registerUser("rider")).token })).body).toEqual({
      trips: [],
      nextCursor: null,
    });
    for (const query of ["limit=0", "limit=101", "limit=abc", "before=-1"])
      expectError(await call("GET", `/v1/trips?${query}`, { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/trips"), 401, "unauthorized");
    driver.socket.close();
  });

  it("shows each trip's receipt link, route and ratings, pages by cursor, and keeps users apart", async () => {
    const pickup = area(27);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const first = await requestTrip(rider, pickup, offset(pickup, 2));
    await nextOffer(driver, first.id);
    expect((await cancel(rider, first.id)).status).toBe(200);
    await waitDriverStatus(driver, "available");
    const second = await completedTrip(rider, driver, pickup);
    const third = await completedTrip(rider, driver, pickup);
    for (const t of [first, second, third]) await flushed(t.id, t === first ? "cancelled" : "completed");
    expect((await rate(rider, second.id, { stars: 5, comment: "smooth" })).status).toBe(201);
    expect((await rate(driver, second.id, { stars: 4 })).status).toBe(201);

    const byId = async (user: TestUser, q = "") => {
      const res = await call("GET", `/v1/trips?${q}`, { token: user.token });
      expect(res.status).toBe(200);
      TripHistoryResponse.strict().parse(res.body);
      return new Map((res.body.trips as TripHistoryEntry[]).map((t) => [t.id, t]));
    };
    const mine = await byId(rider);
    // The receipt exists for a completed trip (and the link works), not for a free cancel.
    expect(mine.get(second.id)?.receiptUrl).toBe(`/v1/trips/${second.id}/receipt`);
    expect(mine.get(first.id)?.receiptUrl).toBeNull();
    const receipt = await call("GET", mine.get(second.id)?.receiptUrl ?? "", { token: rider.token });
    expect(receipt.status).toBe(200);
    expect(mine.get(second.id)?.route).toEqual({
      pickup: second.pickup,
      dropoff: second.dropoff,
      distanceKm: second.quote.distanceKm,
      durationMin: second.quote.durationMin,
      drivenKm: second.fareDecision?.trace.km ?? null,
    });
    expect(mine.get(first.id)?.route.drivenKm).toBeNull();
    // Ratings from each side: what the caller gave and what they received.
    expect(mine.get(second.id)?.ratings).toEqual({
      given: { stars: 5, comment: "smooth" },
      received: { stars: 4, comment: null },
    });
    expect(mine.get(third.id)?.ratings).toEqual({ given: null, received: null });
    expect((await byId(driver, "as=driver")).get(second.id)?.ratings).toEqual({
      given: { stars: 4, comment: null },
      received: { stars: 5, comment: "smooth" },
    });

    // Cursor pages: every trip once, newest first, then no cursor.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await call("GET", `/v1/trips?${q}`, { token: rider.token });
      expect(res.status).toBe(200);
      seen.push(...(res.body.trips as TripHistoryEntry[]).map((t) => t.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null && seen.length < 10);
    expect(seen).toEqual([third.id, second.id, first.id]);
    // A date range: `to` is inclusive, as `since` is.
    expect([...(await byId(rider, `since=${second.createdAt}&to=${second.createdAt}`)).keys()]).toEqual([second.id]);

    // The SDK's pages are the same.
    const sdk = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: rider.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });
    const sdkPage = await sdk.tripHistory({ limit: 2, status: "completed" });
    expect(sdkPage.trips.map((t) => t.id)).toEqual([third.id, second.id]);
    expect(sdkPage.nextCursor).toBeNull();
    expect((await sdk.tripHistory({ limit: 1 })).nextCursor).toEqual(expect.any(String));

    // Another user sees none of it, whatever they ask for; a cursor naming someone else's trip shows nothing.
    const stranger = await registerUser("rider");
    expect((await byId(stranger)).size).toBe(0);
    expect((await byId(stranger, `cursor=${encodeURIComponent(`${Date.now()}.${third.id}`)}`)).size).toBe(0);
    for (const query of [
      "cursor=nope",
      "cursor=12.",
      `cursor=${"9".repeat(20)}.x`,
      "to=-1",
      `since=${second.createdAt + 1}&to=${second.createdAt}`,
      "limit=1000000",
    ])
      expectError(await call("GET", `/v1/trips?${query}`, { token: rider.token }), 400, "invalid_request");
    driver.socket.close();
  });

  it(
    "copies an active trip's moves to history on TRIP_HISTORY_FLUSH_MS and its end on " + "OUTBOX_FLUSH_DELAY_MS",
    async () => {
      const pickup = area(24);
      const driver = await onlineDriver(offset(pickup, 0.4));
      const rider = await registerUser("rider");
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
      const alarmIn = async () => {
        const at = await runInDurableObject(tripStub(trip.id), (_room, state) => state.storage.getAlarm());
        return at === null ? null : at - Date.now();
      };
      // Accepted and arrived wait for one write together; the live trip is the object's to answer.
      expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
      expect(await alarmIn()).toBeGreaterThan(HISTORY_FLUSH_MS - 3_000);
      expect(await historyStatus(trip.id)).not.toBe("arrived");
      await flushed(trip.id, "arrived");
      // The end frees the rider's slot and settles the fare: it goes at the outbox's own pace.
      for (const action of ["start", "complete"] as const)
        expect((await driverAction(driver, trip.id, action)).status).toBe(200);
      expect(await alarmIn()).toBeLessThanOrEqual(OUTBOX_FLUSH_DELAY_MS);
      await flushed(trip.id, "completed");
      driver.socket.close();
    },
  );
});

describe("trip moves", () => {
  it(
    "takes the driver's moves on the channel as over HTTP: acked once per id, refused with an error " + "frame",
    async () => {
      const pickup = area(25);
      const driver = await onlineDriver(offset(pickup, 0.4), "On the channel");
      const other = await onlineDriver(area(26), "Elsewhere");
      const rider = await registerUser("rider");
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
      const move = (who: OnlineDriver, type: string, id: string, extra: object = {}) => {
        who.socket.send({ type, id, tripId: trip.id, ...extra });
        return who.socket.next((f) => f.id === id);
      };

      expect(await move(driver, "trip.start", "s0")).toMatchObject({ type: "error", id: "s0", code: "conflict" });
      expect(await move(other, "trip.arrived", "x1")).toMatchObject({ type: "error", id: "x1", code: "forbidden" });
      expect(await move(driver, "trip.arrived", "a1")).toEqual({ type: "ack", id: "a1" });
      expect((await getTrip(rider, trip.id)).status).toBe("arrived");
      // The driver's apps see the trip they moved, before the ack: their own session shows the trip's reply.
      const shown = (status: string) =>
        driver.socket.frames.find((f) => f.type === "trip" && f.trip.id === trip.id && f.trip.status === status);
      expect(shown("arrived")).toMatchObject({ trip: { driverId: driver.user.id } });
      // A retry of the same id is acknowledged again and not applied again (a second arrival would be a conflict).
      expect(await move(driver, "trip.arrived", "a1")).toEqual({ type: "ack", id: "a1" });
      expect(await move(driver, "trip.cancel", "k0", { reason: "x".repeat(501) })).toMatchObject({
        type: "error",
        id: "k0",
        code: "invalid_request",
      });
      expect(await move(driver, "trip.start", "s1")).toEqual({ type: "ack", id: "s1" });
      expect(shown("in_progress")).toBeDefined();
      expect(await move(driver, "trip.complete", "c1")).toEqual({ type: "ack", id: "c1" });
      expect(await getTrip(rider, trip.id)).toMatchObject({ status: "completed", driverId: driver.user.id });
      expect(await driver.socket.next((f) => f.type === "trip" && f.trip.status === "completed")).toMatchObject({
        trip: { id: trip.id },
      });

      // A driver's cancel before pickup, on the channel, sends the next trip back to matching without them.
      const next = await acceptedTrip(rider, driver, pickup, offset(pickup, 2));
      driver.socket.send({ type: "trip.cancel", id: "k1", tripId: next.id, reason: "flat tyre" });
      expect(await driver.socket.next((f) => f.id === "k1")).toEqual({ type: "ack", id: "k1" });
      expect(await getTrip(rider, next.id)).toMatchObject({ status: "matching", driverId: null });
      await waitDriverStatus(driver, "available");
      for (const d of [driver, other]) d.socket.close();
    },
  );

  it(
    "runs accepted → arrived → in_progress → completed, " +
      "refusing every other move with 409 and other drivers with 403",
    async () => {
      const pickup = area(16);
      const driver = await onlineDriver(offset(pickup, 0.4), "Assigned");
      const other = await onlineDriver(area(17), "Elsewhere");
      const rider = await registerUser("rider");
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
      expect(trip).toMatchObject({ status: "accepted", driverId: driver.user.id });

      const refuse = async (user: TestUser, action: Parameters<typeof driverAction>[2], status: number, code: string) =>
        expectError(await driverAction(user, trip.id, action), status, code);

      // accepted
      for (const action of ["accept", "decline", "start", "complete"] as const)
        await refuse(driver, action, 409, "conflict");
      for (const action of ["arrived", "start", "complete", "cancel"] as const)
        await refuse(other, action, 403, "forbidden");
      await refuse(rider, "arrived", 403, "forbidden");
      await refuse(await registerUser("rider"), "cancel", 403, "forbidden");

      let res = await driverAction(driver, trip.id, "arrived");
      expect(res.status).toBe(200);
      expect(res.body.trip.status).toBe("arrived");
      // A move over HTTP reaches the driver's open channel too, through the trip's call to their session.
      expect(await driver.socket.next((f) => f.type === "trip" && f.trip.status === "arrived")).toMatchObject({
        trip: { id: trip.id },
      });
      for (const action of ["arrived", "complete", "accept"] as const) await refuse(driver, action, 409, "conflict");
      await refuse(other, "start", 403, "forbidden");

      res = await driverAction(driver, trip.id, "start");
      expect(res.status).toBe(200);
      expect(res.body.trip.status).toBe("in_progress");
      // A driver cannot drop a rider mid-ride, nor can the rider walk off without paying.
      for (const action of ["arrived", "start", "cancel"] as const) await refuse(driver, action, 409, "conflict");
      expectError(await cancel(rider, trip.id), 409, "conflict");
      expect((await getTrip(rider, trip.id)).status).toBe("in_progress");
      await refuse(other, "complete", 403, "forbidden");

      res = await driverAction(driver, trip.id, "complete");
      expect(res.status).toBe(200);
      const done = Trip.strict().parse(res.body.trip);
      expect(done.status).toBe("completed");
      expect(Number.isInteger(done.fare?.amount)).toBe(true);
      expect(done.fare!.amount).toBeGreaterThanOrEqual(700);
      expect(done.fare!.currency).toBe("USD");

      // Over: nothing moves a completed trip.
      for (const action of ["accept", "decline", "arrived", "start", "complete", "cancel"] as const)
        await refuse(driver, action, 409, "conflict");
      expectError(await cancel(rider, trip.id), 409, "conflict");
      expect(await getTrip(rider, trip.id)).toMatchObject({ status: "completed", fare: done.fare });
      expectError(await driverAction(driver, "trip_doesnotexist", "arrived"), 404, "not_found");
      driver.socket.close();
      other.socket.close();
    },
  );

  it("lets a rider cancel while matching, for free, releasing the driver holding the offer", async () => {
    const pickup = area(18);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(driver, trip.id);
    const res = await cancel(rider, trip.id, { reason: "changed my mind" });
    expect(res.status).toBe(200);
    expect(res.body.trip.status).toBe("cancelled");
    expect(res.body.trip).not.toHaveProperty("cancellationFee");
    expect(await frameSeen(driver.socket, (f) => f.type === "offer.expired")).toEqual({
      type: "offer.expired",
      tripId: trip.id,
    });
    await waitDriverStatus(driver, "available");
    expectError(await driverAction(driver, trip.id, "accept"), 409, "conflict");
    driver.socket.close();
  });

  it("cancels for free inside the free window after acceptance", async () => {
    const pickup = area(19);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const res = await cancel(rider, trip.id);
    expect(res.status).toBe(200);
    expect(res.body.trip.status).toBe("cancelled");
    expect(res.body.trip).not.toHaveProperty("cancellationFee");
    await waitDriverStatus(driver, "available");
    const update = await frameSeen(driver.socket, (f) => f.type === "trip" && f.trip.status === "cancelled");
    expect(update.trip.id).toBe(trip.id);
    driver.socket.close();
  });

  it(
    "charges the cancellation fee when the rider cancels more than FREE_CANCEL_WINDOW_MS after " + "acceptance",
    async () => {
      const pickup = area(20);
      const driver = await onlineDriver(offset(pickup, 0.4));
      const rider = await registerUser("rider");
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
      expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
      const socket = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
      await socket.nextOfType("welcome");
      // The driver accepted 2 minutes and 1 second ago.
      await editTripState(trip.id, (s) => {
        s.acceptedAt = Date.now() - 121_000;
      });
      const res = await cancel(rider, trip.id, { reason: "took too long" });
      expect(res.status).toBe(200);
      expect(res.body.trip).toMatchObject({ status: "cancelled", cancellationFee: { amount: 500, currency: "USD" } });
      const frame = await socket.nextOfType("status");
      expect(frame.trip).toMatchObject({ status: "cancelled", cancellationFee: { amount: 500, currency: "USD" } });
      expect((await getTrip(rider, trip.id)).cancellationFee).toEqual({ amount: 500, currency: "USD" });
      await waitDriverStatus(driver, "available");
      socket.close();
      driver.socket.close();
    },
  );

  it("answers 400 to a cancel reason over 500 characters or a body that is not JSON", async () => {
    const rider = await registerUser("rider");
    const pickup = area(21);
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    expectError(await cancel(rider, trip.id, { reason: "r".repeat(501) }), 400, "invalid_request");
    expectError(
      await call("POST", `/v1/trips/${trip.id}/cancel`, {
        token: rider.token,
        body: "{",
        headers: { "Content-Type": "application/json" },
      }),
      400,
      "invalid_request",
    );
    expect((await getTrip(rider, trip.id)).status).toBe("matching");
    expect((await cancel(rider, trip.id, { reason: "r".repeat(500) })).status).toBe(200);
  });
});

describe("POST /v1/trips/:id/rating", () => {
  it("rates once per side after completion; /v1/me shows the average and count", async () => {
    const pickup = area(22);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const ada = await registerUser("rider");
    const bo = await registerUser("rider");
    expect((await me(driver)).rating).toEqual({ average: null, count: 0 });

    const first = await completedTrip(ada, driver, pickup);
    const res = await rate(ada, first.id, { stars: 5, comment: "smooth" });
    expect(res.status).toBe(201);
    expectError(await rate(ada, first.id, { stars: 4 }), 409, "conflict");
    expect((await rate(driver, first.id, { stars: 4 })).status).toBe(201);
    expectError(await rate(driver, first.id, { stars: 4 }), 409, "conflict");
    expect((await me(driver)).rating).toEqual({ average: 5, count: 1 });
    expect((await me(ada)).rating).toEqual({ average: 4, count: 1 });

    const second = await completedTrip(bo, driver, pickup);
    expect((await rate(bo, second.id, { stars: 4, comment: "c".repeat(500) })).status).toBe(201);
    expect((await me(driver)).rating).toEqual({ average: 4.5, count: 2 });
    // Someone who was not on the trip may not rate it.
    expectError(await rate(ada, second.id, { stars: 1 }), 403, "forbidden");
    expectError(
      await call("POST", `/v1/trips/trip_doesnotexist/rating`, { token: ada.token, body: { stars: 3 } }),
      404,
      "not_found",
    );
    driver.socket.close();
  });

  it("answers 409 before completion and 400 to stars outside 1..5 or a comment over 500 characters", async () => {
    const pickup = area(23);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expectError(await rate(rider, trip.id, { stars: 5 }), 409, "conflict");
    expectError(await rate(driver, trip.id, { stars: 5 }), 409, "conflict");
    for (const body of [
      { stars: 0 },
      { stars: 6 },
      { stars: 3.5 },
      { stars: "5" },
      {},
      { stars: 5, comment: "c".repeat(501) },
    ]) {
      expectError(await rate(rider, trip.id, body), 400, "invalid_request");
    }
    expect((await cancel(rider, trip.id)).status).toBe(200);
    // A cancelled trip is never rated.
    expectError(await rate(rider, trip.id, { stars: 1 }), 409, "conflict");
    expect((await me(driver)).rating).toEqual({ average: null, count: 0 });
    await waitDriverStatus(driver, "available");
    driver.socket.close();
  });
});
