// Dispatch (DESIGN.md, "Dispatch"): one offer at a time timed by the trip's alarm, the ring
// widened once, giving up with no_driver after MATCH_TIMEOUT_MS, a driver's cancel sending the
// trip back to matching without them, offers that survive eviction, and many riders racing
// for few drivers without any driver holding two trips.
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { cellToBoundary, cellToLatLng, gridDistance, latLngToCell } from "h3-js";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { etaSec } from "../../src/domain/geo";
import type { LatLng } from "../../src/protocol/common";
import { call, connectOk, registerUser, type TestSocket } from "../helpers/api";
import {
  area,
  driverAction,
  driverState,
  driverStub,
  editDriverRow,
  editTripState,
  expectError,
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
  waitFor,
} from "../helpers/dispatch";

const offersFor = (driver: OnlineDriver, tripId: string) =>
  framesOf(driver.socket, (f) => f.type === "offer" && f.tripId === tripId);

/** Makes the open offer's time run out without waiting 15 s for it. */
const expireOffer = (tripId: string) =>
  editTripState(tripId, (s) => {
    if (!s.offer) throw new Error("the trip has no open offer");
    s.offer.expiresAt = Date.now() - 1_000;
  });

async function riderSocket(rider: { token: string }, tripId: string): Promise<TestSocket> {
  const socket = await connectOk(`/v1/trips/${tripId}/ws`, rider.token);
  await socket.nextOfType("welcome");
  return socket;
}

const config = loadConfig(env);

/** A point north of `pickup` whose H3 cell is exactly `k` steps from the pickup's. */
function pointAtRing(pickup: LatLng, k: number): LatLng {
  const center = latLngToCell(pickup.lat, pickup.lng, config.H3_RESOLUTION);
  const hits: LatLng[] = [];
  for (let km = 0; km < 30; km += 0.1) {
    const point = offset(pickup, km);
    if (gridDistance(center, latLngToCell(point.lat, point.lng, config.H3_RESOLUTION)) === k) hits.push(point);
  }
  const middle = hits[Math.floor(hits.length / 2)];
  if (!middle) throw new Error(`no point found at ring ${k}`);
  return middle;
}

/**
 * Points on the line from the middle of an edge of `near`'s cell to the cell's centre, `km`
 * along it: positive inside the cell, negative beyond the edge in the neighbouring cell.
 */
function alongEdgeNormal(near: LatLng): (km: number) => LatLng {
  const cell = latLngToCell(near.lat, near.lng, config.H3_RESOLUTION);
  const [centerLat, centerLng] = cellToLatLng(cell);
  const [[aLat, aLng], [bLat, bLng]] = cellToBoundary(cell) as [[number, number], [number, number]];
  const edge = { lat: (aLat + bLat) / 2, lng: (aLng + bLng) / 2 };
  const northKm = (centerLat - edge.lat) * 111.32;
  const eastKm = (centerLng - edge.lng) * 111.32 * Math.cos((edge.lat * Math.PI) / 180);
  const length = Math.hypot(northKm, eastKm);
  return (km) => offset(edge, (km * northKm) / length, (km * eastKm) / length);
}

// No trip timer may fire while the runtime is torn down.
afterAll(stopTripAlarms);

