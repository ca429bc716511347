// Races across the trip room and the driver's session found in review: a move frame retried while
// its first copy is still at the trip, the card of a driver who accepts a batched offer, and a
// driver whose release by the trip was lost.
import { runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { call, registerUser } from "../helpers/api";
import {
  area,
  acceptedTrip,
  driverAction,
  editDriverRow,
  editTripState,
  framesOf,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  type OnlineDriver,
  readTripState,
  requestTrip,
  runTripAlarm,
  settle,
  stopTripAlarms,
  tripStub,
  waitDriverStatus,
} from "../helpers/dispatch";

afterAll(stopTripAlarms);

/**
 * Puts the driver's session back to holding `offer` (a frame of theirs), expired more than 30 s
 * ago: what it is left with when the trip's release or confirm of the driver was lost.
 */
async function holdLapsedOffer(driver: OnlineDriver, offer: Record<string, unknown>): Promise<void> {
  const { type: _frame, ...held } = offer;
  await editDriverRow(
    driver.user.id,
    `UPDATE driver SET status = 'offered', trip_id = ?, offer = ?`,
    String(offer.tripId),
    JSON.stringify({ ...held, expiresAt: Date.now() - 31_000 }),
  );
}

describe("dispatch races", () => {
  it("a move frame retried while the first is in flight is acked twice, never answered with an error", async () => {
    const pickup = area(140);
    const driver = await onlineDriver(offset(pickup, 0.5));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await nextOffer(driver, trip.id);
    // The app resends before the first ack arrived (a lost ack, say): the same id, back to back.
    driver.socket.send({ type: "offer.accept", id: "acc-dup", tripId: trip.id });
    driver.socket.send({ type: "offer.accept", id: "acc-dup", tripId: trip.id });
    await driver.socket.next((f) => f.id === "acc-dup");
    await driver.socket.next((f) => f.id === "acc-dup");
    const answers = framesOf(driver.socket, (f) => f.id === "acc-dup");
    expect(answers).toEqual([
      { type: "ack", id: "acc-dup" },
      { type: "ack", id: "acc-dup" },
    ]);
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: driver.user.id });
    await waitDriverStatus(driver, "on_trip");
  });

  it("a driver who accepts the second offer of a batch is shown to the rider by their first name", async () => {
    const pickup = area(141, 74); // batch city: offerBatch 3
    const drivers: OnlineDriver[] = [];
    for (const [i, km] of [0.2, 0.4].entries()) drivers.push(await onlineDriver(offset(pickup, km), `Batch${i} X`));
    const [a, b] = drivers as [OnlineDriver, OnlineDriver];
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await Promise.all([nextOffer(a, trip.id), nextOffer(b, trip.id)]);
    const accepted = await driverAction(b, trip.id, "accept");
    expect(accepted.status).toBe(200);
    expect(accepted.body.trip.driverId).toBe(b.user.id);
    expect(accepted.body.trip.driver?.firstName).toBe("Batch1");
    expect((await getTrip(rider, trip.id)).driver?.firstName).toBe("Batch1");
    await settle();
  });
});

describe("abandoned reservations", () => {
  it("a reservation whose release keeps failing does not keep the trip matching past its timeout", async () => {
    const pickup = area(142);
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    // A reservation a cut-short pass left behind, to a driver whose session cannot answer (none exists).
    await runInDurableObject(tripStub(trip.id), (_instance, ctx) => {
      ctx.storage.sql.exec(`INSERT INTO reserving (driver_id) VALUES ('ghost-driver')`);
    });
    await editTripState(trip.id, (s) => {
      s.matchingStartedAt = Date.now() - 10 * 60_000;
    });
    await runTripAlarm(trip.id);
    await runTripAlarm(trip.id);
    expect((await readTripState(trip.id)).status).toBe("no_driver");
  });

  it("lets a driver whose release by the trip was lost go at their next fix, not on_trip for good", async () => {
    const pickup = area(143);
    const at = offset(pickup, 0.5);
    const driver = await onlineDriver(at);
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 5));
    // The rider calls it off; the trip's release of the driver is lost on the way (an RPC that
    // failed is logged, not retried): the session still holds the trip.
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    await waitDriverStatus(driver, "available");
    await editDriverRow(driver.user.id, `UPDATE driver SET status = 'on_trip', trip_id = ?`, trip.id);
    expect((await call("GET", "/v1/drivers/me", { token: driver.token })).body.driver.status).toBe("on_trip");
    // The next fix goes to the trip, which no longer has the driver: the session lets itself go.
    driver.socket.send({ type: "location", lat: at.lat, lng: at.lng + 0.0001, at: Date.now() });
    await waitDriverStatus(driver, "available");
    driver.socket.close();
  });

  it("lets a driver go whose offer the trip let lapse long ago, when that release was lost", async () => {
    const pickup = area(144);
    const at = offset(pickup, 0.5);
    const driver = await onlineDriver(at);
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    const offer = await nextOffer(driver, trip.id);
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    await waitDriverStatus(driver, "available");
    // The trip's release was lost: the session still holds the offer, expired more than 30 s ago.
    await holdLapsedOffer(driver, offer);
    expect((await call("GET", "/v1/drivers/me", { token: driver.token })).body.driver.status).toBe("offered");
    driver.socket.send({ type: "location", lat: at.lat, lng: at.lng + 0.0001, at: Date.now() });
    await waitDriverStatus(driver, "available");
    driver.socket.close();
  });

  it("puts a driver on the trip whose confirm was lost, at a fix past the offer's expiry", async () => {
    const pickup = area(145);
    const at = offset(pickup, 0.5);
    const driver = await onlineDriver(at);
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    const offer = await nextOffer(driver, trip.id);
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    await waitDriverStatus(driver, "on_trip");
    // The trip's confirm was lost: the session still holds the offer, expired more than 30 s ago.
    await holdLapsedOffer(driver, offer);
    driver.socket.send({ type: "location", lat: at.lat, lng: at.lng + 0.0001, at: Date.now() });
    await waitDriverStatus(driver, "on_trip");
    expect((await getTrip(rider, trip.id)).driverId).toBe(driver.user.id);
    driver.socket.close();
  });
});
