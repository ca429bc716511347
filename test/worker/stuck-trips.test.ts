/**
 * Trips that cannot get stuck (domain/trip-watchdog), through the public API: a driver who falls
 * silent after accepting loses the trip to the next driver, a trip left `arrived` with no start is
 * cancelled by the service (the fee only for a rider's no-show), operators see both among the
 * cancels and can take a trip from its driver themselves. The test rings the watchdog itself: it
 * moves the trip's times back in its SQLite and runs the object's alarm, instead of waiting
 * DRIVER_SILENT_MS or ARRIVED_NO_START_MS.
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { isRidewireError, RidewireClient } from "@ridewire/client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import type { LatLng } from "../../src/domain/geo";
import type { TripState } from "../../src/domain/trip";
import { call, connectOk, registerUser, type TestUser } from "../helpers/api";
import { registerAdmin } from "../helpers/admin";
import { expectLedgerBalanced, USD, walletOf } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  driverAction,
  driverState,
  editTripState,
  expectError,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  type OnlineDriver,
  readTripState,
  requestTrip,
  runTripAlarm,
  stopTripAlarms,
  tripStub,
  waitFor,
} from "../helpers/dispatch";

const config = loadConfig(env);

afterAll(stopTripAlarms);
afterEach(expectLedgerBalanced);

// Away from the other files' areas: this file's trips and drivers only.
const city = (n: number) => area(n, 40);

let fixCounter = 0;
async function sendFix(driver: OnlineDriver, point: LatLng) {
  const id = `st-${fixCounter++}`;
  // A little ahead of the fix the driver went online with (the session takes only newer fixes).
  driver.socket.send({ type: "location", id, lat: point.lat, lng: point.lng, at: Date.now() + 2_000 });
  return driver.socket.next((f) => f.id === id);
}

/** When the trip last heard a fix from its driver (its own clock), or null: none stored. */
function lastFixReceivedAt(tripId: string): Promise<number | null> {
  return runInDurableObject(tripStub(tripId), (_room, ctx) => {
    const [row] = ctx.storage.sql.exec<{ at: number | null }>(`SELECT received_at AS at FROM last_location`).toArray();
    return row?.at ?? null;
  });
}

/**
 * Moves the trip's times back (`edit`, and the driver's latest fix `fixAgoMs` ago when given), then rings the
 * trip's alarm now, as the time passing would.
 */
async function ringWatchdog(tripId: string, edit: (s: TripState) => void, fixAgoMs?: number): Promise<void> {
  if (fixAgoMs !== undefined)
    await runInDurableObject(tripStub(tripId), (_room, ctx) => {
      ctx.storage.sql.exec(`UPDATE last_location SET received_at = ?`, Date.now() - fixAgoMs);
    });
  await editTripState(tripId, edit);
  await runInDurableObject(tripStub(tripId), (_room, ctx) => ctx.storage.setAlarm(Date.now()));
  await runTripAlarm(tripId);
}

const silentSince = (s: TripState) => {
  s.acceptedAt = Date.now() - config.DRIVER_SILENT_MS - 1_000;
};

async function cancellationsOf(admin: TestUser, query: string) {
  const res = await call("GET", `/v1/ops/cancellations?${query}`, { token: admin.token });
  expect(res.status).toBe(200);
  return res.body.cancellations as { tripId: string; by: string; userId: string; reasonCode: string }[];
}

async function closeAll(...drivers: OnlineDriver[]) {
  for (const d of drivers) d.socket.close();
}

