// Drivers (API.md): going online and offline over HTTP, and the driver channel socket:
// welcome, who may open it, location fixes and their validation, offers with accept and decline.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { cellOf } from "../../src/domain/geo";
import { Driver, Offer } from "../../src/protocol/dispatch";
import { identityHeader } from "../../src/rooms/identity";
import { call, connect, connectOk, registerUser } from "../helpers/api";
import {
  area,
  driverAction,
  driverState,
  driverStub,
  editTripState,
  expectError,
  frameSeen,
  framesOf,
  getTrip,
  inCell,
  nextOffer,
  offset,
  onlineDriver,
  requestTrip,
  runTripAlarm,
  settle,
  stopTripAlarms,
  waitDriverStatus,
  waitFor,
} from "../helpers/dispatch";

// Every test works in its own area (see `area`), so no test is offered another test's trip.

const recentAcceptance = (driverId: string) =>
  runInDurableObject(
    driverStub(driverId),
    (_instance, ctx) => ctx.storage.sql.exec<{ r: number | null }>(`SELECT recent_acceptance AS r FROM driver`).one().r,
  );

// No trip timer may fire while the runtime is torn down.
afterAll(stopTripAlarms);

describe("POST /v1/drivers/me/online and /offline", () => {
  it("puts a driver online at their location, then offline", async () => {
    const driver = await registerUser("driver");
    const location = area(1);
    const online = await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location } });
    expect(online.status).toBe(200);
    const view = Driver.strict().parse(online.body.driver);
    expect(view).toMatchObject({ id: driver.user.id, status: "available", tripId: null, location });
    expect(view.locationAt).toEqual(expect.any(Number));

    // Online drivers are what a quote's pickup ETA is made from; offline ones are not. The
    // session tells the geo index just behind its reply.
    const rider = await registerUser("rider");
    const pickupEta = async () =>
      (
        await call("POST", "/v1/quotes", {
          token: rider.token,
          body: { pickup: offset(location, 0.3), dropoff: offset(location, 3) },
        })
      ).body.quote.pickupEtaSec;
    await waitFor("a pickup ETA", async () => ((await pickupEta()) !== null ? true : undefined));

    const offline = await call("POST", "/v1/drivers/me/offline", { token: driver.token });
    expect(offline.status).toBe(200);
    expect(offline.body.driver).toMatchObject({ id: driver.user.id, status: "offline", tripId: null });
    await waitFor("no pickup ETA", async () => ((await pickupEta()) === null ? true : undefined));
    expect(await inCell(location, driver.user.id)).toBe(false);
  });

  it("answers 403 to a rider and 401 without a token", async () => {
    const rider = await registerUser("rider");
    const body = { location: area(2) };
    expectError(await call("POST", "/v1/drivers/me/online", { token: rider.token, body }), 403, "forbidden");
    expectError(await call("POST", "/v1/drivers/me/offline", { token: rider.token }), 403, "forbidden");
    expectError(await call("POST", "/v1/drivers/me/online", { body }), 401, "unauthorized");
    expectError(await call("POST", "/v1/drivers/me/offline", {}), 401, "unauthorized");
    expectError(await call("GET", "/v1/drivers/me", { token: rider.token }), 403, "forbidden");
  });

  it("answers 400 to a location that is not a WGS84 point", async () => {
    const driver = await registerUser("driver");
    const bad = [
      { location: { lat: 90.5, lng: 0 } },
      { location: { lat: -91, lng: 0 } },
      { location: { lat: 0, lng: 180.01 } },
      { location: { lat: 0, lng: -181 } },
      { location: { lat: "10", lng: 0 } },
      { location: { lat: 10 } },
      { location: null },
      {},
    ];
    for (const body of bad) {
      const res = await call("POST", "/v1/drivers/me/online", { token: driver.token, body });
      expectError(res, 400, "invalid_request");
      expect(res.body.error.details).toEqual(expect.any(Array));
    }
    expectError(
      await call("POST", "/v1/drivers/me/online", {
        token: driver.token,
        body: "{not json",
        headers: { "Content-Type": "application/json" },
      }),
      400,
      "invalid_request",
    );
    // Nothing was stored: the driver never went online.
    expect((await driverState(driver)).status).toBe("offline");
  });

  it("answers 409 to going offline while on a trip, and 200 once the trip is over", async () => {
    const pickup = area(3);
    const driver = await onlineDriver(offset(pickup, 0.4));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 4));
    await nextOffer(driver, trip.id);
    // Holding an offer counts as busy too.
    expectError(await call("POST", "/v1/drivers/me/offline", { token: driver.token }), 409, "conflict");
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    await waitDriverStatus(driver, "on_trip");
    expectError(await call("POST", "/v1/drivers/me/offline", { token: driver.token }), 409, "conflict");
    expect((await driverState(driver)).status).toBe("on_trip");

    for (const action of ["arrived", "start", "complete"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    await waitDriverStatus(driver, "available");
    const offline = await call("POST", "/v1/drivers/me/offline", { token: driver.token });
    expect(offline.status).toBe(200);
    expect(offline.body.driver.status).toBe("offline");
    driver.socket.close();
  });
});

