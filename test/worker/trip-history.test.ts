/**
 * Trip history in each party's partition (src/db/trip-history.ts): the rider's row in the rider's
 * shard and the driver's in the driver's, written behind by the trip room. A driver who hands the
 * trip back keeps a `former_driver` row that no list shows and no older copy can undo; the next
 * driver gets their own. A late or retried flush never sets a row back.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { shardBindingFor, shardDatabase } from "../../src/db/shards";
import { historyRowsOf, openTripIdsOf, opsTripPage, userTripPage, writeTripHistory } from "../../src/db/trip-history";
import { listTrips } from "../../src/db/trips";
import type { Trip } from "../../src/protocol/dispatch";
import { call, registerUser, type TestUser, unique } from "../helpers/api";
import {
  acceptedTrip,
  area,
  driverAction,
  nextOffer,
  offset,
  type OnlineDriver,
  onlineDriver,
  runTripAlarm,
  stopTripAlarms,
  waitFor,
} from "../helpers/dispatch";
import { everyShard, historyStatus, storedTrip } from "../helpers/shards";

afterAll(stopTripAlarms);

type HistoryRecord = { user_id: string; role: string; status: string; data: string; updated_at: number };

/** Every history row of `tripId`, in whichever shard, with the shard it is in. */
async function rowsOf(tripId: string): Promise<(HistoryRecord & { shard: D1Database })[]> {
  const rows = [];
  for (const shard of everyShard()) {
    const found = await shard.prepare(`SELECT * FROM trip_history WHERE trip_id = ?`).bind(tripId).all<HistoryRecord>();
    rows.push(...found.results.map((row) => ({ ...row, shard })));
  }
  return rows;
}

const listed = async (user: TestUser, query = "") => {
  const res = await call("GET", `/v1/trips${query}`, { token: user.token });
  expect(res.status).toBe(200);
  return (res.body.trips as Trip[]).map((t) => [t.id, t.status]);
};

/** Runs the trip's alarm until its rows show `status` for the rider (every party's row goes in the same flush). */
async function flushedAs(tripId: string, status: string): Promise<void> {
  await runTripAlarm(tripId);
  await waitFor(`trip ${tripId} in history as ${status}`, async () =>
    (await historyStatus(tripId)) === status ? true : undefined,
  );
}

describe("trip history in the parties' partitions", () => {
  it("writes the rider's and the driver's rows in their own shards, each listed to its owner", async () => {
    const pickup = area(101);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    await flushedAs(trip.id, "accepted");

    const rows = await rowsOf(trip.id);
    expect(rows.map((r) => [r.user_id, r.role, r.status]).sort()).toEqual(
      [
        [rider.user.id, "rider", "accepted"],
        [driver.user.id, "driver", "accepted"],
      ].sort(),
    );
    for (const row of rows) expect(row.shard).toBe(shardDatabase(env, "trips", row.user_id));
    expect(JSON.parse(rows[0]?.data ?? "{}")).toEqual(JSON.parse(rows[1]?.data ?? "{}"));

    expect(await listed(rider)).toEqual([[trip.id, "accepted"]]);
    expect(await listed(rider, "?as=driver")).toEqual([]);
    expect(await listed(driver, "?as=driver")).toEqual([[trip.id, "accepted"]]);
    expect(await listed(driver, "?as=rider")).toEqual([]);
    // Someone else's trips are nowhere in a stranger's list.
    expect(await listed(await registerUser("rider"))).toEqual([]);
    // What a ban or a logout reaches: the trip, from either side's own shard.
    for (const user of [rider, driver])
      expect(await openTripIdsOf(env, user.user.id, Date.now(), 10)).toEqual([trip.id]);
    driver.socket.close();
  });

  it("keeps a driver who handed the trip back as former_driver, listed to nobody; the next gets a row", async () => {
    const pickup = area(102);
    const first = await onlineDriver(offset(pickup, 0.2), "First");
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, first, pickup, offset(pickup, 3));
    await flushedAs(trip.id, "accepted");
    // Online before the hand-back, so that the trip's next search finds them.
    const second: OnlineDriver = await onlineDriver(offset(pickup, 0.3), "Second");

    expect((await driverAction(first, trip.id, "cancel")).status).toBe(200);
    await flushedAs(trip.id, "matching");
    const afterHandBack = await rowsOf(trip.id);
    expect(afterHandBack.find((r) => r.user_id === first.user.id)).toMatchObject({
      role: "former_driver",
      status: "matching",
    });
    expect(await listed(first, "?as=driver")).toEqual([]);
    expect(await listed(first)).toEqual([]);
    // No longer a party: a ban of the first driver has no reason to reach this trip.
    expect(await openTripIdsOf(env, first.user.id, 0, 10)).toEqual([]);

    await nextOffer(second, trip.id);
    expect((await driverAction(second, trip.id, "accept")).status).toBe(200);
    await flushedAs(trip.id, "accepted");
    const roles = Object.fromEntries((await rowsOf(trip.id)).map((r) => [r.user_id, r.role]));
    expect(roles).toEqual({ [rider.user.id]: "rider", [first.user.id]: "former_driver", [second.user.id]: "driver" });
    expect(await listed(second, "?as=driver")).toEqual([[trip.id, "accepted"]]);
    expect(await listed(first, "?as=driver")).toEqual([]);
    expect(await listed(rider)).toEqual([[trip.id, "accepted"]]);
    first.socket.close();
    second.socket.close();
  });

  it("never sets a row back with an older copy of the trip", async () => {
    const pickup = area(103);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    await flushedAs(trip.id, "accepted");
    const [row] = (await rowsOf(trip.id)).filter((r) => r.role === "rider");
    const current = JSON.parse(row?.data ?? "{}") as Trip;

    // A retried flush from before the accept: older, so nothing changes.
    const older: Trip = { ...current, status: "matching", driverId: null, updatedAt: current.updatedAt - 1 };
    await writeTripHistory(env, older, [{ userId: rider.user.id, role: "rider" }]);
    expect(await historyStatus(trip.id)).toBe("accepted");
    // The same moment again (a repeat of the last flush) is taken: it is the same trip.
    await writeTripHistory(env, current, [{ userId: rider.user.id, role: "rider" }]);
    expect(await historyStatus(trip.id)).toBe("accepted");
    driver.socket.close();
  });
});

