// The operations view's read of a city (GET /v1/ops/cells): per H3 cell, the available
// drivers, recent requests, surge and the trips picked up there that are not over, as counts.
// Operators only: riders and drivers get 403 (issue 13).
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { cellOf } from "../../src/domain/geo";
import type { OpsCellsResponse } from "../../src/protocol/ops";
import { env } from "cloudflare:workers";
import { call, connectOk, registerUser } from "../helpers/api";
import { registerAdmin } from "../helpers/admin";
import {
  area,
  driverAction,
  expectError,
  nextOffer,
  offset,
  onlineDriver,
  requestTrip,
  waitFor,
} from "../helpers/dispatch";

const cellAt = (point: { lat: number; lng: number }) => cellOf(point, loadConfig(env).H3_RESOLUTION);

async function opsAround(
  user: { token: string },
  point: { lat: number; lng: number },
  rings = 2,
): Promise<OpsCellsResponse> {
  const res = await call("GET", `/v1/ops/cells?lat=${point.lat}&lng=${point.lng}&rings=${rings}`, {
    token: user.token,
  });
  expect(res.status).toBe(200);
  return res.body as OpsCellsResponse;
}

describe("GET /v1/ops/cells", () => {
  it("counts available drivers, requests and active trips per cell, and no positions", async () => {
    const pickup = area(60);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const operator = await registerAdmin();
    const quiet = await opsAround(operator, pickup);
    expect(quiet.cells).toHaveLength(19);
    expect(quiet.resolution).toBe(7);
    const home = quiet.cells.find((c) => c.cell === cellAt(offset(pickup, 0.2)));
    expect(home).toMatchObject({ availableDrivers: 1, surge: 1, activeTrips: {} });
    expect(quiet.totals).toMatchObject({ availableDrivers: 1, activeTrips: 0 });
    expect(JSON.stringify(quiet)).not.toContain(String(offset(pickup, 0.2).lat));

    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(driver, trip.id);
    const busy = await waitFor("the trip in its pickup cell", async () => {
      const ops = await opsAround(operator, pickup);
      return ops.totals.activeTrips === 1 ? ops : undefined;
    });
    expect(busy.cells.find((c) => c.cell === cellAt(pickup))).toMatchObject({
      recentRequests: 1,
      activeTrips: { matching: 1 },
    });
    // The offered driver has left the index.
    expect(busy.totals.availableDrivers).toBe(0);

    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    await waitFor("the trip accepted", async () =>
      (await opsAround(operator, pickup)).cells.find((c) => c.cell === cellAt(pickup))?.activeTrips.accepted === 1
        ? true
        : undefined,
    );
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    await waitFor("the ended trip gone", async () =>
      (await opsAround(operator, pickup)).totals.activeTrips === 0 ? true : undefined,
    );
    driver.socket.close();
  });

  it("is for operators only: 403 forbidden to riders and drivers, whatever the query", async () => {
    for (const role of ["rider", "driver"] as const) {
      const user = await registerUser(role);
      expectError(await call("GET", "/v1/ops/cells?lat=10&lng=10", { token: user.token }), 403, "forbidden");
      expectError(await call("GET", "/v1/ops/cells?lat=91&lng=0", { token: user.token }), 403, "forbidden");
    }
  });

  it("answers 400 to a bad point or too many rings, and 401 without a token", async () => {
    const user = await registerAdmin();
    expectError(await call("GET", "/v1/ops/cells?lat=91&lng=0", { token: user.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/ops/cells?lat=10", { token: user.token }), 400, "invalid_request");
    expectError(
      await call("GET", "/v1/ops/cells?lat=10&lng=10&rings=7", { token: user.token }),
      400,
      "invalid_request",
    );
    expectError(await call("GET", "/v1/ops/cells?lat=10&lng=10"), 401, "unauthorized");
    expect((await call("GET", "/v1/ops/cells?lat=10&lng=10&rings=0", { token: user.token })).body.cells).toHaveLength(
      1,
    );
  });
});

describe("the operations desk's live city (city.watch)", () => {
  it("pushes the watched area's cells and the metrics, at once and then every few seconds, with no poll", async () => {
    const centre = area(64);
    const first = await onlineDriver(offset(centre, 0.2));
    const operator = await registerAdmin();
    const desk = await connectOk("/v1/ops/alerts/ws", operator.token);
    await desk.nextOfType("welcome");
    desk.send({ type: "city.watch", id: "watch-1", lat: centre.lat, lng: centre.lng, rings: 2 });
    expect(await desk.next((f) => f.type === "ack" && f.id === "watch-1")).toMatchObject({ type: "ack" });
    const now = (await desk.nextOfType("city")).city as OpsCellsResponse;
    expect(now.cells).toHaveLength(19);
    expect(now.center).toEqual({ lat: centre.lat, lng: centre.lng });
    expect(now.totals.availableDrivers).toBe(1);
    expect(JSON.stringify(now)).not.toContain(String(offset(centre, 0.2).lat));

    // A second driver comes online in the area: a later push has them, with nobody asking again.
    const second = await onlineDriver(offset(centre, -2));
    const pushed = await desk.next((f) => f.type === "city" && f.city.totals.availableDrivers === 2, 10_000);
    expect(pushed.city.at).toBeGreaterThan(now.at);
    expect((await desk.nextOfType("metrics", 10_000)).metrics).toHaveProperty("connections");
    desk.close();
    first.socket.close();
    second.socket.close();
  });

  it("answers a bad area with an error frame and pushes nothing for it", async () => {
    const operator = await registerAdmin();
    const desk = await connectOk("/v1/ops/alerts/ws", operator.token);
    await desk.nextOfType("welcome");
    for (const [id, bad] of [
      ["too-many-rings", { lat: 10, lng: 10, rings: 7 }],
      ["off-the-globe", { lat: 91, lng: 10, rings: 1 }],
      ["no-point", { rings: 1 }],
      ["text", { lat: "10", lng: "10", rings: 1 }],
    ] as const) {
      desk.send({ type: "city.watch", id, ...bad });
      expect(await desk.next((f) => f.id === id)).toMatchObject({ type: "error", code: "invalid_request" });
    }
    await new Promise((r) => setTimeout(r, 2_500));
    expect(desk.frames.some((f) => f.type === "city")).toBe(false);
    desk.close();
  });
});
