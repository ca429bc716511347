// Trip safety through the public API (README, "Safety"): the trip PIN the driver needs to
// start a ride, shown to the rider alone and guarded by a lockout.
import { runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { registerAdmin } from "../helpers/admin";
import { call, connect, connectOk, registerUser, type TestUser } from "../helpers/api";
import {
  acceptedTrip,
  area,
  driverAction,
  expectError,
  frameSeen,
  framesOf,
  getTrip,
  offset,
  onlineDriver,
  type OnlineDriver,
  stopTripAlarms,
  waitFor,
  tripStub,
} from "../helpers/dispatch";

// vitest.config.ts: trips picked up at 100°-120° E ("pin city") need the PIN; elsewhere not.
const pinCity = (n: number) => area(n, 110);
// wrangler.toml's values.
const MAX_ATTEMPTS = 5; // TRIP_PIN_MAX_ATTEMPTS
const LOCK_SECONDS = 300; // TRIP_PIN_LOCK_MS / 1000

const start = (driver: TestUser, tripId: string, body?: unknown) =>
  call("POST", `/v1/trips/${tripId}/start`, { token: driver.token, ...(body === undefined ? {} : { body }) });

/** A trip in pin city with its driver `arrived`, and its PIN as the rider sees it. */
async function arrivedTrip(n: number): Promise<{ rider: TestUser; driver: OnlineDriver; tripId: string; pin: string }> {
  const pickup = pinCity(n);
  const driver = await onlineDriver(offset(pickup, 0.2));
  const rider = await registerUser("rider");
  const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
  expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
  const seen = await getTrip(rider, trip.id);
  expect(seen.pin).toMatch(/^[0-9]{4}$/);
  return { rider, driver, tripId: trip.id, pin: seen.pin };
}

/** Another 4-digit code than `pin`. */
const wrong = (pin: string, k = 1) => String((Number(pin) + k) % 10_000).padStart(4, "0");

afterAll(stopTripAlarms);

describe("trip PIN", () => {
  it("is the rider's alone: in their reads until the ride starts, never in the driver's reads or frames", async () => {
    const pickup = pinCity(1);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const requested = await call("POST", "/v1/trips", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 3) },
    });
    expect(requested.status).toBe(201);
    const pin: string = requested.body.trip.pin;
    expect(pin).toMatch(/^[0-9]{4}$/);
    await driver.socket.next((f) => f.type === "offer" && f.tripId === requested.body.trip.id);
    const tripId: string = requested.body.trip.id;

    const accepted = await driverAction(driver, tripId, "accept");
    expect(accepted.status).toBe(200);
    expect(accepted.body.trip).not.toHaveProperty("pin");
    expect(await getTrip(rider, tripId)).toMatchObject({ status: "accepted", pin });
    expect((await call("GET", "/v1/trips/current", { token: rider.token })).body.trip.pin).toBe(pin);
    expect(await getTrip(driver, tripId)).not.toHaveProperty("pin");
    expect((await call("GET", "/v1/trips/current", { token: driver.token })).body.trip).not.toHaveProperty("pin");

    // The trip room's socket: the welcome and the stored status frames carry no PIN for anyone.
    const driverRoom = await connectOk(`/v1/trips/${tripId}/ws`, driver.token);
    const riderRoom = await connectOk(`/v1/trips/${tripId}/ws`, rider.token);
    const arrived = await driverAction(driver, tripId, "arrived");
    expect(arrived.body.trip).not.toHaveProperty("pin");
    await frameSeen(driverRoom, (f) => f.type === "status" && f.trip.status === "arrived");
    await frameSeen(riderRoom, (f) => f.type === "status" && f.trip.status === "arrived");
    expect((await start(driver, tripId, { pin })).status).toBe(200);
    await frameSeen(driver.socket, (f) => f.type === "trip" && f.trip.status === "in_progress");
    for (const socket of [driverRoom, riderRoom, driver.socket])
      expect(JSON.stringify(socket.frames)).not.toContain(`"pin"`);
    driverRoom.close();
    riderRoom.close();
    // Once the ride is under way the PIN has done its job.
    expect(await getTrip(rider, tripId)).not.toHaveProperty("pin");
    // Each trip has its own; 10,000 codes make equal ones rare, never the rule.
    const codes = new Set([pin, (await arrivedTrip(2)).pin, (await arrivedTrip(3)).pin]);
    expect(codes.size).toBeGreaterThan(1);
  });

  it("is needed to start: none, a malformed or a wrong one is refused, the right one starts the ride", async () => {
    const { rider, driver, tripId, pin } = await arrivedTrip(4);
    expectError(await start(driver, tripId), 400, "pin_required");
    expectError(await start(driver, tripId, {}), 400, "pin_required");
    for (const bad of ["12a4", "123", "12345", 1234, null])
      expectError(await start(driver, tripId, { pin: bad }), 400, "invalid_request");
    const refused = await start(driver, tripId, { pin: wrong(pin) });
    expectError(refused, 403, "wrong_pin");
    expect(refused.body.error.details).toEqual({ attemptsLeft: MAX_ATTEMPTS - 1 });
    expect((await getTrip(rider, tripId)).status).toBe("arrived");
    const started = await start(driver, tripId, { pin });
    expect(started.status).toBe(200);
    expect(started.body.trip).toMatchObject({ status: "in_progress" });
    expect(started.body.trip).not.toHaveProperty("pin");
    // A replay is a move out of turn, not a second guess.
    expectError(await start(driver, tripId, { pin }), 409, "conflict");
  });

  it("locks after too many wrong guesses, for longer each time; other users spend no guesses", async () => {
    const { driver, tripId, pin } = await arrivedTrip(5);
    const rider = await registerUser("rider");
    const otherDriver = await registerUser("driver");
    // Neither a rider nor another driver reaches the PIN check, and their tries cost the trip nothing.
    expectError(await start(rider, tripId, { pin: wrong(pin) }), 403, "forbidden");
    for (let i = 0; i < MAX_ATTEMPTS + 1; i++)
      expectError(await start(otherDriver, tripId, { pin: wrong(pin, i + 1) }), 403, "forbidden");

    for (let i = 1; i < MAX_ATTEMPTS; i++) {
      const res = await start(driver, tripId, { pin: wrong(pin, i) });
      expectError(res, 403, "wrong_pin");
      expect(res.body.error.details.attemptsLeft).toBe(MAX_ATTEMPTS - i);
    }
    const locked = await start(driver, tripId, { pin: wrong(pin, MAX_ATTEMPTS) });
    expectError(locked, 429, "pin_locked");
    expect(locked.body.error.details).toEqual({ retryAfterSeconds: LOCK_SECONDS });
    expect(locked.headers.get("Retry-After")).toBe(String(LOCK_SECONDS));
    // While locked, the right PIN too is refused (else the lock would tell a guess right from wrong).
    expectError(await start(driver, tripId, { pin }), 429, "pin_locked");
    expectError(await start(driver, tripId), 429, "pin_locked");

    // The lock runs out (moved here rather than waited for); the next lock lasts twice as long.
    const unlock = () =>
      runInDurableObject(tripStub(tripId), (_instance, ctx) => {
        ctx.storage.sql.exec(`UPDATE trip_pin SET locked_until = ?`, Date.now() - 1);
      });
    await unlock();
    for (let i = 1; i < MAX_ATTEMPTS; i++)
      expectError(await start(driver, tripId, { pin: wrong(pin, i) }), 403, "wrong_pin");
    const again = await start(driver, tripId, { pin: wrong(pin, MAX_ATTEMPTS) });
    expectError(again, 429, "pin_locked");
    expect(again.body.error.details).toEqual({ retryAfterSeconds: 2 * LOCK_SECONDS });
    await unlock();
    expect((await start(driver, tripId, { pin })).status).toBe(200);
  });

  it("goes with the channel's trip.start frame, which answers the same errors", async () => {
    const { rider, driver, tripId, pin } = await arrivedTrip(6);
    const move = (id: string, extra: object = {}) => {
      driver.socket.send({ type: "trip.start", id, tripId, ...extra });
      return driver.socket.next((f) => f.id === id);
    };
    expect(await move("s0")).toMatchObject({ type: "error", id: "s0", code: "pin_required" });
    expect(await move("s1", { pin: wrong(pin) })).toMatchObject({ type: "error", id: "s1", code: "wrong_pin" });
    expect(await move("s2", { pin: "abcd" })).toMatchObject({ type: "error", id: "s2", code: "invalid_request" });
    expect(await move("s3", { pin })).toEqual({ type: "ack", id: "s3" });
    expect((await getTrip(rider, tripId)).status).toBe("in_progress");
    expect(framesOf(driver.socket, (f) => JSON.stringify(f).includes(pin) && f.type === "trip")).toEqual([]);
  });

  it("is not asked for where the area does not ask for it", async () => {
    const pickup = area(150);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expect(await getTrip(rider, trip.id)).not.toHaveProperty("pin");
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    // A PIN given anyway is no harm.
    expect((await start(driver, trip.id, { pin: "0000" })).status).toBe(200);
  });
});

