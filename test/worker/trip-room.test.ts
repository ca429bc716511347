// The trip room socket (API.md, "Trip room"): who may join, welcome and status frames, the
// driver's location with ETA for the rider, trip chat with acks and resume, the fare frame,
// and a room and driver session evicted mid-trip that lose nothing.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { etaSec, type LatLng } from "../../src/domain/geo";
import { Trip, type TripMessageFrame, type TripStatusFrame } from "../../src/protocol/dispatch";
import type { ResetFrame, WelcomeFrame } from "../../src/protocol/frames";
import { call, connect, connectOk, registerUser, type TestSocket, type TestUser } from "../helpers/api";
import {
  acceptedTrip,
  area,
  driverAction,
  driverStub,
  editDriverRow,
  expectError,
  frameSeen,
  framesOf,
  getTrip,
  offset,
  onlineDriver,
  type OnlineDriver,
  requestTrip,
  settle,
  stopTripAlarms,
  tripStub,
} from "../helpers/dispatch";

const MODEL = { detourFactor: 1.3, citySpeedKmh: 25 };

/** What a long poll of the trip answers in `events`. */
type PolledEvent = TripStatusFrame | TripMessageFrame | ResetFrame;

async function tripSocket(
  user: TestUser,
  tripId: string,
  since?: number,
): Promise<{ socket: TestSocket; welcome: WelcomeFrame<{ trip: Trip }> }> {
  const socket = await connectOk(`/v1/trips/${tripId}/ws${since === undefined ? "" : `?since=${since}`}`, user.token);
  return { socket, welcome: await socket.nextOfType("welcome") };
}

let fixCounter = 0;
/** Sends a fix on the driver channel and waits for its ack. */
async function sendFix(driver: OnlineDriver, point: LatLng, at: number): Promise<void> {
  const id = `fix-${fixCounter++}`;
  driver.socket.send({ type: "location", id, lat: point.lat, lng: point.lng, at });
  const answer = await driver.socket.next((f) => f.id === id);
  if (answer.type !== "ack") throw new Error(`fix refused: ${JSON.stringify(answer)}`);
}

// No trip timer may fire while the runtime is torn down.
afterAll(stopTripAlarms);

