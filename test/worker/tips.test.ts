// Tips (README, "Tips") through the public API: a rider tips the driver of a completed trip, all
// of it the driver's, on the receipt and in the earnings; replays post nothing; the trip's tips
// never pass their bound, not even when tips race; and everything a hostile caller could try is
// refused: someone else's trip, a trip not completed, a closed window, odd amounts, an empty
// wallet. After every test the whole D1 ledger is checked as in payments.test.ts.
import { env, exports } from "cloudflare:workers";
import { RidewireClient, isRidewireError } from "@ridewire/client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { tipBound } from "../../src/domain/tips";
import { call, registerUser, topUp, unique, type TestUser } from "../helpers/api";
import { expectLedgerBalanced, ledgerCount, ledgerRows, USD, walletOf } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  driverAction,
  editTripState,
  expectError,
  offset,
  onlineDriver,
  type OnlineDriver,
  stopTripAlarms,
} from "../helpers/dispatch";

const config = loadConfig(env);

afterAll(stopTripAlarms);
afterEach(expectLedgerBalanced);

const boundOf = (fare: number) =>
  tipBound(fare, { maxPercent: config.TIP_MAX_PERCENT, maxMinor: config.TIP_MAX_MINOR });

/** A 10 km trip `driver` has completed for `rider`, and the fare it charged. */
async function completedTrip(rider: TestUser, driver: OnlineDriver, n: number) {
  const pickup = area(n, 55);
  const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 10));
  for (const action of ["arrived", "start", "complete"] as const)
    expect((await driverAction(driver, trip.id, action)).status).toBe(200);
  const receipt = await call("GET", `/v1/trips/${trip.id}/receipt`, { token: rider.token });
  expect(receipt.status).toBe(200);
  return { trip, fare: receipt.body.receipt.fare as { amount: number; currency: string } };
}

function tip(user: TestUser, tripId: string, amount: unknown, key: string | null = unique("tip")) {
  return call("POST", `/v1/trips/${tripId}/tip`, {
    token: user.token,
    body: { amount },
    ...(key === null ? {} : { headers: { "Idempotency-Key": key } }),
  });
}

/** The trip's tips: their first legs (each tip's leg to the driver's earnings is not another tip). */
async function tipEntriesOf(tripId: string): Promise<number> {
  return ledgerCount(
    `SELECT COUNT(*) AS n FROM journal_entries WHERE trip_id = ? AND kind = 'tip' AND idempotency_key NOT LIKE 'leg:%'`,
    tripId,
  );
}