describe("share my trip", () => {
  const share = (user: TestUser, tripId: string) => call("POST", `/v1/trips/${tripId}/share`, { token: user.token });
  const revoke = (user: TestUser, tripId: string) => call("DELETE", `/v1/trips/${tripId}/share`, { token: user.token });
  const view = (token: string) => call("GET", `/v1/shared/${encodeURIComponent(token)}`);

  it("gives the rider a link showing the driver's first name, position, ETA and status, not the rider", async () => {
    const pickup = area(20);
    const driver = await onlineDriver(offset(pickup, 0.5), "Zora Quixley-Smith");
    const rider = await registerUser("rider", "Ada Lovelace");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));

    const made = await share(rider, trip.id);
    expect(made.status).toBe(201);
    const link = made.body.share;
    expect(link).toEqual({
      id: expect.stringMatching(/^shr_/),
      token: expect.stringMatching(new RegExp(`^${trip.id}\\.[A-Za-z0-9_-]{43}$`)),
      url: `http://ridewire.test/#/shared/${link.token}`,
      expiresAt: expect.any(Number),
    });
    // The trip keeps only the secret's hash.
    const stored = await runInDurableObject(tripStub(trip.id), (_instance, ctx) =>
      ctx.storage.sql.exec(`SELECT * FROM trip_share`).toArray(),
    );
    expect(JSON.stringify(stored)).not.toContain(link.token.split(".")[1]);

    // A fix from the driver: the view shows it, with the ETA to the pickup.
    // 100 m on, 3 s on by the fix's clock: a plausible speed.
    const at = offset(pickup, 0.4);
    driver.socket.send({ type: "location", id: "fix-1", lat: at.lat, lng: at.lng, at: Date.now() + 3_000 });
    expect(await driver.socket.next((f) => f.id === "fix-1")).toEqual({ type: "ack", id: "fix-1" });
    const seen = await waitFor("the shared view to show the driver", async () => {
      const res = await view(link.token);
      return res.body.trip?.position ? res : undefined;
    });
    expect(seen.status).toBe(200);
    expect(seen.headers.get("Cache-Control")).toBe("no-store");
    expect(seen.body).toEqual({
      trip: {
        status: "accepted",
        driver: { firstName: "Zora", vehicle: null },
        position: { lat: at.lat, lng: at.lng },
        etaSec: expect.any(Number),
        updatedAt: expect.any(Number),
        expiresAt: link.expiresAt,
      },
      pollAfterMs: expect.any(Number),
    });
    const text = JSON.stringify(seen.body);
    for (const secret of [rider.user.id, "Ada", "Lovelace", driver.user.id, "Quixley", String(pickup.lat)])
      expect(text).not.toContain(secret);
    // No token, no look at the trip itself.
    expectError(await call("GET", `/v1/trips/${trip.id}`), 401, "unauthorized");
  });

  it("is the rider's to make and revoke: not the driver's, nor another rider's", async () => {
    const pickup = area(21);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const stranger = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    expectError(await share(stranger, trip.id), 403, "forbidden");
    expectError(await share(driver, trip.id), 403, "forbidden");
    expectError(await call("POST", `/v1/trips/${trip.id}/share`), 401, "unauthorized");
    expectError(await share(rider, "trip_doesnotexist00000"), 404, "not_found");
    const link = (await share(rider, trip.id)).body.share;
    expectError(await revoke(stranger, trip.id), 403, "forbidden");
    expectError(await revoke(driver, trip.id), 403, "forbidden");
    expect((await view(link.token)).status).toBe(200);
  });

  it("refuses revoked, expired, forged and malformed links, and caps the links of a trip", async () => {
    const pickup = area(22);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const first = (await share(rider, trip.id)).body.share;
    const second = (await share(rider, trip.id)).body.share;
    expect(first.token).not.toBe(second.token);

    // Expired: moved into the past here rather than waited for.
    await runInDurableObject(tripStub(trip.id), (_instance, ctx) => {
      ctx.storage.sql.exec(`UPDATE trip_share SET expires_at = ? WHERE id = ?`, Date.now() - 1, first.id);
    });
    expectError(await view(first.token), 410, "share_ended");
    expect((await view(second.token)).status).toBe(200);

    const revoked = await revoke(rider, trip.id);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ revoked: 1 });
    expectError(await view(second.token), 410, "share_ended");

    // A secret the trip never gave out, or a token for another trip, opens nothing.
    const secret = second.token.split(".")[1];
    const flipped = `${trip.id}.${secret.startsWith("A") ? "B" : "A"}${secret.slice(1)}`;
    expectError(await view(flipped), 404, "not_found");
    expectError(await view(`trip_doesnotexist00000.${secret}`), 404, "not_found");
    for (const bad of ["x", `${trip.id}.short`, `${trip.id}`, `${trip.id}.${secret}.x`, `${"a".repeat(300)}`])
      expectError(await view(bad), 400, "invalid_request");

    for (let i = 0; i < 5; i++) expect((await share(rider, trip.id)).status).toBe(201);
    expectError(await share(rider, trip.id), 409, "conflict");
  });

  it("stops at the trip's end, and no link is made for an ended trip", async () => {
    const pickup = area(23);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    const link = (await share(rider, trip.id)).body.share;
    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    expect((await view(link.token)).body.trip.status).toBe("in_progress");
    expect((await driverAction(driver, trip.id, "complete")).status).toBe(200);
    expectError(await view(link.token), 410, "share_ended");
    expectError(await share(rider, trip.id), 409, "conflict");
  });
});

