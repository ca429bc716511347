// Batched offers (README, "Batched offers"): in "batch city" (70°-78° E, `offerBatch: 3`, vitest.config.ts) a
// trip is offered to its best three drivers at once. The first accept wins, the others see offer.expired at once and
// are free again; a decline by one leaves the others open; a driver never holds two offers at a time.
import { afterAll, describe, expect, it } from "vitest";
import { registerUser } from "../helpers/api";
import {
  area,
  driverAction,
  driverState,
  expectError,
  framesOf,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  type OnlineDriver,
  readTripState,
  requestTrip,
  settle,
  stopTripAlarms,
  waitDriverStatus,
  waitFor,
} from "../helpers/dispatch";
import { openOffers } from "../../src/domain/trip";

/** A pickup in "batch city", its own part of it per test. */
const batchCity = (n: number) => area(n, 74);

const offersFor = (driver: OnlineDriver, tripId: string) =>
  framesOf(driver.socket, (f) => f.type === "offer" && f.tripId === tripId);

async function driversNear(pickup: ReturnType<typeof area>, kms: number[]): Promise<OnlineDriver[]> {
  const drivers: OnlineDriver[] = [];
  for (const [i, km] of kms.entries()) drivers.push(await onlineDriver(offset(pickup, km), `D${i}`));
  return drivers;
}

afterAll(stopTripAlarms);

describe("batched offers (K = 3)", () => {
  it("offers the best three at once; the first accept wins, the second gets 409, the rest offer.expired", async () => {
    const pickup = batchCity(1);
    const [a, b, c, d] = (await driversNear(pickup, [0.2, 0.4, 0.6, 1.8])) as [
      OnlineDriver,
      OnlineDriver,
      OnlineDriver,
      OnlineDriver,
    ];
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await Promise.all([a, b, c].map((driver) => nextOffer(driver, trip.id)));
    const state = await readTripState(trip.id);
    expect(openOffers(state).map((o) => o.driverId)).toEqual([a.user.id, b.user.id, c.user.id]);
    expect(offersFor(d, trip.id)).toHaveLength(0);

    expect((await driverAction(b, trip.id, "accept")).status).toBe(200);
    const late = await driverAction(a, trip.id, "accept");
    expectError(late, 409, "conflict");
    expect(await a.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
    expect(await c.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
    await waitDriverStatus(a, "available");
    await waitDriverStatus(c, "available");
    expect((await driverState(b)).status).toBe("on_trip");
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: b.user.id });
    const after = await readTripState(trip.id);
    expect(openOffers(after)).toEqual([]);
    // Let go through no fault of their own: the others may be offered the trip again should B hand it back.
    expect(after.excludedDrivers).toEqual([]);
    await settle();
    expect(offersFor(d, trip.id)).toHaveLength(0);
    expect(framesOf(b.socket, (f) => f.type === "offer.expired")).toHaveLength(0);
  });

  it("keeps the others open when one declines, and a decliner cannot accept afterwards", async () => {
    const pickup = batchCity(2);
    const [a, b, c, d] = (await driversNear(pickup, [0.2, 0.4, 0.6, 1.8])) as [
      OnlineDriver,
      OnlineDriver,
      OnlineDriver,
      OnlineDriver,
    ];
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await Promise.all([a, b, c].map((driver) => nextOffer(driver, trip.id)));

    expect((await driverAction(a, trip.id, "decline")).status).toBe(200);
    await waitDriverStatus(a, "available");
    await settle();
    // No new batch while B's and C's offers are open: D is not asked.
    expect(offersFor(d, trip.id)).toHaveLength(0);
    expect(openOffers(await readTripState(trip.id)).map((o) => o.driverId)).toEqual([b.user.id, c.user.id]);
    expectError(await driverAction(a, trip.id, "accept"), 409, "conflict");
    // A stranger to the trip was never offered it.
    expectError(await driverAction(d, trip.id, "accept"), 403, "forbidden");

    expect((await driverAction(c, trip.id, "accept")).status).toBe(200);
    expect(await b.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: c.user.id });
  });

  it("never gives a driver two live offers: a second trip goes to the drivers the first did not take", async () => {
    const pickup = batchCity(3);
    const drivers = await driversNear(pickup, [0.2, 0.3, 0.4, 0.5, 0.6]);
    const [first, second] = [await registerUser("rider"), await registerUser("rider")];
    const offeredTo = async (tripId: string, count: number) =>
      waitFor(`${count} offers of ${tripId}`, async () => {
        const offers = openOffers(await readTripState(tripId)).map((o) => o.driverId);
        return offers.length === count ? offers : undefined;
      });
    const tripA = await requestTrip(first, pickup, offset(pickup, 5));
    const offeredA = await offeredTo(tripA.id, 3);
    const tripB = await requestTrip(second, pickup, offset(pickup, -5));
    const offeredB = await offeredTo(tripB.id, 2);
    expect(offeredA).toHaveLength(3);
    expect(offeredB).toHaveLength(2);
    expect(offeredA.filter((id) => offeredB.includes(id))).toEqual([]);
    await settle();
    for (const driver of drivers) {
      const offers = framesOf(driver.socket, (f) => f.type === "offer");
      expect(offers).toHaveLength(1);
      expect((await driverState(driver)).status).toBe("offered");
    }
  });

  it("lets every offered driver go when the rider cancels while the batch is open", async () => {
    const pickup = batchCity(4);
    const drivers = await driversNear(pickup, [0.2, 0.4, 0.6]);
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await Promise.all(drivers.map((driver) => nextOffer(driver, trip.id)));
    expect((await driverAction(rider, trip.id, "cancel")).status).toBe(200);
    for (const driver of drivers) {
      expect(await driver.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
      await waitDriverStatus(driver, "available");
    }
  });
});
