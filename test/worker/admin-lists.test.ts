// Operators' lists (GET /v1/admin/drivers, GET /v1/admin/trips): drivers and trips found by a search word (part of
// a name or email in any case, or an id), newest first, a page at a time. Hostile callers: riders and drivers, LIKE's
// wildcards in the search, cursors and limits that are not ones.
import { historyStatus } from "../helpers/shards";
import { afterAll, describe, expect, it } from "vitest";
import { AdminDriverListResponse, AdminTripListResponse } from "../../src/protocol/ops-lists";
import { registerAdmin } from "../helpers/admin";
import { call, registerUser, unique } from "../helpers/api";
import {
  acceptedTrip,
  area,
  expectError,
  offset,
  onlineDriver,
  runTripAlarm,
  stopTripAlarms,
  waitFor,
} from "../helpers/dispatch";

afterAll(stopTripAlarms);

const drivers = async (token: string, query: string) => {
  const res = await call("GET", `/v1/admin/drivers?${query}`, { token });
  expect(res.status).toBe(200);
  return AdminDriverListResponse.strict().parse(res.body);
};
const trips = async (token: string, query: string) => {
  const res = await call("GET", `/v1/admin/trips?${query}`, { token });
  expect(res.status).toBe(200);
  return AdminTripListResponse.strict().parse(res.body);
};

describe("GET /v1/admin/drivers and /v1/admin/trips", () => {
  it("answers 403 to riders and drivers and 401 without a token", async () => {
    for (const role of ["rider", "driver"] as const) {
      const user = await registerUser(role);
      for (const path of ["/v1/admin/drivers", "/v1/admin/trips"])
        expectError(await call("GET", path, { token: user.token }), 403, "forbidden");
    }
    expectError(await call("GET", "/v1/admin/trips"), 401, "unauthorized");
  });

  it("finds drivers by part of the name in any case, by email and by id, newest first, a page at a time", async () => {
    const admin = await registerAdmin();
    const tag = unique("Quill").replace(/-/g, "");
    const made = [];
    for (const n of [1, 2, 3]) made.push(await registerUser("driver", `${tag} Driver${n}`));
    // A rider of the same name is no driver.
    await registerUser("rider", `${tag} Rider`);

    const found = await drivers(admin.token, `q=${encodeURIComponent(tag.toLowerCase())}`);
    expect(found.drivers.map((d) => d.id)).toEqual(made.map((u) => u.user.id).reverse());
    expect(found.drivers[0]).toMatchObject({ name: `${tag} Driver3`, email: made[2]?.user.email, bannedAt: null });
    expect((await drivers(admin.token, `q=${made[0]?.user.email}`)).drivers.map((d) => d.id)).toEqual([
      made[0]?.user.id,
    ]);
    expect((await drivers(admin.token, `q=${made[1]?.user.id}`)).drivers.map((d) => d.id)).toEqual([made[1]?.user.id]);

    const first = await drivers(admin.token, `q=${tag}&limit=2`);
    expect(first.drivers).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await drivers(admin.token, `q=${tag}&limit=2&cursor=${encodeURIComponent(first.nextCursor ?? "")}`);
    expect(second.drivers.map((d) => d.id)).toEqual([made[0]?.user.id]);
    expect(second.nextCursor).toBeNull();
  });

  it("takes LIKE's wildcards in a search literally, and refuses bad cursors, limits and searches", async () => {
    const admin = await registerAdmin();
    const tag = unique("Pct").replace(/-/g, "");
    const percent = await registerUser("driver", `${tag} 100%_sure`);
    await registerUser("driver", `${tag} 100x sure`);
    // "%_" matches only the name that has them, not any character.
    expect((await drivers(admin.token, `q=${encodeURIComponent(`${tag} 100%_`)}`)).drivers.map((d) => d.id)).toEqual([
      percent.user.id,
    ]);
    expect((await drivers(admin.token, `q=${encodeURIComponent("%")}`)).drivers.map((d) => d.id)).toEqual([
      percent.user.id,
    ]);
    for (const query of ["cursor=abc", "cursor=1:a%20b", "limit=0", "limit=101", `q=${"x".repeat(101)}`, "status=late"])
      expectError(await call("GET", `/v1/admin/trips?${query}`, { token: admin.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/admin/drivers?q=", { token: admin.token }), 400, "invalid_request");
  });

  it("finds trips by id, by the rider's or the driver's name or id, and by status, with both names", async () => {
    const admin = await registerAdmin();
    const tag = unique("Tripfind").replace(/-/g, "");
    const pickup = area(33);
    const driver = await onlineDriver(offset(pickup, 0.4), `${tag} Dora`);
    const rider = await registerUser("rider", `${tag} Remy`);
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    await runTripAlarm(trip.id);
    await waitFor(`trip ${trip.id} in D1 as accepted`, async () =>
      (await historyStatus(trip.id)) === "accepted" ? true : undefined,
    );
    const expected = {
      id: trip.id,
      status: "accepted",
      rider: { id: rider.user.id, name: `${tag} Remy` },
      driver: { id: driver.user.id, name: `${tag} Dora` },
      pickup: trip.pickup,
      dropoff: trip.dropoff,
      fare: trip.quote.fare,
    };
    for (const q of [
      trip.id,
      `${tag} remy`.toUpperCase(),
      `${tag} dora`,
      rider.user.id,
      driver.user.id,
      rider.user.email,
    ]) {
      const found = await trips(admin.token, `q=${encodeURIComponent(q)}`);
      expect(found.trips).toHaveLength(1);
      expect(found.trips[0]).toMatchObject(expected);
    }
    expect((await trips(admin.token, `q=${tag}&status=accepted`)).trips.map((t) => t.id)).toEqual([trip.id]);
    expect((await trips(admin.token, `q=${tag}&status=completed`)).trips).toEqual([]);
    expect((await trips(admin.token, `q=${unique("nobody")}`)).trips).toEqual([]);
    driver.socket.close();
  });
});
