// Tiers (README, "Tiers"), through the public API: a quote near drivers of two tiers lists both,
// priced apart; a request names its tier and is offered only to drivers who serve it (a comfort
// car takes economy only when its driver opted in); a tier an area does not offer is refused, and
// so are bad tier names. wrangler.toml's TIERS: economy (default), comfort (accepts economy), xl,
// moto; "economy town" (60°-68° E, vitest.config.ts) offers economy only.
import { afterAll, describe, expect, it } from "vitest";
import { RidewireClient } from "@ridewire/client";
import { env, exports } from "cloudflare:workers";
import { call, connectOk, registerUser, type TestUser, type WireJson } from "../helpers/api";
import { registerAdmin } from "../helpers/admin";
import {
  area,
  expectError,
  framesOf,
  inCell,
  nextOffer,
  offset,
  type OnlineDriver,
  onlineDriver,
  settle,
  stopTripAlarms,
  waitFor,
} from "../helpers/dispatch";
import { approvedDriverWithTier } from "../helpers/vehicles";
import type { LatLng } from "../../src/protocol/common";
import { haversineKm } from "../../src/domain/geo";
import type { Candidate } from "../../src/domain/matching";

afterAll(stopTripAlarms);

const quote = (rider: TestUser, body: unknown) => call("POST", "/v1/quotes", { token: rider.token, body });
const request = (rider: TestUser, body: unknown) => call("POST", "/v1/trips", { token: rider.token, body });

/** `driver` online at `location` with a channel, `acceptLowerTiers` as given; once the geo index lists them. */
async function online(driver: TestUser, location: LatLng, acceptLowerTiers?: boolean): Promise<OnlineDriver> {
  const body = acceptLowerTiers === undefined ? { location } : { location, acceptLowerTiers };
  const res = await call("POST", "/v1/drivers/me/online", { token: driver.token, body });
  expect(res.status).toBe(200);
  const socket = await connectOk("/v1/drivers/me/ws", driver.token);
  await socket.nextOfType("welcome");
  await waitFor("the driver to reach the geo index", async () =>
    (await inCell(location, driver.user.id)) ? true : undefined,
  );
  return { ...driver, socket };
}

/** A driver with an approved vehicle of `tier`, online at `location`. */
async function tierDriver(tier: string, location: LatLng, acceptLowerTiers?: boolean): Promise<OnlineDriver> {
  const { driver } = await approvedDriverWithTier(await registerAdmin(), tier);
  return online(driver, location, acceptLowerTiers);
}

const offersOf = (driver: OnlineDriver) => framesOf(driver.socket, (f) => f.type === "offer");

describe("quotes per tier", () => {
  it("lists one quote per tier with a driver near, priced on each tier's rules", async () => {
    const pickup = area(1);
    const dropoff = offset(pickup, 5);
    await onlineDriver(offset(pickup, 0.3));
    await tierDriver("comfort", offset(pickup, 0.5));
    const rider = await registerUser("rider");
    const res = await quote(rider, { pickup, dropoff });
    expect(res.status).toBe(201);
    const quotes: WireJson[] = res.body.quotes;
    // xl and moto have no driver near: not offered here now.
    expect(quotes.map((q) => q.tier)).toEqual(["economy", "comfort"]);
    const [economy, comfort] = quotes;
    // `quote` is the default tier's, as before tiers.
    expect(res.body.quote).toEqual(economy);
    expect(economy.id).not.toBe(comfort.id);
    expect(comfort.distanceKm).toBe(economy.distanceKm);
    expect(comfort.fare.amount).toBeGreaterThan(economy.fare.amount);
    expect(economy.pickupEtaSec).toBeLessThan(comfort.pickupEtaSec);

    // Each quote is requested by its id, and the trip keeps its tier and fare.
    const trip = await request(rider, { quoteId: comfort.id });
    expect(trip.status).toBe(201);
    expect(trip.body.trip.quote).toMatchObject({ tier: "comfort", fare: comfort.fare });
  });

  it("always quotes the default tier, with no ETA when no driver is near", async () => {
    const rider = await registerUser("rider");
    const pickup = area(2);
    const res = await quote(rider, { pickup, dropoff: offset(pickup, 4) });
    expect(res.status).toBe(201);
    expect(res.body.quotes).toHaveLength(1);
    expect(res.body.quote).toMatchObject({ tier: "economy", pickupEtaSec: null });
  });

  it("quotes only the tier named, even with no driver near", async () => {
    const rider = await registerUser("rider");
    const pickup = area(3);
    const res = await quote(rider, { pickup, dropoff: offset(pickup, 4), tier: "xl" });
    expect(res.status).toBe(201);
    expect(res.body.quotes.map((q: WireJson) => q.tier)).toEqual(["xl"]);
    expect(res.body.quote).toMatchObject({ tier: "xl", pickupEtaSec: null });
    // xl's minimum is 1200 (wrangler.toml), above economy's 700.
    expect(res.body.quote.fare.amount).toBeGreaterThanOrEqual(1200);
  });

  it("counts surge per tier: comfort requests raise comfort's price, not economy's", async () => {
    const pickup = area(5);
    const dropoff = offset(pickup, 5);
    await onlineDriver(offset(pickup, 0.3));
    await tierDriver("comfort", offset(pickup, 0.5));
    for (let i = 0; i < 3; i++) {
      const res = await request(await registerUser("rider"), { pickup, dropoff, tier: "comfort" });
      expect(res.status).toBe(201);
    }
    const rider = await registerUser("rider");
    // The requests reach the pickup's cell just behind their answers.
    const surged = await waitFor("comfort's surge to rise", async () => {
      const res = await quote(rider, { pickup, dropoff, tier: "comfort" });
      return res.body.quote.surge > 1 ? res.body.quote : undefined;
    });
    const economy = (await quote(rider, { pickup, dropoff, tier: "economy" })).body.quote;
    expect(economy.surge).toBe(1);
    expect(surged.tier).toBe("comfort");
  });

  it("lets the SDK ask for every tier and for one", async () => {
    const rider = await registerUser("rider");
    const sdk = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: rider.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });
    const pickup = area(4);
    const all = await sdk.quotes({ pickup, dropoff: offset(pickup, 4) });
    expect(all.map((q) => q.tier)).toEqual(["economy"]);
    const moto = await sdk.quote({ pickup, dropoff: offset(pickup, 4), tier: "moto" });
    expect(moto.tier).toBe("moto");
  });
});

