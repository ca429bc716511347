// The driver's side of "record the offer, then show it": reserving a driver only takes the lock,
// and their session shows an offer (on the channel, in a reconnect's welcome) only when its trip
// asks after recording it, once, while the driver is still held for that trip.
import { afterAll, describe, expect, it } from "vitest";
import { unwrap } from "../../src/errors";
import type { Offer } from "../../src/protocol/dispatch";
import { connectOk } from "../helpers/api";
import { area, driverStub, framesOf, offset, onlineDriver, settle, stopTripAlarms } from "../helpers/dispatch";

afterAll(stopTripAlarms);

const offerOf = (tripId: string, expiresAt = Date.now() + 15_000): Offer => ({
  tripId,
  pickup: area(95),
  dropoff: offset(area(95), 3),
  fare: { amount: 1_200, currency: "USD" },
  pickupEtaSec: 90,
  expiresAt,
});

describe("an offer reaches the driver only when its trip shows it", () => {
  it("shows nothing on reserving; shows a recorded offer once, live and in a reconnect's welcome", async () => {
    const driver = await onlineDriver(area(95));
    const session = driverStub(driver.user.id);
    expect(unwrap(await session.reserve("trip-a"))).toEqual({
      reserved: true,
      driver: { rating: null, vehicle: null, photoId: null },
    });
    // Held, so no second trip gets them; and nothing shown yet, not even to a new channel.
    expect(unwrap(await session.reserve("trip-b"))).toEqual({ reserved: false });
    const early = await connectOk("/v1/drivers/me/ws", driver.token);
    expect(await early.nextOfType("welcome")).not.toHaveProperty("offer");
    // An offer for a trip that does not hold the driver, or one already run out, is never shown.
    expect(unwrap(await session.showOffer(offerOf("trip-b")))).toEqual({ delivery: null });
    expect(unwrap(await session.showOffer(offerOf("trip-a", Date.now() - 1)))).toEqual({ delivery: null });
    await settle();
    expect(framesOf(driver.socket, (f) => f.type === "offer")).toEqual([]);

    const offer = offerOf("trip-a");
    expect(unwrap(await session.showOffer(offer))).toEqual({ delivery: "socket" });
    expect(await driver.socket.next((f) => f.type === "offer")).toEqual({ type: "offer", ...offer });
    expect(unwrap(await session.showOffer(offer))).toEqual({ delivery: null });
    const later = await connectOk("/v1/drivers/me/ws", driver.token);
    expect(await later.nextOfType("welcome")).toMatchObject({ offer });
    for (const socket of [driver.socket, early, later]) socket.close();
  });

  it("withdraws only an offer the driver saw: releasing an unshown reservation sends no offer.expired", async () => {
    const driver = await onlineDriver(area(96));
    const session = driverStub(driver.user.id);
    expect(unwrap(await session.reserve("trip-unseen"))).toEqual({
      reserved: true,
      driver: { rating: null, vehicle: null, photoId: null },
    });
    expect(unwrap(await session.release("trip-unseen", "expired"))).toMatchObject({ status: "available" });
    expect(unwrap(await session.reserve("trip-seen"))).toEqual({
      reserved: true,
      driver: { rating: null, vehicle: null, photoId: null },
    });
    unwrap(await session.showOffer(offerOf("trip-seen")));
    unwrap(await session.release("trip-seen", "expired"));
    await driver.socket.next((f) => f.type === "offer.expired");
    await settle();
    expect(framesOf(driver.socket, (f) => f.type === "offer.expired")).toEqual([
      { type: "offer.expired", tripId: "trip-seen" },
    ]);
    driver.socket.close();
  });
});
