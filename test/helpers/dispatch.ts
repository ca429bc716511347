/**
 * Test helpers for dispatch: places far enough apart that tests in one file never match each
 * other's drivers, drivers that go online with a channel socket, trip requests, and direct
 * access to a trip's stored state (to move time without sleeping) and its alarm.
 */
import { evictDurableObject, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { loadConfig } from "../../src/config";
import { cellOf } from "../../src/domain/geo";
import type { TripState } from "../../src/domain/trip";
import type { LatLng } from "../../src/protocol/common";
import { call, connectOk, registerUser, type TestSocket, type TestUser, type WireJson } from "./api";

/**
 * A point in area `n`. Areas are 0.8° of latitude (about 89 km) apart, far beyond the
 * widest search ring (a few km at H3 resolution 7), so each test gets its own city.
 */
export function area(n: number, lng = 10): LatLng {
  return { lat: -60 + n * 0.8, lng };
}

/** `point` moved by the given kilometres north and east. */
export function offset(point: LatLng, northKm: number, eastKm = 0): LatLng {
  const lat = point.lat + northKm / 111.32;
  const lng = point.lng + eastKm / (111.32 * Math.cos((point.lat * Math.PI) / 180));
  return { lat, lng };
}

/** The API's error body: `{ error: { code, message } }`, or undefined for anything else. */
function apiError(body: unknown): { code?: unknown; message?: unknown } | undefined {
  if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
  const { error } = body;
  return typeof error === "object" && error !== null ? error : undefined;
}

export function expectError(res: { status: number; body: unknown }, status: number, code: string): void {
  const error = apiError(res.body);
  expect({ status: res.status, code: error?.code }).toEqual({ status, code });
  expect(typeof error?.message).toBe("string");
}

export const tripStub = (tripId: string) => env.TRIP_ROOM.get(env.TRIP_ROOM.idFromName(tripId));
export const driverStub = (driverId: string) => env.DRIVER_SESSION.get(env.DRIVER_SESSION.idFromName(driverId));

export type OnlineDriver = TestUser & { socket: TestSocket };

/** Whether the geo cell at `location` lists `driverId` as available. */
export async function inCell(location: LatLng, driverId: string): Promise<boolean> {
  const cell = cellOf(location, loadConfig(env).H3_RESOLUTION);
  const snapshot = await env.GEO_CELL.get(env.GEO_CELL.idFromName(cell)).snapshot(Date.now());
  return snapshot.drivers.some((d) => d.driverId === driverId);
}

/**
 * A new driver, online at `location`, with an open driver channel whose welcome is taken.
 * Returns once the geo index lists them (the session reports to its cell just behind its reply).
 */
export async function onlineDriver(location: LatLng, name = "Driver"): Promise<OnlineDriver> {
  const driver = await registerUser("driver", name);
  const res = await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location } });
  if (res.status !== 200) throw new Error(`online failed: ${res.status} ${JSON.stringify(res.body)}`);
  const socket = await connectOk("/v1/drivers/me/ws", driver.token);
  await socket.nextOfType("welcome");
  await waitFor("the driver to reach the geo index", async () =>
    (await inCell(location, driver.user.id)) ? true : undefined,
  );
  return { ...driver, socket };
}