describe("matching by tier", () => {
  it("never offers a comfort request to an economy-only driver", async () => {
    const pickup = area(10);
    const economy = await onlineDriver(offset(pickup, 0.2));
    const comfort = await tierDriver("comfort", offset(pickup, 1));
    const rider = await registerUser("rider");
    const res = await request(rider, { pickup, dropoff: offset(pickup, 5), tier: "comfort" });
    expect(res.status).toBe(201);
    expect(res.body.trip.quote.tier).toBe("comfort");
    await nextOffer(comfort, res.body.trip.id);
    await settle();
    expect(offersOf(economy)).toEqual([]);
  });

  it("offers an economy request to a comfort driver who opted in, not to one who did not", async () => {
    const pickup = area(11);
    const declined = await tierDriver("comfort", offset(pickup, 0.2));
    const optedIn = await tierDriver("comfort", offset(pickup, 1), true);
    const rider = await registerUser("rider");
    const res = await request(rider, { pickup, dropoff: offset(pickup, 5) });
    expect(res.status).toBe(201);
    expect(res.body.trip.quote.tier).toBe("economy");
    // The nearer driver would be offered first if they served economy (one offer at a time here).
    await nextOffer(optedIn, res.body.trip.id);
    await settle();
    expect(offersOf(declined)).toEqual([]);
  });

  it("lets a driver opt in to lower tiers while online (PUT /v1/drivers/me/tiers)", async () => {
    const pickup = area(13);
    const driver = await tierDriver("comfort", offset(pickup, 0.5));
    const sdk = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: driver.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });
    expect(await sdk.setAcceptLowerTiers(true)).toEqual({ acceptLowerTiers: true, serves: ["comfort", "economy"] });
    const rider = await registerUser("rider");
    // The cell hears of it behind the answer: the economy quote sees the driver once it has.
    await waitFor("the economy quote to see the comfort driver", async () => {
      const res = await quote(rider, { pickup, dropoff: offset(pickup, 5) });
      return res.body.quote.pickupEtaSec !== null ? true : undefined;
    });
    const res = await request(rider, { pickup, dropoff: offset(pickup, 5) });
    expect(res.status).toBe(201);
    await nextOffer(driver, res.body.trip.id);

    const other = await tierDriver("comfort", offset(area(14), 0.5), true);
    const put = (user: TestUser, body: unknown) => call("PUT", "/v1/drivers/me/tiers", { token: user.token, body });
    expect((await put(other, { acceptLowerTiers: false })).body.tiers).toEqual({
      acceptLowerTiers: false,
      serves: ["comfort"],
    });
    await waitFor("the economy quote to lose the comfort driver", async () => {
      const q = await quote(rider, { pickup: area(14), dropoff: offset(area(14), 5) });
      return q.body.quote.pickupEtaSec === null ? true : undefined;
    });
    for (const bad of [{}, { acceptLowerTiers: "yes" }, { acceptLowerTiers: true, tiers: ["xl"] }])
      expectError(await put(other, bad), 400, "invalid_request");
    expectError(await put(rider, { acceptLowerTiers: true }), 403, "forbidden");
  });

  it("serves the default tier with a driver who has no vehicle, and no other", async () => {
    const pickup = area(12);
    await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const res = await quote(rider, { pickup, dropoff: offset(pickup, 4) });
    expect(res.body.quotes.map((q: WireJson) => q.tier)).toEqual(["economy"]);
    expect(res.body.quote.pickupEtaSec).not.toBeNull();
  });
});

