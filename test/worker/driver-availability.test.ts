// Who matching may ask: a driver whose location has gone stale drops out until a fresh fix
// arrives, and a driver whose channel dropped keeps their offers on hold for the grace period
// (they see them in the welcome of a reconnect), after which offers go out as notifications.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { cellOf, haversineKm } from "../../src/domain/geo";
import type { LatLng } from "../../src/protocol/common";
import { call, connectOk, registerUser, unique, type TestUser } from "../helpers/api";
import {
  area,
  driverStub,
  editDriverRow,
  framesOf,
  getTrip,
  inCell,
  nextOffer,
  offset,
  onlineDriver,
  type OnlineDriver,
  readTripState,
  requestTrip,
  runTripAlarm,
  settle,
  stopTripAlarms,
  waitFor,
} from "../helpers/dispatch";
import { deliveriesTo, hookUrl, waitForDeliveries } from "../helpers/notify";

const config = loadConfig(env);

afterAll(stopTripAlarms);

/** Moves the driver's clock back by `ms`: their last fix, cell report and channel drop happened that long ago. */
async function ageDriver(driverId: string, location: LatLng, ms: number): Promise<void> {
  await editDriverRow(
    driverId,
    `UPDATE driver SET location_at = location_at - ?, cell_reported_at = cell_reported_at - ?, disconnected_at = ` +
      `disconnected_at - ?`,
    ms,
    ms,
    ms,
  );
  const cell = env.GEO_CELL.get(env.GEO_CELL.idFromName(cellOf(location, config.H3_RESOLUTION)));
  await runInDurableObject(cell, (_instance, ctx) => {
    ctx.storage.sql.exec(`UPDATE drivers SET at = at - ? WHERE driver_id = ?`, ms, driverId);
  });
  // The cell's index is in memory, loaded from this copy when the cell wakes.
  await evictDurableObject(cell);
}

/** Closes the driver's channel and waits until their session has seen it go. */
async function dropChannel(driver: OnlineDriver): Promise<void> {
  driver.socket.close();
  await driver.socket.waitClosed();
  await waitFor("the session to see the channel gone", async () => {
    const seen = await driverStub(driver.user.id).get();
    return seen.ok && !seen.value.connected ? true : undefined;
  });
}

async function addWebhook(user: TestUser, key: string): Promise<void> {
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webhook", url: hookUrl(key) } });
  expect(res.status).toBe(201);
}

describe("a driver without a fresh location", () => {
  it("drops out of matching after DRIVER_STALE_MS, and is back with the next fix", async () => {
    const pickup = area(40);
    const at = offset(pickup, 0.3);
    const driver = await onlineDriver(at);
    await ageDriver(driver.user.id, at, config.DRIVER_STALE_MS + 1_000);
    expect(await inCell(at, driver.user.id)).toBe(false);

    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 4));
    await settle();
    expect(framesOf(driver.socket, (f) => f.type === "offer")).toEqual([]);
    expect((await getTrip(rider, trip.id)).status).toBe("matching");

    // A fresh fix puts the driver back in the index at once; the next pass offers them the trip.
    driver.socket.send({ type: "location", lat: at.lat, lng: at.lng, at: Date.now() });
    await waitFor("the driver back in the geo index", async () =>
      (await inCell(at, driver.user.id)) ? true : undefined,
    );
    await runTripAlarm(trip.id);
    await nextOffer(driver, trip.id);
    driver.socket.close();
  });
});

/** Where the driver's cell lists them (null when it does not). */
async function positionInCell(cellPoint: LatLng, driverId: string): Promise<LatLng | null> {
  const snapshot = await env.GEO_CELL.get(env.GEO_CELL.idFromName(cellOf(cellPoint, config.H3_RESOLUTION))).snapshot(
    Date.now(),
  );
  return snapshot.drivers.find((d) => d.driverId === driverId)?.location ?? null;
}