describe("a driver who falls silent after accepting", () => {
  it("arms the watchdog's alarm when the driver accepts", async () => {
    const pickup = city(1);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const alarm = await runInDurableObject(tripStub(trip.id), (_room, ctx) => ctx.storage.getAlarm());
    expect(alarm).not.toBeNull();
    const { acceptedAt } = await readTripState(trip.id);
    expect(acceptedAt).not.toBeNull();
    expect(alarm).toBeLessThanOrEqual((acceptedAt ?? 0) + config.DRIVER_SILENT_MS);
    await closeAll(driver);
  });

  it("loses the trip to the next driver, who is offered it; the silent one is never offered it again", async () => {
    const pickup = city(2);
    const silent = await onlineDriver(offset(pickup, 0.1), "Gone");
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, silent, pickup, offset(pickup, 3));
    const next = await onlineDriver(offset(pickup, 0.4), "Next");
    const admin = await registerAdmin();
    const desk = await connectOk("/v1/ops/alerts/ws", admin.token);
    await desk.nextOfType("welcome");

    await ringWatchdog(trip.id, silentSince);
    // Operators on the desk see it the moment it happens.
    const announced = await desk.next((f) => f.type === "stuck_trip" && f.trip.tripId === trip.id);
    expect(announced.trip).toMatchObject({
      reasonCode: "driver_silent",
      riderId: rider.user.id,
      driverId: silent.user.id,
    });
    desk.close();
    await nextOffer(next, trip.id);
    const seen = await getTrip(rider, trip.id);
    expect(seen.status).toBe("matching");
    expect(seen.driverId ?? null).toBeNull();
    // The silent driver is free (their session released), and cannot act on the trip any more.
    expect((await driverState(silent)).status).toBe("available");
    expectError(await driverAction(silent, trip.id, "arrived"), 403, "forbidden");
    expect((await readTripState(trip.id)).excludedDrivers).toContain(silent.user.id);

    // The next driver takes it as usual.
    expect((await driverAction(next, trip.id, "accept")).body.trip.status).toBe("accepted");
    const rows = await cancellationsOf(admin, "reasonCode=driver_silent&by=system");
    expect(rows.filter((r) => r.tripId === trip.id)).toEqual([
      expect.objectContaining({ by: "system", userId: silent.user.id, reasonCode: "driver_silent" }),
    ]);
    await closeAll(silent, next);
  });

  it("keeps the trip while its fixes come, however long ago it accepted", async () => {
    const pickup = city(3);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect((await sendFix(driver, offset(pickup, 0.15))).type).toBe("ack");
    await waitFor("the fix to reach the trip", async () =>
      (await lastFixReceivedAt(trip.id)) !== null ? true : undefined,
    );

    // Accepted long ago, but heard from just now: nothing happens.
    await ringWatchdog(trip.id, silentSince);
    expect((await getTrip(rider, trip.id)).status).toBe("accepted");
    // Then the fixes stop for longer than DRIVER_SILENT_MS: the trip goes back to matching.
    await ringWatchdog(trip.id, silentSince, config.DRIVER_SILENT_MS + 1_000);
    await waitFor("the trip to go back to matching", async () => {
      const status = (await getTrip(rider, trip.id)).status;
      return status === "matching" || status === "no_driver" ? status : undefined;
    });
    await closeAll(driver);
  });

  it("also loses a trip it arrived at, before any no-show rule applies", async () => {
    const pickup = city(4);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    await ringWatchdog(trip.id, (s) => {
      silentSince(s);
      s.arrivedAt = Date.now() - config.ARRIVED_NO_START_MS - 1_000;
      s.arrivedAtPickup = true;
    });
    const seen = await getTrip(rider, trip.id);
    // Handed back, not cancelled: no fee for a ride its driver walked away from.
    expect(["matching", "no_driver"]).toContain(seen.status);
    expect(seen).not.toHaveProperty("cancellationFee");
    await closeAll(driver);
  });
});