export async function requestTrip(rider: TestUser, pickup: LatLng, dropoff: LatLng, headers?: Record<string, string>) {
  const res = await call("POST", "/v1/trips", {
    token: rider.token,
    body: { pickup, dropoff },
    ...(headers ? { headers } : {}),
  });
  if (res.status !== 201) throw new Error(`trip request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.trip;
}

export async function getTrip(user: TestUser, tripId: string) {
  const res = await call("GET", `/v1/trips/${tripId}`, { token: user.token });
  if (res.status !== 200) throw new Error(`GET trip failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.trip;
}

export async function driverAction(
  driver: TestUser,
  tripId: string,
  action: "accept" | "decline" | "arrived" | "start" | "complete" | "cancel",
) {
  return call("POST", `/v1/trips/${tripId}/${action}`, { token: driver.token });
}

/** Waits for `driver` to be offered `tripId` on their channel. */
export function nextOffer(driver: OnlineDriver, tripId: string, timeoutMs?: number) {
  return driver.socket.next((f) => f.type === "offer" && f.tripId === tripId, timeoutMs);
}

/** Offer, accept over HTTP: the trip is `accepted` by `driver` when this returns. */
export async function acceptedTrip(rider: TestUser, driver: OnlineDriver, pickup: LatLng, dropoff: LatLng) {
  const trip = await requestTrip(rider, pickup, dropoff);
  await nextOffer(driver, trip.id);
  const res = await driverAction(driver, trip.id, "accept");
  if (res.status !== 200) throw new Error(`accept failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.trip;
}

/**
 * Reads and rewrites the trip's stored state (the JSON in its `trip` table). The trip keeps its state in memory, so
 * it is then evicted (its sockets hibernate and stay open) to read the edited one.
 */
export async function editTripState(tripId: string, edit: (state: TripState) => void): Promise<void> {
  const stub = tripStub(tripId);
  await runInDurableObject(stub, (_instance, ctx) => {
    const row = ctx.storage.sql.exec<{ state: string }>(`SELECT state FROM trip`).one();
    const state: TripState = JSON.parse(row.state);
    edit(state);
    ctx.storage.sql.exec(`UPDATE trip SET state = ?`, JSON.stringify(state));
  });
  await evictDurableObject(stub, { webSockets: "hibernate" });
}

/**
 * Rewrites the driver session's stored row with `query`. The session keeps its row in memory,
 * so it is then evicted (its sockets hibernate and stay open) to read the edited one.
 */
export async function editDriverRow(
  driverId: string,
  query: string,
  ...bindings: (string | number | null)[]
): Promise<void> {
  const stub = driverStub(driverId);
  await runInDurableObject(stub, (_instance, ctx) => {
    ctx.storage.sql.exec(query, ...bindings);
  });
  await evictDurableObject(stub, { webSockets: "hibernate" });
}

export async function readTripState(tripId: string): Promise<TripState> {
  return runInDurableObject(tripStub(tripId), (_instance, ctx) =>
    JSON.parse(ctx.storage.sql.exec<{ state: string }>(`SELECT state FROM trip`).one().state),
  );
}

/** Runs the trip's alarm now (if one is set): flushes the outbox and runs a dispatch pass. */
export function runTripAlarm(tripId: string): Promise<boolean> {
  return runDurableObjectAlarm(tripStub(tripId));
}

/** Polls `check` until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined>,
  timeoutMs = 3_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The driver's session as the driver sees it. */
export async function driverState(driver: TestUser) {
  const res = await call("GET", "/v1/drivers/me", { token: driver.token });
  if (res.status !== 200) throw new Error(`GET driver failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.driver;
}

/** Waits until the driver's session reports `status` (releases happen just behind the trip's reply). */
export function waitDriverStatus(driver: TestUser, status: string, timeoutMs?: number) {
  return waitFor(
    `driver status ${status}`,
    async () => ((await driverState(driver)).status === status ? true : undefined),
    timeoutMs,
  );
}

/**
 * Waits until any frame the socket has received so far matches (unlike `next`, which only
 * looks past the frames it already took); rejects after `timeoutMs`.
 */
export function frameSeen(
  socket: TestSocket,
  match: (frame: WireJson) => boolean,
  timeoutMs = 3_000,
): Promise<WireJson> {
  return waitFor(
    () => `a frame on the socket; frames: ${JSON.stringify(socket.frames).slice(0, 2_000)}`,
    async () => socket.frames.find(match),
    timeoutMs,
  );
}

/** Frames the socket has received that match. */
export const framesOf = (socket: TestSocket, match: (frame: WireJson) => boolean) => socket.frames.filter(match);

/** Gives in-flight work (side effects behind a reply, a stray dispatch pass) time to show up. */
export const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops every trip's timer (trips still matching retry every few seconds) so that no alarm
 * runs while the test runtime is being torn down; for `afterAll`.
 */
export async function stopTripAlarms(): Promise<void> {
  for (const id of await listDurableObjectIds(env.TRIP_ROOM)) {
    await runInDurableObject(env.TRIP_ROOM.get(id), (_instance, ctx) => ctx.storage.deleteAlarm());
  }
  await settle(50);
}