describe("tips", () => {
  it("go to the driver whole, once per Idempotency-Key, on the receipt and in the earnings", async () => {
    const driver = await onlineDriver(offset(area(31, 55), 0.3));
    const rider = await registerUser("rider");
    const { trip, fare } = await completedTrip(rider, driver, 31);
    const before = await walletOf(rider);
    const key = unique("tip");

    const first = await tip(rider, trip.id, USD(150), key);
    expect(first.status).toBe(201);
    expect(first.body.tip).toEqual({
      tripId: trip.id,
      amount: USD(150),
      tipped: USD(150),
      tippable: USD(boundOf(fare.amount) - 150),
      createdAt: expect.any(Number),
    });
    expect((await walletOf(rider)).available).toEqual(USD(before.available.amount - 150));

    // The same key again answers with the first tip and moves nothing; with another amount it is 409.
    const replay = await tip(rider, trip.id, USD(150), key);
    expect(replay.status).toBe(201);
    expect(replay.body.tip).toEqual(first.body.tip);
    expectError(await tip(rider, trip.id, USD(151), key), 409, "conflict");
    expect(await tipEntriesOf(trip.id)).toBe(1);
    expect((await walletOf(rider)).available).toEqual(USD(before.available.amount - 150));

    // A second tip is allowed, within the bound.
    expect((await tip(rider, trip.id, USD(50))).body.tip).toMatchObject({ amount: USD(50), tipped: USD(200) });

    for (const user of [rider, driver]) {
      const receipt = await call("GET", `/v1/trips/${trip.id}/receipt`, { token: user.token });
      expect(receipt.body.receipt).toMatchObject({ fare, tips: USD(200) });
    }
    const commission = Math.round(fare.amount * 0.25);
    const earnings = await call("GET", "/v1/earnings", { token: driver.token });
    expect(earnings.body).toMatchObject({
      earnings: {
        gross: USD(fare.amount + 200),
        commission: USD(commission),
        net: USD(fare.amount - commission + 200),
        tips: USD(200),
      },
      trips: 1,
    });
    const lines = await call("GET", "/v1/wallet/transactions", { token: driver.token });
    expect(
      lines.body.transactions.map((t: { kind: string; amount: { amount: number } }) => [t.kind, t.amount.amount]),
    ).toEqual([
      ["tip", 50],
      ["tip", 150],
      ["earning", fare.amount - commission],
    ]);
    const riderLines = await call("GET", "/v1/wallet/transactions?limit=2", { token: rider.token });
    expect(riderLines.body.transactions.map((t: { kind: string; amount: { amount: number } }) => t.kind)).toEqual([
      "tip",
      "tip",
    ]);
    driver.socket.close();
  });

  it("never add up to more than the bound, even when tips race", async () => {
    const driver = await onlineDriver(offset(area(32, 55), 0.3));
    const rider = await registerUser("rider");
    const { trip, fare } = await completedTrip(rider, driver, 32);
    const bound = boundOf(fare.amount);
    expect(bound).toBeGreaterThan(100);
    const over = await tip(rider, trip.id, USD(bound + 1));
    expectError(over, 409, "tip_limit_exceeded");
    expect(over.body.error.details).toEqual({ tipped: USD(0), tippable: USD(bound) });

    // Six tips at once, each more than half the bound: exactly one can fit.
    const each = Math.floor(bound / 2) + 1;
    const raced = await Promise.all(Array.from({ length: 6 }, () => tip(rider, trip.id, USD(each))));
    expect(raced.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of raced.filter((x) => x.status === 409)) expectError(r, 409, "tip_limit_exceeded");
    expect(await tipEntriesOf(trip.id)).toBe(1);

    // The SDK: the same key is the same tip, and the bound's refusal comes back as a typed error.
    const sdk = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: rider.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });
    const refused = await sdk.tip(trip.id, USD(bound)).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isRidewireError(refused) && refused.code).toBe("tip_limit_exceeded");
    const viaSdk = await sdk.tip(trip.id, USD(1), { idempotencyKey: "sdk-tip-1" });
    expect(await sdk.tip(trip.id, USD(1), { idempotencyKey: "sdk-tip-1" })).toEqual(viaSdk);
    expect(viaSdk).toMatchObject({ amount: USD(1), tipped: USD(each + 1) });

    const rest = bound - each - 1;
    const last = await tip(rider, trip.id, USD(rest));
    expect(last.status).toBe(201);
    expect(last.body.tip).toMatchObject({ tipped: USD(bound), tippable: USD(0) });
    expectError(await tip(rider, trip.id, USD(1)), 409, "tip_limit_exceeded");
    const [sum] = await ledgerRows<{ s: number }>(
      `SELECT SUM(l.amount) AS s FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
        WHERE e.trip_id = ? AND e.kind = 'tip' AND l.account_id = ? HAVING s IS NOT NULL`,
      trip.id,
      `earnings:${driver.user.id}`,
    );
    expect(sum?.s).toBe(bound);
    driver.socket.close();
  });

  it("are refused to anyone but the trip's rider, before completion, after the window, and on a cancel", async () => {
    const driver = await onlineDriver(offset(area(33, 55), 0.3));
    const rider = await registerUser("rider");
    const pickup = area(33, 55);
    const accepted = await acceptedTrip(rider, driver, pickup, offset(pickup, 10));
    expectError(await tip(rider, accepted.id, USD(100)), 409, "conflict");
    // A cancelled trip cannot be tipped either.
    expect((await call("POST", `/v1/trips/${accepted.id}/cancel`, { token: rider.token })).status).toBe(200);
    expectError(await tip(rider, accepted.id, USD(100)), 409, "conflict");

    const { trip } = await completedTrip(rider, driver, 33);
    const stranger = await registerUser("rider");
    expect([403, 404]).toContain((await tip(stranger, trip.id, USD(100))).status);
    expectError(await tip(driver, trip.id, USD(100)), 403, "forbidden");
    expectError(await tip(rider, "trip_nope", USD(100)), 404, "not_found");
    expectError(await tip(rider, trip.id, USD(100), null), 400, "invalid_request");
    for (const amount of [USD(0), USD(-100), USD(1.5), USD(Number.MAX_SAFE_INTEGER + 2), { amount: 100 }, 100, null])
      expectError(await tip(rider, trip.id, amount), 400, "invalid_request");
    expectError(await tip(rider, trip.id, { amount: 100, currency: "EUR" }), 400, "invalid_request");
    expectError(await tip(rider, trip.id, USD(config.TIP_MAX_MINOR + 1)), 409, "tip_limit_exceeded");

    // A tip posted in time still answers its replay once the window has closed; a new one is refused.
    const key = unique("tip");
    expect((await tip(rider, trip.id, USD(100), key)).status).toBe(201);
    await editTripState(trip.id, (s) => {
      s.updatedAt = Date.now() - config.TIP_WINDOW_MS - 1_000;
      s.completedAt = s.updatedAt;
    });
    expect((await tip(rider, trip.id, USD(100), key)).status).toBe(201);
    expectError(await tip(rider, trip.id, USD(100)), 409, "tip_window_closed");
    expect(await tipEntriesOf(trip.id)).toBe(1);
    driver.socket.close();
  });

  it("need the money in the wallet (402 insufficient_funds), and leave it untouched when refused", async () => {
    const driver = await onlineDriver(offset(area(34, 55), 0.3));
    const pickup = area(34, 55);
    const rider = await registerUser("rider", "Rider", { funds: 0 });
    const quote = await call("POST", "/v1/quotes", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 10) },
    });
    expect(quote.status).toBe(201);
    // Just the fare and the smallest top-up: after the ride, TOP_UP_MIN_MINOR is left.
    await topUp(rider, quote.body.quote.fare.amount + config.TOP_UP_MIN_MINOR);
    const { trip, fare } = await completedTrip(rider, driver, 34);
    const left = (await walletOf(rider)).available.amount;
    expect(left).toBeLessThan(boundOf(fare.amount));
    const refused = await tip(rider, trip.id, USD(left + 1));
    expectError(refused, 402, "insufficient_funds");
    expect(refused.body.error.details).toEqual({ needed: USD(left + 1), available: USD(left) });
    expect((await walletOf(rider)).available).toEqual(USD(left));
    expect((await tip(rider, trip.id, USD(left))).status).toBe(201);
    expect((await walletOf(rider)).available).toEqual(USD(0));
    driver.socket.close();
  });
});