describe("a cell's drivers by tier", () => {
  // A cell indexes its drivers by tier, so that a quote asking for a tier nobody serves there costs
  // no walk of its drivers. Its answers must be what a walk of every driver would give.
  const STALE_MS = 60_000;
  const served = (d: Candidate, tier: string) => (d.tiers ?? ["economy"]).includes(tier);
  /** What the cell must answer for `tier`: a walk of every fresh driver, nearest first. */
  function walked(drivers: Map<string, Candidate>, tier: string, point: LatLng, now: number, limit: number) {
    const serving = [...drivers.values()].filter((d) => d.locationAt >= now - STALE_MS && served(d, tier));
    const nearest = serving
      .map((d) => ({ d, km: haversineKm(d.location, point) }))
      .sort((a, b) => a.km - b.km)
      .slice(0, limit)
      .map(({ d }) => d.driverId);
    return { nearest, availableDrivers: serving.length };
  }

  it("answers as a walk of all its drivers would, through moves, tier changes, removals and staleness", async () => {
    const point = area(40);
    const cell = env.GEO_CELL.get(env.GEO_CELL.idFromName(`tier-index-${crypto.randomUUID()}`));
    const tiers = ["economy", "comfort", "xl", "moto"];
    const choices: (string[] | undefined)[] = [undefined, ["economy"], ["comfort", "economy"], ["xl"], ["moto"], []];
    const drivers = new Map<string, Candidate>();
    const now = Date.now();
    // A fixed walk of changes (Park and Miller's minimal generator): the same each run.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 16807) % 2147483647;
      return seed % n;
    };
    for (let step = 0; step < 120; step++) {
      const id = `drv_tier_${next(12)}`;
      if (next(5) === 0) {
        await cell.removeDriver(id);
        drivers.delete(id);
      } else {
        const tiersOfDriver = choices[next(choices.length)];
        const candidate: Candidate = {
          driverId: id,
          location: offset(point, next(40) / 10, next(40) / 10),
          // Some reports are older than DRIVER_STALE_MS: stale, never answered.
          locationAt: now - (next(4) === 0 ? STALE_MS + 5_000 : next(30_000)),
          rating: null,
          acceptanceRate: null,
          ...(tiersOfDriver === undefined ? {} : { tiers: tiersOfDriver }),
        };
        await cell.upsertDriver(candidate);
        drivers.set(id, candidate);
      }
      if (step % 10 !== 9) continue;
      const answer = await cell.tierSnapshot(now, point, tiers, 3);
      for (const tier of tiers) {
        const expected = walked(drivers, tier, point, now, 3);
        expect(answer.byTier[tier]?.drivers.map((d) => d.driverId)).toEqual(expected.nearest);
        expect(answer.byTier[tier]?.availableDrivers).toBe(expected.availableDrivers);
        const single = await cell.snapshot(now, { point, limit: 3, exclude: [], tier });
        expect(single.drivers.map((d) => d.driverId)).toEqual(expected.nearest);
        expect(single.availableDrivers).toBe(expected.availableDrivers);
      }
    }
    // The walk did reach every case: drivers of several tiers at once, and a tier with nobody.
    const final = await cell.tierSnapshot(now, point, tiers, 3);
    expect(Object.values(final.byTier).filter((t) => t.availableDrivers > 0).length).toBeGreaterThan(1);
  });
});

describe("refusals", () => {
  /** A point in economy town, which offers economy only. */
  const town = (n: number) => area(n, 64);

  it("refuses a tier the pickup's area does not offer, and quotes only what it does", async () => {
    const rider = await registerUser("rider");
    const pickup = town(20);
    const dropoff = offset(pickup, 4);
    const refused = await quote(rider, { pickup, dropoff, tier: "comfort" });
    expectError(refused, 400, "tier_unavailable");
    expect(refused.body.error.details).toEqual({ tiers: ["economy"] });
    expectError(await request(rider, { pickup, dropoff, tier: "comfort" }), 400, "tier_unavailable");
    await tierDriver("comfort", offset(pickup, 0.3), true);
    const res = await quote(rider, { pickup, dropoff });
    expect(res.body.quotes.map((q: WireJson) => q.tier)).toEqual(["economy"]);
  });

  it("refuses an unknown tier, and bad tier names as invalid requests", async () => {
    const rider = await registerUser("rider");
    const pickup = area(21);
    const dropoff = offset(pickup, 4);
    expectError(await quote(rider, { pickup, dropoff, tier: "limo" }), 400, "tier_unavailable");
    expectError(await request(rider, { pickup, dropoff, tier: "limo" }), 400, "tier_unavailable");
    for (const tier of ["Comfort", "", 5, null, "x".repeat(21), ["economy"], "eco nomy"]) {
      expectError(await quote(rider, { pickup, dropoff, tier }), 400, "invalid_request");
      expectError(await request(rider, { pickup, dropoff, tier }), 400, "invalid_request");
    }
    // A quote's tier is the quote's: a request by quoteId names none.
    const q = await quote(rider, { pickup, dropoff });
    expectError(await request(rider, { quoteId: q.body.quote.id, tier: "comfort" }), 400, "invalid_request");
    // acceptLowerTiers is a boolean.
    const driver = await registerUser("driver");
    const bad = await call("POST", "/v1/drivers/me/online", {
      token: driver.token,
      body: { location: pickup, acceptLowerTiers: "yes" },
    });
    expectError(bad, 400, "invalid_request");
  });
});