describe("offer timeout", () => {
  it(
    "expires an offer by the alarm, frees the driver and offers the next one, once, even if the alarm runs " + "twice",
    async () => {
      const pickup = area(1);
      const a = await onlineDriver(offset(pickup, 0.3), "A");
      const b = await onlineDriver(offset(pickup, 0.9), "B");
      const c = await onlineDriver(offset(pickup, -1.6), "C");
      const rider = await registerUser("rider");
      const trip = await requestTrip(rider, pickup, offset(pickup, 5));
      const riderWs = await riderSocket(rider, trip.id);
      await nextOffer(a, trip.id);

      await expireOffer(trip.id);
      await runTripAlarm(trip.id);
      await runTripAlarm(trip.id);
      expect(await a.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
      const offerB = await nextOffer(b, trip.id);
      await waitDriverStatus(a, "available");
      await settle();
      expect(offersFor(a, trip.id)).toHaveLength(1);
      expect(offersFor(b, trip.id)).toHaveLength(1);
      expect(offersFor(c, trip.id)).toHaveLength(0);
      expect((await driverState(b)).status).toBe("offered");
      const state = await readTripState(trip.id);
      expect(state.offer).toMatchObject({ driverId: b.user.id, expiresAt: offerB.expiresAt });
      expect(state.excludedDrivers).toEqual([a.user.id]);

      // An alarm while B's offer is still open changes nothing.
      await runTripAlarm(trip.id);
      await settle();
      expect((await readTripState(trip.id)).offer).toEqual(state.offer);
      expect(offersFor(b, trip.id)).toHaveLength(1);
      expect(offersFor(c, trip.id)).toHaveLength(0);

      // B's time runs out too: C is next, and A, who already passed, is never asked again.
      await expireOffer(trip.id);
      await runTripAlarm(trip.id);
      expect(await b.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
      await nextOffer(c, trip.id);
      expect(offersFor(a, trip.id)).toHaveLength(1);
      c.socket.send({ type: "offer.accept", id: "take", tripId: trip.id });
      expect(await c.socket.next((f) => f.id === "take")).toEqual({ type: "ack", id: "take" });
      expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: c.user.id });
      await riderWs.nextOfType("status");

      // Offers are private to each driver: the room's log holds only the status change.
      expect(riderWs.frames.filter((f) => f.seq !== undefined).map((f) => [f.type, f.seq])).toEqual([
        ["welcome", 1],
        ["status", 2],
      ]);
      for (const s of [a.socket, b.socket, c.socket, riderWs]) s.close();
    },
  );

  it("widens the search ring once, and never reaches beyond it", async () => {
    const pickup = area(2);
    const wide = await onlineDriver(pointAtRing(pickup, config.WIDE_SEARCH_RING), "In the wide ring");
    const far = await onlineDriver(pointAtRing(pickup, config.WIDE_SEARCH_RING + 2), "Beyond it");
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, -5));
    await nextOffer(wide, trip.id);
    expect((await driverAction(wide, trip.id, "decline")).status).toBe(200);
    await waitDriverStatus(wide, "available");
    await runTripAlarm(trip.id);
    await settle();
    expect(offersFor(far, trip.id)).toHaveLength(0);
    expect((await getTrip(rider, trip.id)).status).toBe("matching");
    wide.socket.close();
    far.socket.close();
  });
});

describe("search order", () => {
  // Matching asks the pickup's own cell first and its ring only when a driver there could
  // still rank ahead (domain/area-search nearSearch): the order must be the whole ring's.
  const model = { detourFactor: config.DETOUR_FACTOR, citySpeedKmh: config.CITY_SPEED_KMH };
  const cellAt = (p: LatLng) => latLngToCell(p.lat, p.lng, config.H3_RESOLUTION);

  it("offers and quotes the nearest driver across the pickup cell's edge, then the one inside it", async () => {
    const at = alongEdgeNormal(area(10));
    const pickup = at(0.1);
    const beyond = await onlineDriver(at(-0.1), "Beyond the edge, 200 m away");
    const inside = await onlineDriver(at(0.5), "Inside the cell, 400 m away");
    expect(cellAt(at(-0.1))).not.toBe(cellAt(pickup));
    expect(cellAt(at(0.5))).toBe(cellAt(pickup));
    const rider = await registerUser("rider");

    const quote = await call("POST", "/v1/quotes", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 3) },
    });
    expect(quote.body.quote.pickupEtaSec).toBe(etaSec(at(-0.1), pickup, model));

    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(beyond, trip.id);
    expect(offersFor(inside, trip.id)).toHaveLength(0);
    expect((await driverAction(beyond, trip.id, "decline")).status).toBe(200);
    await nextOffer(inside, trip.id);
    beyond.socket.close();
    inside.socket.close();
  });

  it("offers a driver inside the cell first when none beyond its edge can be nearer, then asks the ring", async () => {
    const at = alongEdgeNormal(area(11));
    const pickup = at(0.8);
    const inside = await onlineDriver(at(0.6), "Inside the cell, 200 m away");
    const beyond = await onlineDriver(at(-0.3), "Beyond the edge, 1.1 km away");
    expect(cellAt(at(-0.3))).not.toBe(cellAt(pickup));
    const rider = await registerUser("rider");

    const quote = await call("POST", "/v1/quotes", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 3) },
    });
    expect(quote.body.quote.pickupEtaSec).toBe(etaSec(at(0.6), pickup, model));

    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(inside, trip.id);
    expect(offersFor(beyond, trip.id)).toHaveLength(0);
    expect((await driverAction(inside, trip.id, "decline")).status).toBe(200);
    await nextOffer(beyond, trip.id);
    inside.socket.close();
    beyond.socket.close();
  });
});

