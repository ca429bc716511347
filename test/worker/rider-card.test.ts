/**
 * What a driver is shown of the rider (README, "Drivers and vehicles"): the first word of their
 * name and their rating, on the offer and on the trip from acceptance on; nothing else, and never
 * on a share link.
 */
import { describe, expect, it } from "vitest";
import { call, registerUser, type TestUser } from "../helpers/api";
import {
  area,
  driverAction,
  getTrip,
  nextOffer,
  offset,
  type OnlineDriver,
  onlineDriver,
  requestTrip,
} from "../helpers/dispatch";

/** A city of this file's own (lng -140 is used by no other test), test area `n`. */
const city = (n: number) => area(n, -140);

/** Offer, accept, arrive, start and complete: the trip is `completed` when this returns. */
async function completedTrip(rider: TestUser, driver: OnlineDriver, pickup: { lat: number; lng: number }) {
  const trip = await requestTrip(rider, pickup, offset(pickup, 2));
  await nextOffer(driver, trip.id);
  for (const move of ["accept", "arrived", "start", "complete"] as const) {
    const res = await driverAction(driver, trip.id, move);
    expect(res.status, `${move}: ${JSON.stringify(res.body)}`).toBe(200);
  }
  return trip.id as string;
}

describe("what the driver sees of the rider", () => {
  it("shows a new rider's first name, unrated, on the offer and the accepted trip, nothing else of them", async () => {
    const pickup = city(10);
    const driver = await onlineDriver(pickup, "Dana Driver");
    const rider = await registerUser("rider", "  Cai   Cancelled-Lee  ");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    // Before a driver accepts, nobody is shown anybody.
    expect(trip.rider).toBeUndefined();

    const offer = await nextOffer(driver, trip.id);
    expect(offer.rider).toEqual({ firstName: "Cai", rating: null });
    // The offer names nobody else: no email, no surname, no account id.
    expect(JSON.stringify(offer)).not.toContain("Cancelled-Lee");
    expect(JSON.stringify(offer)).not.toContain(rider.user.email);
    expect(JSON.stringify(offer)).not.toContain(rider.user.id);

    const accepted = await driverAction(driver, trip.id, "accept");
    expect(accepted.status).toBe(200);
    expect(accepted.body.trip.rider).toEqual({ firstName: "Cai", rating: null });
    expect((await getTrip(driver, trip.id)).rider).toEqual({ firstName: "Cai", rating: null });
    const channelTrip = await driver.socket.next((f) => f.type === "trip" && f.trip.status === "accepted");
    expect(channelTrip.trip.rider).toEqual({ firstName: "Cai", rating: null });

    // A share link shows the driver's side alone.
    const share = await call("POST", `/v1/trips/${trip.id}/share`, { token: rider.token });
    const shared = await call("GET", `/v1/shared/${encodeURIComponent(share.body.share.token)}`);
    expect(shared.status).toBe(200);
    expect(JSON.stringify(shared.body)).not.toContain("Cai");
    driver.socket.close();
  });

  it("shows the rating drivers gave the rider on their next trip's offer", async () => {
    const pickup = city(12);
    const first = await onlineDriver(pickup, "Fay First");
    const rider = await registerUser("rider", "Rae");
    const firstTrip = await completedTrip(rider, first, pickup);
    const rated = await call("POST", `/v1/trips/${firstTrip}/rating`, { token: first.token, body: { stars: 4 } });
    expect(rated.status).toBe(201);
    first.socket.close();

    // Another city, so that the first driver (available again) is not the one offered.
    const elsewhere = city(13);
    const second = await onlineDriver(elsewhere, "Sam Second");
    const next = await requestTrip(rider, elsewhere, offset(elsewhere, 3));
    const offer = await nextOffer(second, next.id);
    expect(offer.rider).toEqual({ firstName: "Rae", rating: 4 });
    second.socket.close();
  });

  it("keeps the name a rider had when they asked: a long one cut to 50 characters, markup as text", async () => {
    const pickup = city(14);
    const driver = await onlineDriver(pickup);
    const long = `${"x".repeat(70)} Surname`;
    const rider = await registerUser("rider", long);
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    expect((await nextOffer(driver, trip.id)).rider).toEqual({ firstName: "x".repeat(50), rating: null });
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token })).status).toBe(200);

    const marked = await registerUser("rider", "<img src=x onerror=alert(1)>");
    const again = await requestTrip(marked, pickup, offset(pickup, 3));
    // Kept as it was typed: the apps show it as text (the web app never as markup).
    expect((await nextOffer(driver, again.id)).rider).toEqual({ firstName: "<img", rating: null });
    driver.socket.close();
  });
});