describe("an available driver's reports to the geo index", () => {
  it("moves the driver in their cell once they drove CELL_REPORT_DISTANCE_M, not on every fix", async () => {
    const start = area(47);
    const driver = await onlineDriver(start);
    expect(await positionInCell(start, driver.user.id)).toEqual(start);
    const step = (config.CELL_REPORT_DISTANCE_M / 1000) * 0.4;
    const near = offset(start, step);
    // Fixes 2 s apart, so that none is dropped as a jump (over MAX_SPEED_KMH), and no more than
    // FIX_MAX_AHEAD_MS ahead of the server's clock.
    let at = Date.now();
    at += 2_000;
    driver.socket.send({ type: "location", id: "near", lat: near.lat, lng: near.lng, at });
    expect(await driver.socket.next((f) => f.id === "near")).toEqual({ type: "ack", id: "near" });
    await settle();
    // 40% of the distance: the cell still has the report from going online.
    expect(await positionInCell(start, driver.user.id)).toEqual(start);

    const far = offset(start, step * 3);
    driver.socket.send({ type: "location", id: "far", lat: far.lat, lng: far.lng, at: at + 2_000 });
    expect(await driver.socket.next((f) => f.id === "far")).toEqual({ type: "ack", id: "far" });
    expect(haversineKm(start, far) * 1000).toBeGreaterThanOrEqual(config.CELL_REPORT_DISTANCE_M);
    await waitFor("the cell to have the driver's new position", async () =>
      (await positionInCell(start, driver.user.id))?.lat === far.lat ? true : undefined,
    );
    driver.socket.close();
  });
});

describe("a driver whose channel dropped", () => {
  it("keeps an offer for their reconnect during the grace period, without a notification", async () => {
    const pickup = area(41);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const key = unique("hook");
    await addWebhook(driver, key);
    await dropChannel(driver);

    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 4));
    await waitFor("the offer", async () =>
      (await readTripState(trip.id)).offer?.driverId === driver.user.id ? true : undefined,
    );

    const back = await connectOk("/v1/drivers/me/ws", driver.token);
    const welcome = await back.nextOfType("welcome");
    expect(welcome.offer).toMatchObject({ tripId: trip.id });
    back.send({ type: "offer.accept", id: "acc", tripId: trip.id });
    expect(await back.next((f) => f.id === "acc")).toEqual({ type: "ack", id: "acc" });
    await settle(300);
    expect(await deliveriesTo(key)).toEqual([]);
    back.close();
  });

  it("gets offers as notifications once the grace period is over", async () => {
    const pickup = area(42);
    const at = offset(pickup, 0.3);
    const driver = await onlineDriver(at);
    const key = unique("hook");
    await addWebhook(driver, key);
    await dropChannel(driver);
    // Still sending fixes from elsewhere is not needed: the last one is fresh, only the channel is old.
    await editDriverRow(
      driver.user.id,
      `UPDATE driver SET disconnected_at = ?`,
      Date.now() - config.DISCONNECT_GRACE_MS - 1_000,
    );

    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 4));
    const [delivery] = await waitForDeliveries(key);
    expect(JSON.parse(delivery!.text)).toMatchObject({ type: "offer", data: { tripId: trip.id } });
  });
});

describe("a cell asked for a pickup's candidates", () => {
  it("sends only its nearest drivers, leaves out the excluded, and counts every available one", async () => {
    const pickup = area(43);
    const drivers: OnlineDriver[] = [];
    for (const km of [0.1, 0.2, 0.35, 0.5]) drivers.push(await onlineDriver(offset(pickup, km)));
    const cell = env.GEO_CELL.get(env.GEO_CELL.idFromName(cellOf(pickup, config.H3_RESOLUTION)));
    const everyone = await cell.snapshot(Date.now());
    expect(everyone.drivers.length).toBeGreaterThanOrEqual(2);

    const nearest = await cell.snapshot(Date.now(), { point: pickup, limit: 2, exclude: [drivers[0]!.user.id] });
    expect(nearest.availableDrivers).toBe(everyone.drivers.length);
    const byDistance = everyone.drivers
      .filter((d) => d.driverId !== drivers[0]!.user.id)
      .sort((a, b) => haversineKm(a.location, pickup) - haversineKm(b.location, pickup))
      .slice(0, 2)
      .map((d) => d.driverId);
    expect(nearest.drivers.map((d) => d.driverId)).toEqual(byDistance);
    for (const d of drivers) d.socket.close();
  });
});