describe("the driver's channel", () => {
  it("shows the accepted trip even when the driver's session no longer holds the offer", async () => {
    // The trip room's word stands: the session refusing to confirm (its row out of step with
    // the trip) must not keep the trip from the driver's apps.
    const pickup = area(12);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(driver, trip.id);
    await editDriverRow(driver.user.id, `UPDATE driver SET status = 'available', trip_id = NULL, offer = NULL`);
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    expect(await driver.socket.next((f) => f.type === "trip" && f.trip.status === "accepted")).toMatchObject({
      trip: { id: trip.id, driverId: driver.user.id },
    });
    driver.socket.close();
  });
});

describe("no driver", () => {
  it("keeps matching until MATCH_TIMEOUT_MS, then ends no_driver and frees the rider", async () => {
    const pickup = area(3);
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    const riderWs = await riderSocket(rider, trip.id);
    await runTripAlarm(trip.id);
    expect((await getTrip(rider, trip.id)).status).toBe("matching");

    // Matching began 2 minutes and 1 second ago.
    await editTripState(trip.id, (s) => {
      s.matchingStartedAt = Date.now() - 121_000;
    });
    await runTripAlarm(trip.id);
    expect(await riderWs.nextOfType("status")).toMatchObject({
      seq: 2,
      trip: { id: trip.id, status: "no_driver", driverId: null },
    });
    expect((await getTrip(rider, trip.id)).status).toBe("no_driver");
    expectError(await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token }), 409, "conflict");
    // Nothing runs on after the end: another alarm changes nothing.
    await runTripAlarm(trip.id);
    expect((await getTrip(rider, trip.id)).status).toBe("no_driver");
    expect(
      (await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff: offset(pickup, 3) } })).status,
    ).toBe(201);
    riderWs.close();
  });

  it("lets go of a driver whose offer ran out when matching gives up", async () => {
    const pickup = area(4);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(driver, trip.id);
    await editTripState(trip.id, (s) => {
      s.matchingStartedAt = Date.now() - 121_000;
      s.offer!.expiresAt = Date.now() - 1_000;
    });
    await runTripAlarm(trip.id);
    expect(await driver.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
    expect((await getTrip(rider, trip.id)).status).toBe("no_driver");
    await waitDriverStatus(driver, "available");
    expectError(await driverAction(driver, trip.id, "accept"), 409, "conflict");
    driver.socket.close();
  });

  it("gives up at MATCH_TIMEOUT_MS even while an offer is still open, and lets that driver go", async () => {
    const pickup = area(13);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    const offer = await nextOffer(driver, trip.id);
    expect(offer.expiresAt).toBeGreaterThan(Date.now());
    // Matching began 2 minutes ago; the offer has seconds left.
    await editTripState(trip.id, (s) => {
      s.matchingStartedAt = Date.now() - 120_000;
    });
    await runTripAlarm(trip.id);
    expect((await getTrip(rider, trip.id)).status).toBe("no_driver");
    expect(await driver.socket.nextOfType("offer.expired")).toEqual({ type: "offer.expired", tripId: trip.id });
    await waitDriverStatus(driver, "available");
    expectError(await driverAction(driver, trip.id, "accept"), 409, "conflict");
    driver.socket.close();
  });
});

