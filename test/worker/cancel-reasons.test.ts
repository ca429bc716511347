// Cancellation reason codes (README, "Cancellation reasons") through the public API: each side
// names a code from its own list (zod per side: a rider cannot use a driver's code), `other`
// needs a note, the old free-text `reason` still works (as `other`), the reason is on the trip,
// and operators list the cancels with counts per code. Fees keep the money rules: the ledger is
// checked after every test.
import { exports } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RidewireClient, isRidewireError } from "@ridewire/client";
import { call, registerUser, type TestUser } from "../helpers/api";
import { registerAdmin } from "../helpers/admin";
import { expectLedgerBalanced } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  editTripState,
  expectError,
  getTrip,
  offset,
  onlineDriver,
  requestTrip,
  stopTripAlarms,
  waitDriverStatus,
  waitFor,
} from "../helpers/dispatch";

afterAll(stopTripAlarms);
afterEach(expectLedgerBalanced);

const cancel = (user: TestUser, tripId: string, body?: unknown) =>
  call("POST", `/v1/trips/${tripId}/cancel`, { token: user.token, ...(body === undefined ? {} : { body }) });

async function cancellationsOf(admin: TestUser, query: string) {
  const res = await call("GET", `/v1/ops/cancellations?${query}`, { token: admin.token });
  expect(res.status).toBe(200);
  return res.body;
}