describe("trip room access", () => {
  it("admits the rider and the assigned driver, and nobody else", async () => {
    const pickup = area(1);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    // While matching, even the driver holding the offer is not in the room yet.
    await frameSeen(driver.socket, (f) => f.type === "offer");
    expectError(await connect(`/v1/trips/${trip.id}/ws`, { token: driver.token }), 403, "forbidden");
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);

    const riderSide = await tripSocket(rider, trip.id);
    const driverSide = await tripSocket(driver, trip.id);
    for (const { welcome } of [riderSide, driverSide]) {
      expect(welcome.seq).toBe(2);
      expect(Trip.strict().parse(welcome.trip)).toMatchObject({
        id: trip.id,
        status: "accepted",
        driverId: driver.user.id,
        riderId: rider.user.id,
      });
    }
    for (const stranger of [await registerUser("rider"), await registerUser("driver")]) {
      const res = await connect(`/v1/trips/${trip.id}/ws`, { token: stranger.token });
      expect(res.socket).toBeNull();
      expectError(res, 403, "forbidden");
    }
    expectError(await connect(`/v1/trips/${trip.id}/ws`), 401, "unauthorized");
    expectError(await connect(`/v1/trips/trip_doesnotexist/ws`, { token: rider.token }), 404, "not_found");
    expectError(await connect(`/v1/trips/${trip.id}/ws?since=-1`, { token: rider.token }), 400, "invalid_request");
    // Browsers put the token in the query.
    const viaQuery = await connect(`/v1/trips/${trip.id}/ws?access_token=${rider.token}`);
    expect(viaQuery.socket).not.toBeNull();
    expect((await viaQuery.socket!.nextOfType("welcome")).trip.id).toBe(trip.id);
    for (const s of [riderSide.socket, driverSide.socket, viaQuery.socket!, driver.socket]) s.close();
  });
  it("closes the room to a driver who hands the trip back", async () => {
    const pickup = area(7);
    const leaver = await onlineDriver(offset(pickup, 0.3), "Leaver");
    const next = await onlineDriver(offset(pickup, -0.9), "Next");
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, leaver, pickup, offset(pickup, 3));
    const riderSide = await tripSocket(rider, trip.id);
    const leaverSide = await tripSocket(leaver, trip.id);
    const leaverAt = offset(pickup, 0.25);
    await sendFix(leaver, leaverAt, Date.now() + 4_000);
    expect(await riderSide.socket.nextOfType("location")).toMatchObject({ lat: leaverAt.lat, lng: leaverAt.lng });
    riderSide.socket.send({ type: "message", id: "to-leaver", text: "I'm by the blue door" });
    await riderSide.socket.nextOfType("ack");
    // The rider sees the driver's position while the trip is theirs; the log keeps none.
    expect((await getTrip(rider, trip.id)).driverLocation).toEqual(leaverAt);
    expect((await driverAction(leaver, trip.id, "arrived")).status).toBe(200);
    expect(await riderSide.socket.nextOfType("status")).toMatchObject({
      trip: { status: "arrived", driverLocation: null },
    });

    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: leaver.token })).status).toBe(200);
    // The leaver sees their own move, then the room shuts them out.
    expect(await leaverSide.socket.next((f) => f.type === "status" && f.trip.status !== "arrived")).toMatchObject({
      trip: { status: "matching", driverId: null },
    });
    expect((await leaverSide.socket.waitClosed()).code).toBe(1008);
    expectError(await connect(`/v1/trips/${trip.id}/ws`, { token: leaver.token }), 403, "forbidden");

    await frameSeen(next.socket, (f) => f.type === "offer" && f.tripId === trip.id);
    const taken = await driverAction(next, trip.id, "accept");
    expect(taken.status).toBe(200);
    // Where the previous driver was says nothing about the new one.
    expect(taken.body.trip).toMatchObject({ driverId: next.user.id, driverLocation: null, etaSec: null });
    expect(await riderSide.socket.next((f) => f.type === "status" && f.trip.status === "accepted")).toMatchObject({
      trip: { driverId: next.user.id, driverLocation: null, etaSec: null },
    });
    riderSide.socket.send({ type: "message", id: "hi", text: "hello new driver" });
    await riderSide.socket.nextOfType("ack");
    // The new driver reads the trip from their own assignment on: a reset to the seq before it,
    // then their acceptance and what came after, none of the previous driver's chat or positions.
    const nextSide = await tripSocket(next, trip.id, 0);
    const reset = await nextSide.socket.nextOfType("reset");
    expect(await nextSide.socket.next()).toMatchObject({
      type: "status",
      seq: reset.seq + 1,
      trip: { status: "accepted", driverId: next.user.id },
    });
    const synced = await nextSide.socket.nextOfType("synced");
    expect(framesOf(nextSide.socket, (f) => f.type === "message").map((f) => f.message.text)).toEqual([
      "hello new driver",
    ]);
    expect(synced.seq).toBe(nextSide.welcome.seq);
    const polled = await call("GET", `/v1/trips/${trip.id}/poll?since=0&timeout=0`, { token: next.token });
    expect(polled.body).toEqual({ events: [{ type: "reset", seq: reset.seq }], seq: reset.seq });
    const fromFloor = await call("GET", `/v1/trips/${trip.id}/poll?since=${reset.seq}&timeout=0`, {
      token: next.token,
    });
    expect((fromFloor.body.events as PolledEvent[]).map((e) => e.type)).toEqual(["status", "message"]);
    // The rider still has the whole trip, without positions in it.
    const riderPoll = await call("GET", `/v1/trips/${trip.id}/poll?since=0&timeout=0`, { token: rider.token });
    const riderEvents = riderPoll.body.events as PolledEvent[];
    expect(riderEvents.filter((e) => e.type === "message").map((e) => e.message.text)).toEqual([
      "I'm by the blue door",
      "hello new driver",
    ]);
    expect(riderEvents.filter((e) => e.type === "status").every((e) => e.trip.driverLocation === null)).toBe(true);
    expect(framesOf(leaverSide.socket, (f) => f.type === "message").map((f) => f.message.text)).toEqual([
      "I'm by the blue door",
    ]);
    for (const s of [riderSide.socket, nextSide.socket, leaver.socket, next.socket]) s.close();
  });
});