describe("driver channel /v1/drivers/me/ws", () => {
  it("welcomes the driver with their state", async () => {
    const location = area(4);
    const driver = await registerUser("driver");
    await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location } });
    const socket = await connectOk("/v1/drivers/me/ws", driver.token);
    const welcome = await socket.nextOfType("welcome");
    expect(welcome.seq).toEqual(expect.any(Number));
    expect(Driver.strict().parse(welcome.driver)).toMatchObject({
      id: driver.user.id,
      status: "available",
      location,
      connected: true,
    });
    socket.send({ type: "ping" });
    expect(await socket.nextOfType("pong")).toEqual({ type: "pong" });
    socket.close();
  });

  it("is 403 for a rider, 401 without a token, and 403 for another driver's session", async () => {
    const rider = await registerUser("rider");
    const refused = await connect("/v1/drivers/me/ws", { token: rider.token });
    expect(refused.socket).toBeNull();
    expectError(refused, 403, "forbidden");
    const anonymous = await connect("/v1/drivers/me/ws");
    expect(anonymous.socket).toBeNull();
    expectError(anonymous, 401, "unauthorized");

    // The Worker only ever forwards a driver to their own session; the session itself also
    // refuses anyone else, should an identity for another driver reach it.
    const owner = await onlineDriver(area(5));
    const other = await registerUser("driver");
    const res = await driverStub(owner.user.id).fetch(
      new Request("https://room.internal/ws", {
        headers: { Upgrade: "websocket", ...identityHeader({ userId: other.user.id, role: "driver", name: "Other" }) },
      }),
    );
    expect(res.webSocket).toBeNull();
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    owner.socket.close();
  });

  it("stores valid fixes and answers bad ones with an error, storing nothing", async () => {
    const start = area(6);
    const driver = await onlineDriver(start);
    const ws = driver.socket;
    const now = Date.now();
    const fix = (id: string, point: { lat: number; lng: number }, at: number) => ({
      type: "location",
      id,
      lat: point.lat,
      lng: point.lng,
      at,
    });
    const errorFor = async (id: string) => {
      const frame = await ws.next((f) => f.id === id);
      expect(frame.type).toBe("error");
      return frame;
    };

    ws.send(fix("lat", { lat: 90.1, lng: start.lng }, now + 1_000));
    expect((await errorFor("lat")).code).toBe("invalid_request");
    ws.send(fix("lng", { lat: start.lat, lng: -180.5 }, now + 1_000));
    expect((await errorFor("lng")).code).toBe("invalid_request");
    ws.send({ type: "location", id: "no-at", lat: start.lat, lng: start.lng });
    expect((await errorFor("no-at")).code).toBe("invalid_request");
    // More than FIX_MAX_AHEAD_MS (5 s) ahead of the server clock, or more than 2 minutes old.
    ws.send(fix("future", start, now + 6_000));
    expect((await errorFor("future")).code).toBe("invalid_request");
    ws.send(fix("old", start, now - 150_000));
    expect((await errorFor("old")).code).toBe("invalid_request");

    const moved = offset(start, 0.1);
    ws.send(fix("ok", moved, now + 2_000));
    expect(await ws.next((f) => f.id === "ok")).toEqual({ type: "ack", id: "ok" });
    expect((await driverState(driver)).location).toEqual(moved);

    // 50 km in 2 s is 90,000 km/h: a GPS jump, not a drive.
    ws.send(fix("jump", offset(start, 50), now + 4_000));
    const jump = await errorFor("jump");
    expect(jump.code).toBe("invalid_request");
    expect(jump.message).toMatch(/km\/h/);
    const after = await driverState(driver);
    expect(after.location).toEqual(moved);
    expect(after.locationAt).toBe(now + 2_000);
    expect(ws.closed).toBeNull();
    ws.close();
  });

  it("limits fixes to 2 per second with rate_limited, then accepts again", async () => {
    const start = area(7);
    const driver = await onlineDriver(start);
    const ws = driver.socket;
    // 10 m per second of fix time: a walk, so only the rate can refuse these.
    const base = Date.now() + 1_000;
    const fix = (i: number) => ({
      type: "location",
      id: `r${i}`,
      lat: offset(start, 0.01 * (i + 1)).lat,
      lng: start.lng,
      at: base + i * 1_000,
    });
    for (let i = 0; i < 3; i++) ws.send(fix(i));
    const answers = [
      await ws.next((f) => f.id === "r0"),
      await ws.next((f) => f.id === "r1"),
      await ws.next((f) => f.id === "r2"),
    ];
    expect(answers.map((a) => a.type)).toEqual(["ack", "ack", "error"]);
    expect(answers[2].code).toBe("rate_limited");
    // The refused fix was not stored.
    expect((await driverState(driver)).locationAt).toBe(base + 1_000);

    await settle(600);
    ws.send(fix(3));
    expect(await ws.next((f) => f.id === "r3")).toEqual({ type: "ack", id: "r3" });
    expect((await driverState(driver)).locationAt).toBe(base + 3_000);
    ws.close();
  });

  it("sends an offer with expiresAt; offer.accept is acked and the trip is accepted", async () => {
    const pickup = area(8);
    const driver = await onlineDriver(offset(pickup, 0.5));
    const rider = await registerUser("rider");
    const before = Date.now();
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    const offer = await nextOffer(driver, trip.id);
    const { type, ...fields } = offer;
    expect(type).toBe("offer");
    // Enough to decide and nothing about the rider.
    expect(Offer.strict().parse(fields)).toMatchObject({
      tripId: trip.id,
      pickup,
      dropoff: trip.dropoff,
      fare: trip.quote.fare,
    });
    expect(offer.pickupEtaSec).toBeGreaterThan(0);
    expect(offer.expiresAt).toBeGreaterThanOrEqual(before + 15_000);
    expect(offer.expiresAt).toBeLessThanOrEqual(Date.now() + 15_000);
    expect(JSON.stringify(offer)).not.toContain(rider.user.id);
    expect((await driverState(driver)).status).toBe("offered");

    driver.socket.send({ type: "offer.accept", id: "acc-1", tripId: trip.id });
    expect(await driver.socket.next((f) => f.id === "acc-1")).toEqual({ type: "ack", id: "acc-1" });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: driver.user.id });
    const update = await frameSeen(driver.socket, (f) => f.type === "trip" && f.trip.status === "accepted");
    expect(update.trip).toMatchObject({ id: trip.id, driverId: driver.user.id });
    await waitDriverStatus(driver, "on_trip");
    expect((await driverState(driver)).tripId).toBe(trip.id);

    // A repeated command id is acknowledged again and not applied twice.
    driver.socket.send({ type: "offer.accept", id: "acc-1", tripId: trip.id });
    expect(await driver.socket.next((f) => f.id === "acc-1")).toEqual({ type: "ack", id: "acc-1" });
    driver.socket.close();
  });

  it("offer.decline is acked and the offer moves to the next driver", async () => {
    const pickup = area(9);
    const first = await onlineDriver(offset(pickup, 0.3), "Nearest");
    const second = await onlineDriver(offset(pickup, -1.2), "Next");
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await nextOffer(first, trip.id);
    expect(framesOf(second.socket, (f) => f.type === "offer")).toEqual([]);

    first.socket.send({ type: "offer.decline", id: "dec-1", tripId: trip.id });
    expect(await first.socket.next((f) => f.id === "dec-1")).toEqual({ type: "ack", id: "dec-1" });
    await nextOffer(second, trip.id);
    await waitDriverStatus(first, "available");
    expect((await getTrip(rider, trip.id)).status).toBe("matching");

    // The driver who declined is not asked again, and cannot take it back.
    first.socket.send({ type: "offer.accept", id: "late", tripId: trip.id });
    expect(await first.socket.next((f) => f.id === "late")).toMatchObject({
      type: "error",
      id: "late",
      code: "conflict",
    });
    second.socket.send({ type: "offer.accept", id: "acc", tripId: trip.id });
    expect(await second.socket.next((f) => f.id === "acc")).toEqual({ type: "ack", id: "acc" });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "accepted", driverId: second.user.id });
    expect(framesOf(first.socket, (f) => f.type === "offer")).toHaveLength(1);
    // Recent acceptance, which matching ranks by after pickup time and rating: the decline
    // counts against the first driver (and their cell knows it), the accept for the second.
    expect(await recentAcceptance(first.user.id)).toBe(0);
    const cell = await env.GEO_CELL.get(
      env.GEO_CELL.idFromName(cellOf(offset(pickup, 0.3), loadConfig(env).H3_RESOLUTION)),
    ).snapshot(Date.now());
    expect(cell.drivers.find((d) => d.driverId === first.user.id)?.acceptanceRate).toBe(0);
    expect(await recentAcceptance(second.user.id)).toBe(1);
    first.socket.close();
    second.socket.close();
  });

  it("answers an accept after the offer expired with conflict and changes nothing", async () => {
    const pickup = area(10);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await nextOffer(driver, trip.id);
    // The offer's time is up, but no timer has run yet.
    await editTripState(trip.id, (s) => {
      s.offer!.expiresAt = Date.now() - 1_000;
    });

    driver.socket.send({ type: "offer.accept", id: "too-late", tripId: trip.id });
    expect(await driver.socket.next((f) => f.id === "too-late")).toMatchObject({
      type: "error",
      id: "too-late",
      code: "conflict",
    });
    expectError(await driverAction(driver, trip.id, "accept"), 409, "conflict");
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "matching", driverId: null });

    // The timer lets the driver go: offer.expired, available again, and still no way back in.
    await runTripAlarm(trip.id);
    expect(await frameSeen(driver.socket, (f) => f.type === "offer.expired")).toEqual({
      type: "offer.expired",
      tripId: trip.id,
    });
    await waitDriverStatus(driver, "available");
    expectError(await driverAction(driver, trip.id, "accept"), 409, "conflict");
    driver.socket.send({ type: "offer.accept", id: "after-timer", tripId: trip.id });
    expect(await driver.socket.next((f) => f.id === "after-timer")).toMatchObject({ type: "error", code: "conflict" });
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "matching", driverId: null });
    expect((await driverState(driver)).status).toBe("available");
    driver.socket.close();
  });

  it("shows an open offer in the welcome of a driver who reconnects", async () => {
    const pickup = area(12);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 4));
    const offer = await nextOffer(driver, trip.id);
    driver.socket.close();
    const again = await connectOk("/v1/drivers/me/ws", driver.token);
    const welcome = await again.nextOfType("welcome");
    expect(welcome.driver).toMatchObject({ status: "offered", tripId: trip.id });
    const { type: _type, ...fields } = offer;
    expect(welcome.offer).toEqual(fields);
    again.send({ type: "offer.accept", id: "from-new-socket", tripId: trip.id });
    expect(await again.next((f) => f.id === "from-new-socket")).toEqual({ type: "ack", id: "from-new-socket" });
    again.close();
  });

  it("refuses an accept or decline from a driver who was never offered the trip", async () => {
    const pickup = area(11);
    const offered = await onlineDriver(offset(pickup, 0.3));
    const stranger = await registerUser("driver");
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 5));
    await nextOffer(offered, trip.id);
    expectError(await driverAction(stranger, trip.id, "accept"), 403, "forbidden");
    expectError(await driverAction(stranger, trip.id, "decline"), 403, "forbidden");
    // A rider may not answer offers at all.
    expectError(await driverAction(rider, trip.id, "accept"), 403, "forbidden");
    expect(await getTrip(rider, trip.id)).toMatchObject({ status: "matching", driverId: null });
    expect((await driverAction(offered, trip.id, "decline")).status).toBe(200);
    offered.socket.close();
  });
});