describe("cancellation reasons", () => {
  it("take a rider's code and note, refuse driver codes and a bare `other`, and keep the old reason", async () => {
    const since = Date.now();
    const rider = await registerUser("rider");
    const pickup = area(36, 55);
    const dropoff = offset(pickup, 3);

    const first = await requestTrip(rider, pickup, dropoff);
    for (const body of [
      { reasonCode: "rider_no_show" },
      { reasonCode: "other" },
      { reasonCode: "other", note: "   " },
      { reasonCode: "changed_plans", note: "x".repeat(501) },
      { reasonCode: "changed_plans", reason: "both" },
      { note: "a note with no code" },
      { reasonCode: "nope" },
      { reasonCode: 7 },
    ])
      expectError(await cancel(rider, first.id, body), 400, "invalid_request");
    expect((await getTrip(rider, first.id)).status).toBe("matching");
    const done = await cancel(rider, first.id, { reasonCode: "changed_plans" });
    expect(done.status).toBe(200);
    expect(done.body.trip).toMatchObject({
      status: "cancelled",
      cancelledBy: "rider",
      cancellation: { reasonCode: "changed_plans", note: null },
    });
    expect((await getTrip(rider, first.id)).cancellation).toEqual({ reasonCode: "changed_plans", note: null });

    // The old free text reads as `other` with the text as its note; no body at all names no code.
    const second = await requestTrip(rider, pickup, dropoff);
    expect((await cancel(rider, second.id, { reason: "found a bus" })).body.trip.cancellation).toEqual({
      reasonCode: "other",
      note: "found a bus",
    });
    const third = await requestTrip(rider, pickup, dropoff);
    expect((await cancel(rider, third.id)).body.trip.cancellation).toEqual({ reasonCode: null, note: null });

    // The SDK: a typed code goes through; another side's code comes back as the API's error.
    const sdk = (user: TestUser) =>
      new RidewireClient({
        baseUrl: "http://ridewire.test",
        token: user.token,
        fetch: (input, init) => exports.default.fetch(input, init),
      });
    // (Another rider: three cancels start this one's cool-down.)
    const other = await registerUser("rider");
    const fourth = await requestTrip(other, pickup, dropoff);
    const wrongSide = await sdk(other)
      .cancelTrip(fourth.id, { reasonCode: "unsafe" } as never)
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(isRidewireError(wrongSide) && wrongSide.code).toBe("invalid_request");
    const viaSdk = await sdk(other).cancelTrip(fourth.id, { reasonCode: "wrong_pickup", note: "pin was off" });
    expect(viaSdk.cancellation).toEqual({ reasonCode: "wrong_pickup", note: "pin was off" });

    const admin = await registerAdmin();
    const ops = await waitFor("the SDK's cancel to reach D1", async () => {
      const body = await sdk(admin).opsCancellations({ since, reasonCode: "wrong_pickup" });
      return body.cancellations.some((x) => x.tripId === fourth.id) ? body : undefined;
    });
    expect(ops.counts.wrong_pickup).toBeGreaterThanOrEqual(1);
    const mine = await waitFor("the cancels to reach D1", async () => {
      const body = await cancellationsOf(admin, `since=${since}&by=rider`);
      const ours = body.cancellations.filter((x: { userId: string }) => x.userId === rider.user.id);
      return ours.length === 3 ? ours : undefined;
    });
    expect(
      mine.map((x: { tripId: string; reasonCode: string | null; note: string | null }) => [
        x.tripId,
        x.reasonCode,
        x.note,
      ]),
    ).toEqual([
      [third.id, null, null],
      [second.id, "other", "found a bus"],
      [first.id, "changed_plans", null],
    ]);
    expect(mine[0]).toMatchObject({ by: "rider", fee: null, at: expect.any(Number) });
    expectError(await call("GET", "/v1/ops/cancellations", { token: rider.token }), 403, "forbidden");
    expectError(
      await call("GET", "/v1/ops/cancellations?reasonCode=bogus", { token: admin.token }),
      400,
      "invalid_request",
    );
  });

  it("take a driver's code over HTTP and on the channel, refuse rider codes, and show in ops with counts", async () => {
    const since = Date.now();
    const pickup = area(37, 55);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    for (const body of [{ reasonCode: "changed_plans" }, { reasonCode: "other" }, { reasonCode: "admin" }])
      expectError(await cancel(driver, trip.id, body), 400, "invalid_request");
    const handed = await cancel(driver, trip.id, { reasonCode: "vehicle_issue", note: "flat tyre" });
    expect(handed.status).toBe(200);
    expect(handed.body.trip).toMatchObject({ status: "matching", driverId: null });
    expect(handed.body.trip.cancellation).toBeUndefined();
    await waitDriverStatus(driver, "available");

    // On the channel: a rider's code is an error frame; the driver's own code goes through. (Each
    // trip its own rider: a trip a driver hands back stays its rider's active trip.)
    const next = await acceptedTrip(await registerUser("rider"), driver, offset(pickup, 0.1), offset(pickup, 3));
    driver.socket.send({ type: "trip.cancel", id: "c1", tripId: next.id, reasonCode: "wrong_pickup" });
    expect(await driver.socket.next((f) => f.id === "c1")).toMatchObject({ type: "error", code: "invalid_request" });
    driver.socket.send({ type: "trip.cancel", id: "c2", tripId: next.id, reasonCode: "other" });
    expect(await driver.socket.next((f) => f.id === "c2")).toMatchObject({ type: "error", code: "invalid_request" });
    driver.socket.send({ type: "trip.cancel", id: "c3", tripId: next.id, reasonCode: "rider_no_show" });
    expect(await driver.socket.next((f) => f.id === "c3")).toEqual({ type: "ack", id: "c3" });

    await waitDriverStatus(driver, "available");

    // A rider cancels late and pays the fee (the money rules, unchanged by codes).
    const lateRider = await registerUser("rider");
    const late = await acceptedTrip(lateRider, driver, offset(pickup, 0.2), offset(pickup, 3));
    await editTripState(late.id, (s) => {
      s.acceptedAt = Date.now() - 121_000;
    });
    const paid = await cancel(lateRider, late.id, { reasonCode: "wait_too_long", note: "12 minutes" });
    expect(paid.body.trip).toMatchObject({
      cancellationFee: { amount: 500, currency: "USD" },
      cancellation: { reasonCode: "wait_too_long", note: "12 minutes" },
    });
    const admin = await registerAdmin();
    const byDriver = await waitFor("the driver's cancels to reach D1", async () => {
      const body = await cancellationsOf(admin, `since=${since}&by=driver`);
      const ours = body.cancellations.filter((x: { userId: string }) => x.userId === driver.user.id);
      return ours.length === 2 ? body : undefined;
    });
    expect(
      byDriver.cancellations
        .filter((x: { userId: string }) => x.userId === driver.user.id)
        .map((x: { tripId: string; reasonCode: string; note: string | null }) => [x.tripId, x.reasonCode, x.note]),
    ).toEqual([
      [next.id, "rider_no_show", null],
      [trip.id, "vehicle_issue", "flat tyre"],
    ]);
    expect(byDriver.counts.rider_no_show).toBeGreaterThanOrEqual(1);
    expect(byDriver.counts.vehicle_issue).toBeGreaterThanOrEqual(1);
    expect(byDriver.counts.wait_too_long).toBeUndefined();
    const waits = await waitFor("the rider's cancel to reach D1", async () => {
      const body = await cancellationsOf(admin, `since=${since}&reasonCode=wait_too_long`);
      return body.cancellations.some((x: { tripId: string }) => x.tripId === late.id) ? body : undefined;
    });
    expect(waits.cancellations.every((x: { reasonCode: string }) => x.reasonCode === "wait_too_long")).toBe(true);
    expect(waits.cancellations.find((x: { tripId: string }) => x.tripId === late.id)).toMatchObject({
      by: "rider",
      userId: lateRider.user.id,
      fee: { amount: 500, currency: "USD" },
    });
    expect(waits.counts.rider_no_show).toBeGreaterThanOrEqual(1);
    driver.socket.close();
  });
});