describe("trip room frames", () => {
  it("sends welcome, a status frame per change to both sides, and the fare at completion", async () => {
    const pickup = area(2);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    const riderSide = await tripSocket(rider, trip.id);
    expect(riderSide.welcome).toMatchObject({ type: "welcome", seq: 1, trip: { id: trip.id, status: "matching" } });

    await frameSeen(driver.socket, (f) => f.type === "offer");
    driver.socket.send({ type: "offer.accept", id: "accept", tripId: trip.id });
    const accepted = await riderSide.socket.nextOfType("status");
    expect(accepted).toMatchObject({ seq: 2, trip: { status: "accepted", driverId: driver.user.id } });
    Trip.strict().parse(accepted.trip);
    const driverSide = await tripSocket(driver, trip.id);

    let seq = 2;
    for (const [action, status] of [
      ["arrived", "arrived"],
      ["start", "in_progress"],
      ["complete", "completed"],
    ] as const) {
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
      seq++;
      for (const side of [riderSide, driverSide])
        expect(await side.socket.nextOfType("status")).toMatchObject({ type: "status", seq, trip: { status } });
      // The driver's channel hears about the trip they hold, too.
      await frameSeen(driver.socket, (f) => f.type === "trip" && f.trip.status === status);
    }
    const final = await getTrip(rider, trip.id);
    for (const side of [riderSide, driverSide]) {
      const fare = await side.socket.nextOfType("fare");
      expect(fare).toEqual({ type: "fare", seq: seq + 1, fare: final.fare });
    }
    expect(Number.isInteger(final.fare.amount)).toBe(true);
    // Nothing showed the ride differed from its quote: the upfront fare.
    expect(final.fare).toEqual(trip.quote.fare);
    expect(final.fareDecision).toMatchObject({
      quoted: trip.quote.fare,
      charged: trip.quote.fare,
      basis: "quote",
      review: null,
    });
    for (const s of [riderSide.socket, driverSide.socket, driver.socket]) s.close();
  });

  it("gives the rider the driver's location with the ETA to pickup, then to dropoff during the ride", async () => {
    const pickup = area(3);
    const dropoff = offset(pickup, 4, 1);
    const driver = await onlineDriver(offset(pickup, 0.5));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, dropoff);
    const riderSide = await tripSocket(rider, trip.id);
    const driverSide = await tripSocket(driver, trip.id);

    const approaching = offset(pickup, 0.4);
    const at1 = Date.now() + 3_000;
    await sendFix(driver, approaching, at1);
    const toPickup = await riderSide.socket.nextOfType("location");
    expect(toPickup).toEqual({
      type: "location",
      lat: approaching.lat,
      lng: approaching.lng,
      at: at1,
      etaSec: etaSec(approaching, pickup, MODEL),
    });
    expect(toPickup.etaSec).toBeGreaterThan(0);
    expect(await getTrip(rider, trip.id)).toMatchObject({ driverLocation: approaching, etaSec: toPickup.etaSec });

    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    const riding = offset(pickup, 0.3);
    await settle(550);
    const at2 = Date.now() + 4_500;
    await sendFix(driver, riding, at2);
    const toDropoff = await riderSide.socket.nextOfType("location");
    expect(toDropoff).toEqual({
      type: "location",
      lat: riding.lat,
      lng: riding.lng,
      at: at2,
      etaSec: etaSec(riding, dropoff, MODEL),
    });
    expect(toDropoff.etaSec).toBeGreaterThan(toPickup.etaSec);
    expect(await getTrip(driver, trip.id)).toMatchObject({
      status: "in_progress",
      driverLocation: riding,
      etaSec: toDropoff.etaSec,
    });

    // Location is ephemeral: no seq, and not in the log a client resumes from.
    const resumed = await tripSocket(rider, trip.id, 0);
    await resumed.socket.nextOfType("synced");
    expect(framesOf(resumed.socket, (f) => f.type === "location")).toEqual([]);
    for (const s of [riderSide.socket, driverSide.socket, resumed.socket, driver.socket]) s.close();
  });

  it(
    "keeps each fix of the ride with the time it arrived, and prices the ride on those times, not the " + "app's",
    async () => {
      const pickup = area(4);
      const dropoff = offset(pickup, 6);
      const driver = await onlineDriver(offset(pickup, 0.2));
      const rider = await registerUser("rider");
      const trip = await acceptedTrip(rider, driver, pickup, dropoff);
      for (const action of ["arrived", "start"] as const)
        expect((await driverAction(driver, trip.id, action)).status).toBe(200);
      const riderSide = await tripSocket(rider, trip.id);
      // The app dates the fixes two minutes apart (a legal 180 km/h on its clock); they arrive
      // half a second apart, as fast as the channel takes them.
      const now = Date.now();
      await editDriverRow(driver.user.id, `UPDATE driver SET location_at = ?`, now - 115_000);
      const route = [
        { point: pickup, at: now - 100_000 },
        { point: offset(pickup, 3), at: now - 50_000 },
        { point: dropoff, at: now + 2_000 },
      ];
      for (const [i, { point, at }] of route.entries()) {
        if (i > 0) await settle(550);
        await sendFix(driver, point, at);
        await riderSide.socket.nextOfType("location");
      }
      const res = await driverAction(driver, trip.id, "complete");
      expect(res.status).toBe(200);
      // The ride's breadcrumb as the fare read it (fixes are written in batches, all of them by the completion).
      const stored = await runInDurableObject(tripStub(trip.id), (_instance, ctx) =>
        ctx.storage.sql
          .exec<{ at: number; received_at: number }>(`SELECT at, received_at FROM breadcrumb ORDER BY received_at`)
          .toArray(),
      );
      expect(stored.map((r) => r.at)).toEqual(route.map((r) => r.at));
      for (const [i, row] of stored.entries()) {
        expect(row.received_at).toBeGreaterThanOrEqual(now);
        if (i > 0) expect(row.received_at - stored[i - 1]!.received_at).toBeLessThan(5_000);
      }
      // 6 km in about a second is no drive: only the first fix is believed, and the ride, which
      // ended at the dropoff, costs its quote (the app's clock would have metered 6 km).
      expect(res.body.trip.fare).toEqual(trip.quote.fare);
      expect(res.body.trip.fareDecision).toMatchObject({
        basis: "quote",
        endedEarly: false,
        trace: { km: 0, refusedFixes: 2 },
      });
      expect(await riderSide.socket.nextOfType("fare")).toMatchObject({ fare: trip.quote.fare });
      riderSide.socket.close();
      driver.socket.close();
    },
  );
});

