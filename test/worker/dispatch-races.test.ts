// Races across the trip room and the driver's session found in review: a move frame retried while
// its first copy is still at the trip.
import { afterAll, describe, expect, it } from "vitest";
import { registerUser } from "../helpers/api";
import {
  area,
  framesOf,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  requestTrip,
  stopTripAlarms,
  waitDriverStatus,
} from "../helpers/dispatch";

afterAll(stopTripAlarms);

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
});