describe("long lists", () => {
  // D1 binds at most 100 parameters a statement: each of these passed that with one per id.
  it("pages of 100 trips, read again during a move, and a search naming 150 people", async () => {
    const userId = unique("usr_many");
    const at = Date.now();
    const made: Trip[] = [];
    for (let i = 0; i < 101; i++) {
      const trip = storedTrip({
        id: unique("trp_many"),
        riderId: userId,
        driverId: null,
        status: "completed",
        createdAt: at - i,
        updatedAt: at - i,
      });
      made.push(trip);
      await writeTripHistory(env, trip, historyRowsOf(trip, []));
    }
    const page = await listTrips(env, userId, { limit: 100 });
    expect(page.trips.map((t) => t.id)).toEqual(made.slice(0, 100).map((t) => t.id));
    expect(page.nextCursor).not.toBeNull();
    // During a move the page's 100 trips are read again from both homes.
    const moving = { ...env, SHARD_MAP_PREVIOUS: "0-1023:DB" } as Env;
    expect((await userTripPage(moving, userId, { limit: 100 })).trips).toHaveLength(100);
    const strangers = Array.from({ length: 149 }, (_, i) => `usr_nobody_${i}`);
    const found = await opsTripPage(moving, { limit: 100, match: { userIds: [...strangers, userId], tripId: "" } });
    expect(found.trips).toHaveLength(100);
    expect(found.more).toBe(true);
  });
});

describe("an operator's search", () => {
  it("pages through every trip of two people who share a shard, each once", async () => {
    const sameShard = (prefix: string, binding: string) => {
      for (;;) {
        const id = unique(prefix);
        if (shardBindingFor(env, "trips", id) === binding) return id;
      }
    };
    const riderId = sameShard("usr_r", "SHARD_1");
    const driverId = sameShard("usr_d", "SHARD_1");
    const at = Date.now();
    const made = [0, 1, 2].map((i) =>
      storedTrip({ id: unique("trp_pair"), riderId, driverId, status: "completed", createdAt: at - i, updatedAt: at }),
    );
    for (const trip of made) await writeTripHistory(env, trip, historyRowsOf(trip, [driverId]));
    const seen: string[] = [];
    let cursor: { createdAt: number; id: string } | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await opsTripPage(env, {
        limit: 1,
        match: { userIds: [riderId, driverId], tripId: "" },
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.trips.map((t) => t.id));
      if (!page.more || !page.last) break;
      cursor = { createdAt: page.last.createdAt, id: page.last.id };
    }
    expect(seen).toEqual(made.map((t) => t.id));
  });
});