describe("a driver's cancel", () => {
  it("sends an accepted or arrived trip back to matching, never to offer it to that driver again", async () => {
    const pickup = area(5);
    const a = await onlineDriver(offset(pickup, 0.3), "A");
    const b = await onlineDriver(offset(pickup, -0.9), "B");
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 4));
    const riderWs = await riderSocket(rider, trip.id);
    await nextOffer(a, trip.id);
    expect((await driverAction(a, trip.id, "accept")).status).toBe(200);
    await waitDriverStatus(a, "on_trip");

    const back = await call("POST", `/v1/trips/${trip.id}/cancel`, { token: a.token, body: { reason: "flat tyre" } });
    expect(back.status).toBe(200);
    expect(back.body.trip).toMatchObject({ status: "matching", driverId: null });
    expect(back.body.trip).not.toHaveProperty("cancellationFee");
    await nextOffer(b, trip.id);
    await waitDriverStatus(a, "available");
    // Back in the trip's hands: the driver who left can neither see nor retake it.
    expectError(await call("GET", `/v1/trips/${trip.id}`, { token: a.token }), 403, "forbidden");
    expectError(await driverAction(a, trip.id, "accept"), 409, "conflict");

    expect((await driverAction(b, trip.id, "accept")).status).toBe(200);
    expect((await driverAction(b, trip.id, "arrived")).status).toBe(200);
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: b.token })).body.trip).toMatchObject({
      status: "matching",
      driverId: null,
    });
    await waitDriverStatus(b, "available");
    // Both nearby drivers have passed; later passes offer it to neither.
    await runTripAlarm(trip.id);
    await settle();
    expect(offersFor(a, trip.id)).toHaveLength(1);
    expect(offersFor(b, trip.id)).toHaveLength(1);
    expect(
      riderWs.frames.filter((f) => f.type === "status").map((f) => [f.seq, f.trip.status, f.trip.driverId]),
    ).toEqual([
      [2, "accepted", a.user.id],
      [3, "matching", null],
      [4, "accepted", b.user.id],
      [5, "arrived", b.user.id],
      [6, "matching", null],
    ]);
    // The rider's cancel now costs nothing: no driver holds the trip.
    const cancelled = await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token });
    expect(cancelled.body.trip.status).toBe("cancelled");
    expect(cancelled.body.trip).not.toHaveProperty("cancellationFee");
    for (const s of [a.socket, b.socket, riderWs]) s.close();
  });
});