describe("SOS", () => {
  const sos = (user: TestUser, tripId: string, body: unknown, key?: string) =>
    call("POST", `/v1/trips/${tripId}/sos`, {
      token: user.token,
      body,
      ...(key === undefined ? {} : { headers: { "Idempotency-Key": key } }),
    });
  const alerts = (user: TestUser, query = "") => call("GET", `/v1/ops/alerts${query}`, { token: user.token });

  it("takes an alert from the trip's rider or driver, with where they are, and shows it to operators", async () => {
    const pickup = area(30);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const stranger = await registerUser("rider");
    const admin = await registerAdmin();
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));

    const raised = await sos(rider, trip.id, { location: pickup, note: "  the driver took a wrong turn  " }, "sos-1");
    expect(raised.status).toBe(201);
    expect(raised.body.alert).toMatchObject({
      id: expect.stringMatching(/^sos_/),
      tripId: trip.id,
      raisedBy: rider.user.id,
      role: "rider",
      location: pickup,
      note: "the driver took a wrong turn",
      acknowledgedAt: null,
    });
    // A retry with the same key is the same alert.
    const again = await sos(rider, trip.id, { location: pickup }, "sos-1");
    expect(again.status).toBe(200);
    expect(again.body.alert.id).toBe(raised.body.alert.id);
    const fromDriver = await sos(driver, trip.id, { location: offset(pickup, 0.1), note: "   " });
    expect(fromDriver.status).toBe(201);
    expect(fromDriver.body.alert).toMatchObject({ role: "driver", note: null });

    // Nobody else raises one on this trip; bad input is refused.
    expectError(await sos(stranger, trip.id, { location: pickup }), 403, "forbidden");
    expectError(await call("POST", `/v1/trips/${trip.id}/sos`, { body: { location: pickup } }), 401, "unauthorized");
    expectError(await sos(rider, "trip_doesnotexist00000", { location: pickup }), 404, "not_found");
    for (const bad of [{}, { location: { lat: 91, lng: 0 } }, { location: pickup, note: "x".repeat(501) }, "nope"])
      expectError(await sos(rider, trip.id, bad), 400, "invalid_request");

    // Operators see the open alerts, newest first; others may not look.
    expectError(await alerts(rider), 403, "forbidden");
    expectError(await alerts(driver), 403, "forbidden");
    const open = await alerts(admin);
    expect(open.status).toBe(200);
    const ours = open.body.alerts.filter((a: { tripId: string }) => a.tripId === trip.id);
    expect(ours.map((a: { id: string }) => a.id).sort()).toEqual(
      [fromDriver.body.alert.id, raised.body.alert.id].sort(),
    );
    const times = open.body.alerts.map((a: { createdAt: number }) => a.createdAt);
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const acked = await call("POST", `/v1/ops/alerts/${raised.body.alert.id}/ack`, { token: admin.token });
    expect(acked.status).toBe(200);
    expect(acked.body.alert).toMatchObject({ acknowledgedBy: admin.user.id, acknowledgedAt: expect.any(Number) });
    expectError(
      await call("POST", `/v1/ops/alerts/${raised.body.alert.id}/ack`, { token: rider.token }),
      403,
      "forbidden",
    );
    expectError(await call("POST", "/v1/ops/alerts/sos_nothere/ack", { token: admin.token }), 404, "not_found");
    const stillOpen = (await alerts(admin)).body.alerts.map((a: { id: string }) => a.id);
    expect(stillOpen).toContain(fromDriver.body.alert.id);
    expect(stillOpen).not.toContain(raised.body.alert.id);
    const all = (await alerts(admin, "?state=all&limit=100")).body.alerts.map((a: { id: string }) => a.id);
    expect(all).toContain(raised.body.alert.id);
    expectError(await alerts(admin, "?state=closed"), 400, "invalid_request");
  });

  it("reaches the operators connected to the desk at once, raised and acknowledged", async () => {
    const pickup = area(31);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const admin = await registerAdmin();
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    // Operators only, on the socket as on the routes.
    for (const user of [rider, driver]) {
      const refused = await connect("/v1/ops/alerts/ws", { token: user.token });
      expectError({ status: refused.status, body: refused.body }, 403, "forbidden");
    }
    const desk = await connectOk("/v1/ops/alerts/ws", admin.token);
    expect(await desk.nextOfType("welcome")).toMatchObject({ type: "welcome", seq: 0 });

    const raised = (await sos(rider, trip.id, { location: pickup, note: "help" })).body.alert;
    expect(await desk.next((f) => f.type === "alert" && f.alert.id === raised.id)).toEqual({
      type: "alert",
      alert: raised,
    });
    await call("POST", `/v1/ops/alerts/${raised.id}/ack`, { token: admin.token });
    const acked = await desk.next((f) => f.type === "alert" && f.alert.id === raised.id);
    expect(acked.alert).toMatchObject({ id: raised.id, acknowledgedBy: admin.user.id });
    // A retried alert is not announced again.
    await sos(rider, trip.id, { location: pickup }, "once");
    await sos(rider, trip.id, { location: pickup }, "once");
    await desk.next((f) => f.type === "alert" && f.alert.tripId === trip.id && f.alert.acknowledgedAt === null);
    await new Promise((r) => setTimeout(r, 150));
    expect(desk.frames.filter((f) => f.type === "alert").length).toBe(3);
    desk.close();
  });
});