describe("trip chat", () => {
  it("stores messages with ids, acks them once, and replays what a client missed with since", async () => {
    const pickup = area(5);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const riderSide = await tripSocket(rider, trip.id);
    const driverSide = await tripSocket(driver, trip.id);
    const start = riderSide.welcome.seq;

    riderSide.socket.send({ type: "message", id: "r1", text: "I'm by the red door" });
    expect(await riderSide.socket.nextOfType("ack")).toEqual({ type: "ack", id: "r1", seq: start + 1 });
    for (const side of [riderSide, driverSide]) {
      // The sender's own sockets get the message too, before or after its ack.
      const frame = await frameSeen(side.socket, (f) => f.type === "message" && f.seq === start + 1);
      expect(frame).toEqual({
        type: "message",
        seq: start + 1,
        message: {
          id: expect.any(String),
          roomId: trip.id,
          seq: start + 1,
          userId: rider.user.id,
          text: "I'm by the red door",
          createdAt: expect.any(Number),
        },
      });
    }
    // A retry with the same id is acknowledged again and not stored twice.
    riderSide.socket.send({ type: "message", id: "r1", text: "I'm by the red door" });
    expect(await riderSide.socket.nextOfType("ack")).toEqual({ type: "ack", id: "r1", seq: start + 1 });
    driverSide.socket.send({ type: "message", id: "d1", text: "two minutes" });
    expect(await driverSide.socket.nextOfType("ack")).toEqual({ type: "ack", id: "d1", seq: start + 2 });
    expect(
      (await frameSeen(riderSide.socket, (f) => f.type === "message" && f.seq === start + 2)).message,
    ).toMatchObject({ userId: driver.user.id, text: "two minutes" });
    expect(framesOf(riderSide.socket, (f) => f.type === "message")).toHaveLength(2);

    riderSide.socket.send({ type: "message", id: "blank", text: "   " });
    expect(await riderSide.socket.next((f) => f.id === "blank")).toMatchObject({
      type: "error",
      code: "invalid_request",
    });
    riderSide.socket.send({ type: "nonsense", id: "what" });
    expect(await riderSide.socket.next((f) => f.id === "what")).toMatchObject({
      type: "error",
      code: "invalid_request",
    });

    // A client that saw up to `start` gets the two messages, in order, then synced.
    const resumed = await tripSocket(rider, trip.id, start);
    expect(resumed.welcome.seq).toBe(start + 2);
    expect((await resumed.socket.next()).seq).toBe(start + 1);
    expect((await resumed.socket.next()).seq).toBe(start + 2);
    expect(await resumed.socket.next()).toEqual({ type: "synced", seq: start + 2 });
    // From the very beginning: the rider gets the whole log, status frames included; the
    // driver reads from their assignment on (a reset to the seq before it, then the rest).
    const full = await tripSocket(rider, trip.id, 0);
    await full.socket.nextOfType("synced");
    expect(full.socket.frames.slice(1, -1).map((f) => [f.seq, f.type])).toEqual([
      [1, "status"],
      [2, "status"],
      [3, "message"],
      [4, "message"],
    ]);
    const driverFull = await tripSocket(driver, trip.id, 0);
    await driverFull.socket.nextOfType("synced");
    expect(driverFull.socket.frames.slice(1, -1).map((f) => [f.seq, f.type])).toEqual([
      [1, "reset"],
      [2, "status"],
      [3, "message"],
      [4, "message"],
    ]);
    driverFull.socket.close();
    // A cursor ahead of the room cannot be resumed from.
    const ahead = await tripSocket(rider, trip.id, start + 50);
    expect(await ahead.socket.next()).toEqual({ type: "reset", seq: start + 2 });
    for (const s of [riderSide.socket, driverSide.socket, resumed.socket, full.socket, ahead.socket, driver.socket])
      s.close();
  });

  it("closes when the trip ends: a new message is refused, a retry of one sent before is acked", async () => {
    const pickup = area(42);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const riderSide = await tripSocket(rider, trip.id);
    riderSide.socket.send({ type: "message", id: "before", text: "on my way" });
    const { seq } = await riderSide.socket.nextOfType("ack");
    for (const action of ["arrived", "start", "complete"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    riderSide.socket.send({ type: "message", id: "before", text: "on my way" });
    expect(await riderSide.socket.next((f) => f.id === "before")).toEqual({ type: "ack", id: "before", seq });
    riderSide.socket.send({ type: "message", id: "after", text: "thanks!" });
    expect(await riderSide.socket.next((f) => f.id === "after")).toMatchObject({ type: "error", code: "conflict" });
    const overHttp = await call("POST", `/v1/trips/${trip.id}/messages`, {
      token: driver.token,
      body: { text: "bye" },
    });
    expectError(overHttp, 409, "conflict");
    riderSide.socket.close();
    driver.socket.close();
  });
});

describe("eviction mid-trip", () => {
  it("keeps sockets, seq and the trip across evictions of the trip room and the driver's session", async () => {
    const pickup = area(6);
    const driver = await onlineDriver(offset(pickup, 0.5));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const riderSide = await tripSocket(rider, trip.id);
    const driverSide = await tripSocket(driver, trip.id);
    let seq = riderSide.welcome.seq;

    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    riderSide.socket.send({ type: "message", id: "after-evict", text: "still there?" });
    expect(await riderSide.socket.nextOfType("ack")).toEqual({ type: "ack", id: "after-evict", seq: ++seq });
    expect((await driverSide.socket.nextOfType("message")).seq).toBe(seq);

    await evictDurableObject(driverStub(driver.user.id), { webSockets: "hibernate" });
    const fixAt = Date.now() + 4_000;
    const near = offset(pickup, 0.4);
    // The driver's channel still takes fixes, and the woken trip room still forwards them.
    await sendFix(driver, near, fixAt);
    expect(await riderSide.socket.nextOfType("location")).toMatchObject({
      lat: near.lat,
      lng: near.lng,
      at: fixAt,
      etaSec: etaSec(near, pickup, MODEL),
    });

    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    await evictDurableObject(driverStub(driver.user.id), { webSockets: "hibernate" });
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    seq++;
    for (const side of [riderSide, driverSide])
      expect(await side.socket.nextOfType("status")).toMatchObject({ seq, trip: { status: "arrived" } });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "arrived", driverLocation: near });
    await frameSeen(driver.socket, (f) => f.type === "trip" && f.trip.status === "arrived");
    driverSide.socket.send({ type: "ping" });
    expect(await driverSide.socket.nextOfType("pong")).toEqual({ type: "pong" });

    // The rider drops off the network; meanwhile the ride starts and the driver writes.
    riderSide.socket.close();
    const lastSeen = seq;
    expect((await driverAction(driver, trip.id, "start")).status).toBe(200);
    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    driverSide.socket.send({ type: "message", id: "d-msg", text: "off we go" });
    expect(await driverSide.socket.nextOfType("ack")).toEqual({ type: "ack", id: "d-msg", seq: lastSeen + 2 });

    const back = await tripSocket(rider, trip.id, lastSeen);
    expect(back.welcome).toMatchObject({ seq: lastSeen + 2, trip: { status: "in_progress" } });
    expect(await back.socket.next()).toMatchObject({
      type: "status",
      seq: lastSeen + 1,
      trip: { status: "in_progress" },
    });
    expect(await back.socket.next()).toMatchObject({
      type: "message",
      seq: lastSeen + 2,
      message: { text: "off we go" },
    });
    expect(await back.socket.next()).toEqual({ type: "synced", seq: lastSeen + 2 });

    // And the evicted pair still finish the ride.
    await evictDurableObject(driverStub(driver.user.id), { webSockets: "hibernate" });
    expect((await driverAction(driver, trip.id, "complete")).status).toBe(200);
    expect(await back.socket.nextOfType("status")).toMatchObject({ seq: lastSeen + 3, trip: { status: "completed" } });
    expect(await back.socket.nextOfType("fare")).toMatchObject({ seq: lastSeen + 4 });
    for (const s of [back.socket, driverSide.socket, driver.socket]) s.close();
  });
});