describe("eviction with an open offer", () => {
  it("keeps a recorded offer and its timer across evictions of the trip room and the driver's session", async () => {
    const pickup = area(6);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    const offer = await nextOffer(driver, trip.id);
    await waitFor("the trip to record its offer", async () =>
      (await readTripState(trip.id)).offer ? true : undefined,
    );
    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    await evictDurableObject(driverStub(driver.user.id), { webSockets: "hibernate" });
    expect((await readTripState(trip.id)).offer).toMatchObject({
      driverId: driver.user.id,
      expiresAt: offer.expiresAt,
    });
    // The alarm still stands, and running it before the offer runs out changes nothing.
    expect(await runTripAlarm(trip.id)).toBe(true);
    await settle();
    expect((await driverState(driver)).status).toBe("offered");
    expect(offersFor(driver, trip.id)).toHaveLength(1);
    driver.socket.send({ type: "offer.accept", id: "acc", tripId: trip.id });
    expect(await driver.socket.next((f) => f.id === "acc")).toEqual({ type: "ack", id: "acc" });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: driver.user.id });
    await waitDriverStatus(driver, "on_trip");
    driver.socket.close();
  });

  it("never strands a driver when the trip room is evicted while reserving them", async () => {
    const pickup = area(8);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    // The offer reaches the driver only once the trip has recorded it, at the end of the pass:
    // evicting now may still cut that pass short.
    await nextOffer(driver, trip.id);
    await evictDurableObject(tripStub(trip.id), { webSockets: "hibernate" });
    // Whatever the eviction interrupted, later passes end with the trip and the driver agreeing.
    await waitFor("the trip and the driver to agree on an offer", async () => {
      await runTripAlarm(trip.id);
      const [state, seen] = [await readTripState(trip.id), await driverState(driver)];
      return state.offer?.driverId === driver.user.id && seen.status === "offered" && seen.tripId === trip.id
        ? true
        : undefined;
    });
    const expired = framesOf(driver.socket, (f) => f.type === "offer.expired");
    // A lost offer was withdrawn from the driver before being made again.
    expect(offersFor(driver, trip.id)).toHaveLength(1 + expired.length);
    driver.socket.send({ type: "offer.accept", id: "acc", tripId: trip.id });
    expect(await driver.socket.next((f) => f.id === "acc")).toEqual({ type: "ack", id: "acc" });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: driver.user.id });
    await waitDriverStatus(driver, "on_trip");
    driver.socket.close();
  });
});

describe("many riders, few drivers", () => {
  it("gives each of 5 drivers exactly one of 20 concurrent trips; the rest keep matching", async () => {
    const pickup = area(9);
    const drivers = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => onlineDriver(offset(pickup, 0.2 + i * 0.15, 0.1 * i), `Driver ${i}`)),
    );
    // Every driver takes whatever they are offered, at once.
    for (const driver of drivers) {
      driver.socket.ws.addEventListener("message", (event) => {
        const frame = JSON.parse(String(event.data));
        if (frame.type === "offer")
          driver.socket.send({ type: "offer.accept", id: `accept-${frame.tripId}`, tripId: frame.tripId });
      });
    }
    const riders = await Promise.all(Array.from({ length: 20 }, () => registerUser("rider")));
    const trips = await Promise.all(riders.map((rider) => requestTrip(rider, pickup, offset(pickup, 4))));
    expect(new Set(trips.map((t) => t.id)).size).toBe(20);

    const snapshot = () => Promise.all(trips.map((t, i) => getTrip(riders[i]!, t.id)));
    await waitFor(
      "5 accepted trips",
      async () => ((await snapshot()).filter((t) => t.status === "accepted").length >= 5 ? true : undefined),
      8_000,
    );
    // Let any late offer or accept land before judging.
    await settle(500);
    const final = await snapshot();
    const accepted = final.filter((t) => t.status === "accepted");
    expect(accepted).toHaveLength(5);
    expect(
      final
        .filter((t) => t.status !== "accepted")
        .every((t) => (t.status === "matching" || t.status === "no_driver") && t.driverId === null),
    ).toBe(true);
    // No trip has two drivers and no driver holds two trips.
    const holders = accepted.map((t) => t.driverId);
    expect(new Set(holders).size).toBe(5);
    expect(new Set(holders)).toEqual(new Set(drivers.map((d) => d.user.id)));
    for (const driver of drivers) {
      const state = await driverState(driver);
      const held = accepted.find((t) => t.driverId === driver.user.id);
      expect(state).toMatchObject({ status: "on_trip", tripId: held.id });
      // Every accept the driver sent was for that one trip, and succeeded.
      const answers = framesOf(
        driver.socket,
        (f) => (f.type === "ack" || f.type === "error") && String(f.id).startsWith("accept-"),
      );
      expect(answers).toEqual([{ type: "ack", id: `accept-${held.id}` }]);
    }
    for (const driver of drivers) driver.socket.close();
    // 25 users top up, go online and request trips at once: each of those requests also asks
    // the rate-limit binding, which wrangler and the test runtime emulate with an object that
    // writes to SQLite per call (README, "Security"), about 2 s more here on a busy machine.
  }, 15_000);
});