describe("a trip left arrived with no start", () => {
  const arrivedLongAgo = (atPickup: boolean) => (s: TripState) => {
    // The driver accepted just now as far as the watchdog knows: their silence is not the reason.
    s.acceptedAt = Date.now();
    s.arrivedAt = Date.now() - config.ARRIVED_NO_START_MS - 1_000;
    s.arrivedAtPickup = atPickup;
  };

  it("is cancelled by the service with the fee when the driver waited at the pickup (a no-show)", async () => {
    const pickup = city(5);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    await ringWatchdog(trip.id, arrivedLongAgo(true));

    const seen = await getTrip(rider, trip.id);
    expect(seen).toMatchObject({
      status: "cancelled",
      cancelledBy: "system",
      cancellationFee: USD(config.CANCELLATION_FEE_MINOR),
    });
    await waitFor("the hold to be released", async () =>
      (await walletOf(rider)).held.amount === 0 ? true : undefined,
    );
    await waitFor("the driver to be freed", async () =>
      (await driverState(driver)).status === "available" ? true : undefined,
    );
    const admin = await registerAdmin();
    const rows = await cancellationsOf(admin, "reasonCode=arrived_no_start");
    expect(rows.filter((r) => r.tripId === trip.id)).toEqual([
      expect.objectContaining({ by: "system", userId: rider.user.id, reasonCode: "arrived_no_start" }),
    ]);
    await closeAll(driver);
  });

  it("costs the rider nothing when the driver said they arrived from off the pickup", async () => {
    const pickup = city(6);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const before = await walletOf(rider);
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    await ringWatchdog(trip.id, arrivedLongAgo(false));

    const seen = await getTrip(rider, trip.id);
    expect(seen).toMatchObject({ status: "cancelled", cancelledBy: "system" });
    expect(seen).not.toHaveProperty("cancellationFee");
    await waitFor("the hold to be released", async () =>
      (await walletOf(rider)).held.amount === 0 ? true : undefined,
    );
    expect((await walletOf(rider)).available).toEqual(before.available);
    await closeAll(driver);
  });

  it("is left alone while the wait is shorter than ARRIVED_NO_START_MS", async () => {
    const pickup = city(7);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    await ringWatchdog(trip.id, (s) => {
      s.acceptedAt = Date.now();
      s.arrivedAt = Date.now() - config.ARRIVED_NO_START_MS + 60_000;
    });
    expect((await getTrip(rider, trip.id)).status).toBe("arrived");
    expect((await driverAction(driver, trip.id, "start")).status).toBe(200);
    await closeAll(driver);
  });
});

describe("an operator's reassign", () => {
  it("takes an accepted trip from its driver and hands it to the next, with an audit record", async () => {
    const pickup = city(8);
    const first = await onlineDriver(offset(pickup, 0.1), "First");
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, first, pickup, offset(pickup, 3));
    const next = await onlineDriver(offset(pickup, 0.4), "Next");
    const admin = await registerAdmin();

    const res = await call("POST", `/v1/admin/trips/${trip.id}/reassign`, {
      token: admin.token,
      body: { reason: "driver not moving" },
    });
    expect(res.status).toBe(200);
    expect(res.body.trip.status).toBe("matching");
    expect(res.body.audit).toMatchObject({
      action: "trip.reassign",
      actorId: admin.user.id,
      target: { kind: "trip", id: trip.id },
      details: { from: "accepted", riderId: rider.user.id, driverId: first.user.id },
    });
    await nextOffer(next, trip.id);
    // The removed driver's apps hear of it on their channel: the trip, no longer theirs.
    const shown = await first.socket.next(
      (f) => f.type === "trip" && f.trip.id === trip.id && f.trip.driverId === null,
    );
    expect(shown.trip.status).toBe("matching");
    expectError(await driverAction(first, trip.id, "arrived"), 403, "forbidden");
    const rows = await cancellationsOf(admin, "by=admin");
    expect(rows.filter((r) => r.tripId === trip.id)).toEqual([
      expect.objectContaining({ by: "admin", userId: first.user.id, reasonCode: "admin" }),
    ]);
    await closeAll(first, next);
  });

  it("is refused to riders and drivers, for an unknown trip, a trip with no driver, and without a reason", async () => {
    const pickup = city(9);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const admin = await registerAdmin();
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const path = `/v1/admin/trips/${trip.id}/reassign`;
    const body = { reason: "testing" };
    expectError(await call("POST", path, { token: rider.token, body }), 403, "forbidden");
    expectError(await call("POST", path, { token: driver.token, body }), 403, "forbidden");
    expectError(await call("POST", path, { token: admin.token, body: {} }), 400, "invalid_request");
    expectError(await call("POST", path, { token: admin.token, body: { reason: 7 } }), 400, "invalid_request");
    expectError(
      await call("POST", "/v1/admin/trips/no-such-trip/reassign", { token: admin.token, body }),
      404,
      "not_found",
    );
    const riderSdk = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: rider.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });
    const refusal = await riderSdk.reassignTrip(trip.id, "mine now").catch((err: unknown) => err);
    expect(isRidewireError(refusal) && refusal.status).toBe(403);
    // Still the driver's: nothing above moved it.
    expect((await getTrip(rider, trip.id)).status).toBe("accepted");

    const waiting = await requestTrip(await registerUser("rider"), city(10), offset(city(10), 2));
    expectError(
      await call("POST", `/v1/admin/trips/${waiting.id}/reassign`, { token: admin.token, body }),
      409,
      "conflict",
    );
    await closeAll(driver);
  });
});