describe("the trip's tables", () => {
  const tablesOf = (tripId: string) =>
    runInDurableObject(tripStub(tripId), (_room, ctx) =>
      ctx.storage.sql
        .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
        .toArray()
        .map((row) => row.name),
    );

  it("makes those a trip may never need with their first row, and finds them again after a wake", async () => {
    const pickup = area(44);
    const driver = await onlineDriver(offset(pickup, 0.5), "Zora Quixley");
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));

    // Accepted: the driver's card and name are kept; no arrival SMS timer, schedule or share link was ever written.
    const made = await tablesOf(trip.id);
    expect(made).toEqual(expect.arrayContaining(["trip", "events", "trip_driver_card", "trip_driver_name"]));
    for (const never of ["arrival_sms", "schedule", "trip_share"]) expect(made).not.toContain(never);
    const card = (await getTrip(rider, trip.id)).driver;
    expect(card).toMatchObject({ firstName: "Zora" });

    // Woken, the trip reads the card from SQLite as it was, and its missing tables still answer as empty.
    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    expect((await getTrip(rider, trip.id)).driver).toEqual(card);
    expect((await call("GET", `/v1/shared/${trip.id}.${"A".repeat(43)}`)).status).toBe(404);
    expect((await call("DELETE", `/v1/trips/${trip.id}/share`, { token: rider.token })).body).toEqual({ revoked: 0 });

    // The first link makes its table; woken again, the trip finds the link.
    const shared = await call("POST", `/v1/trips/${trip.id}/share`, { token: rider.token });
    expect(shared.status).toBe(201);
    expect(await tablesOf(trip.id)).toContain("trip_share");
    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    const view = await call("GET", `/v1/shared/${encodeURIComponent(shared.body.share.token)}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ trip: { driver: { firstName: "Zora" } } });
    expect((await call("DELETE", `/v1/trips/${trip.id}/share`, { token: rider.token })).body).toEqual({ revoked: 1 });
  });
});
