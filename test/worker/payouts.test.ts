// Payouts (README, "Payouts") through the public API: a driver sets a payout account and takes
// out their available earnings, on request or in the daily scheduled run, through the sandbox and
// through Stripe Connect transfers (the local stand-in, test/helpers/stripe-server.mjs); lost
// answers, outages and refusals leave a pending payout the reconciliation cron settles with the
// same Idempotency-Key, or give the money back. Hostile callers: riders, replays, races, odd
// amounts, someone else's account. After every test the whole D1 ledger is checked.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { RidewireClient, isRidewireError } from "@ridewire/client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ledgerProblems } from "../../src/db/ledger-checks";
import worker from "../../src/index";
import { PAYOUT_CRON } from "../../src/payments/payouts";
import { call, registerUser, unique, type TestUser, type WireJson } from "../helpers/api";
import { registerAdmin } from "../helpers/admin";
import { expectLedgerBalanced, ledgerCount, ledgerRows, USD } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  driverAction,
  expectError,
  offset,
  onlineDriver,
  type OnlineDriver,
  stopTripAlarms,
} from "../helpers/dispatch";
import { stripeStandIn } from "../helpers/stripe";

afterAll(stopTripAlarms);
afterEach(async () => {
  await expectLedgerBalanced();
  // No payout in transit below zero, whatever a test did.
  expect((await ledgerProblems(env)).filter((p) => p.kind === "account_balance")).toEqual([]);
});

/** The Worker with settings of its own: no hold on earnings unless a test asks for one. */
const payoutEnv = (overrides: Record<string, string> = {}) => ({ ...env, PAYOUT_HOLD_MS: "0", ...overrides }) as Env;

const stripeEnv = (overrides: Record<string, string> = {}) =>
  payoutEnv({
    PAYMENT_PROVIDER: "stripe",
    STRIPE_API_BASE: stripeStandIn().baseUrl,
    STRIPE_SECRET_KEY: stripeStandIn().secretKey,
    STRIPE_WEBHOOK_SECRET: stripeStandIn().webhookSecret,
    ...overrides,
  });

async function via(
  workerEnv: Env,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: WireJson }> {
  const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://ridewire.test${path}`, {
      method,
      headers,
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    }),
    workerEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const payOut = (driver: TestUser, body: unknown = {}, key: string | null = unique("po"), workerEnv = payoutEnv()) =>
  via(workerEnv, "POST", "/v1/payouts", {
    token: driver.token,
    body,
    ...(key === null ? {} : { headers: { "Idempotency-Key": key } }),
  });

const balanceOf = async (driver: TestUser, workerEnv = payoutEnv()) => {
  const res = await via(workerEnv, "GET", "/v1/payouts/balance", { token: driver.token });
  expect(res.status).toBe(200);
  return res.body.balance;
};

const setAccount = (driver: TestUser, accountId: unknown, workerEnv = payoutEnv()) =>
  via(workerEnv, "PUT", "/v1/drivers/me/payout-account", { token: driver.token, body: { accountId } });

/** A well-formed connected account id nobody has used (the sandbox takes any such). */
const sandboxAccount = () => `acct_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

/** A connected account the Stripe stand-in knows, as Connect onboarding would have made it. */
async function stripeAccount(): Promise<string> {
  return (
    (await (await fetch(`${stripeStandIn().baseUrl}/test/accounts`, { method: "POST" })).json()) as { id: string }
  ).id;
}

async function transferRequests(
  payoutId: string,
): Promise<{ headers: Record<string, string>; form: Record<string, string> }[]> {
  const all: { path: string; headers: Record<string, string>; form: Record<string, string> }[] = await (
    await fetch(`${stripeStandIn().baseUrl}/test/requests`)
  ).json();
  return all.filter((r) => r.path === "/v1/transfers" && r.form["metadata[payout_id]"] === payoutId);
}

/** How often the transfers of a payout were looked up by their transfer_group. */
async function transferLookups(payoutId: string): Promise<number> {
  const all: { method: string; path: string; query: Record<string, string> }[] = await (
    await fetch(`${stripeStandIn().baseUrl}/test/requests`)
  ).json();
  return all.filter((r) => r.method === "GET" && r.path === "/v1/transfers" && r.query.transfer_group === payoutId)
    .length;
}

let areaCounter = 0;

/** A driver who completed a 10 km ride: their earnings are its driver's share. */
async function earningDriver(): Promise<{ driver: OnlineDriver; earned: number; tripId: string }> {
  const pickup = area(areaCounter++, 62);
  const driver = await onlineDriver(pickup);
  const rider = await registerUser("rider");
  const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 10));
  for (const action of ["arrived", "start", "complete"] as const)
    expect((await driverAction(driver, trip.id, action)).status).toBe(200);
  const receipt = await call("GET", `/v1/trips/${trip.id}/receipt`, { token: driver.token });
  expect(receipt.status).toBe(200);
  const earned: number = receipt.body.receipt.driverEarning.amount;
  expect(earned).toBeGreaterThan(1_000);
  return { driver, earned, tripId: trip.id };
}

async function runCron(cron: string, workerEnv: Env, at = Date.now()): Promise<void> {
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ scheduledTime: at, cron }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
}

async function payoutEntries(payoutId: string): Promise<string[]> {
  const rows = await ledgerRows<{ k: string }>(
    `SELECT idempotency_key AS k FROM journal_entries WHERE idempotency_key LIKE ? ORDER BY rowid`,
    `payout:${payoutId}%`,
  );
  return rows.map((r) => r.k);
}

describe("who may", () => {
  it("refuses riders (403) and anonymous callers (401) on every payout route", async () => {
    const rider = await registerUser("rider");
    for (const [method, path] of [
      ["POST", "/v1/payouts"],
      ["GET", "/v1/payouts"],
      ["GET", "/v1/payouts/balance"],
      ["PUT", "/v1/drivers/me/payout-account"],
      ["GET", "/v1/drivers/me/payout-account"],
      ["GET", "/v1/admin/payouts"],
    ] as const) {
      const body = method === "GET" ? undefined : { accountId: sandboxAccount() };
      const asRider = await via(payoutEnv(), method, path, {
        token: rider.token,
        ...(body ? { body } : {}),
        headers: { "Idempotency-Key": unique("k") },
      });
      expectError(asRider, 403, "forbidden");
      expectError(await via(payoutEnv(), method, path, body ? { body } : {}), 401, "unauthorized");
    }
  });
});

describe("the payout account", () => {
  it("takes a well-formed acct_ id, refuses anything else, and one account belongs to one driver", async () => {
    const driver = await registerUser("driver");
    const other = await registerUser("driver");
    expect((await via(payoutEnv(), "GET", "/v1/drivers/me/payout-account", { token: driver.token })).body).toEqual({
      payoutAccount: null,
    });
    for (const bad of [
      "",
      "acct_",
      "acct_short",
      "ba_1234567890abcdef",
      "acct_1234567890abcdef'--",
      42,
      null,
      `acct_${"a".repeat(65)}`,
    ])
      expectError(await setAccount(driver, bad), 400, "invalid_request");
    const account = sandboxAccount();
    const set = await setAccount(driver, account);
    expect(set.status).toBe(200);
    expect(set.body.payoutAccount).toMatchObject({ accountId: account });
    expect(
      (await via(payoutEnv(), "GET", "/v1/drivers/me/payout-account", { token: driver.token })).body.payoutAccount,
    ).toMatchObject({ accountId: account });
    // Another driver cannot claim it; setting one's own again is fine.
    expectError(await setAccount(other, account), 409, "payout_account_taken");
    expect((await setAccount(driver, account)).status).toBe(200);
  });

  it("with Stripe, must be one of the platform's connected accounts", async () => {
    const driver = await registerUser("driver");
    expectError(await setAccount(driver, "acct_0000000000000000", stripeEnv()), 400, "payout_account_unknown");
    const account = await stripeAccount();
    // Stripe not answering about the account (here: a wrong key) is not a verdict on it.
    expectError(
      await setAccount(driver, account, stripeEnv({ STRIPE_SECRET_KEY: "sk_test_not_the_key" })),
      502,
      "payment_provider_error",
    );
    expect((await setAccount(driver, account, stripeEnv())).status).toBe(200);
  });
});

describe("payouts on request", () => {
  it("pays out everything available once per Idempotency-Key, with the history and the ledger lines", async () => {
    const { driver, earned } = await earningDriver();
    // No account yet.
    expectError(await payOut(driver), 409, "payout_account_missing");
    expect((await setAccount(driver, sandboxAccount())).status).toBe(200);
    expect(await balanceOf(driver)).toMatchObject({ balance: USD(earned), available: USD(earned), inTransit: USD(0) });

    const key = unique("po");
    const first = await payOut(driver, {}, key);
    expect(first.status).toBe(201);
    expect(first.body.payout).toMatchObject({
      driverId: driver.user.id,
      status: "paid",
      amount: USD(earned),
      trigger: "request",
      attempts: 1,
    });
    expect(first.body.payout.providerRef).toMatch(/^sandbox_tr_/);
    expect(await balanceOf(driver)).toMatchObject({ balance: USD(0), available: USD(0), inTransit: USD(0) });
    const id = first.body.payout.id;
    expect(await payoutEntries(id)).toEqual([`payout:${id}`, `payout:${id}:paid`]);

    // The same request again: the same payout, nothing more paid; with another amount, 409.
    const again = await payOut(driver, {}, key);
    expect(again.status).toBe(200);
    expect(again.body.payout).toEqual(first.body.payout);
    expectError(await payOut(driver, { amount: USD(5) }, key), 409, "conflict");
    expect(await payoutEntries(id)).toHaveLength(2);
    // A new request finds nothing left.
    expectError(await payOut(driver), 409, "nothing_to_pay_out");

    const history = await via(payoutEnv(), "GET", "/v1/payouts", { token: driver.token });
    expect(history.body).toEqual({ payouts: [first.body.payout], nextBefore: null });
    const lines = await call("GET", "/v1/wallet/transactions", { token: driver.token });
    expect(lines.body.transactions.map((t: WireJson) => [t.kind, t.amount.amount])).toEqual([
      ["payout", -earned],
      ["earning", earned],
    ]);
    // Paid out is still earned: the earnings report is unchanged.
    const report = await call("GET", "/v1/earnings", { token: driver.token });
    expect(report.body.earnings.net).toEqual(USD(earned));
    // Nobody else sees it: another driver's history is their own (empty).
    const other = await registerUser("driver");
    expect((await via(payoutEnv(), "GET", "/v1/payouts", { token: other.token })).body.payouts).toEqual([]);
  });

  it("pays a part, at least the minimum and at most what is available, and pages the history", async () => {
    const { driver, earned } = await earningDriver();
    await setAccount(driver, sandboxAccount());
    const minimum = 1_000;
    expectError(await payOut(driver, { amount: USD(minimum - 1) }), 409, "payout_below_minimum");
    const over = await payOut(driver, { amount: USD(earned + 1) });
    expectError(over, 409, "payout_exceeds_available");
    expect(over.body.error.details).toMatchObject({ available: USD(earned), minimum: USD(minimum) });
    // Leave 999, less than the minimum: a 10 km ride earns more than twice the minimum.
    expect(earned - 999).toBeGreaterThanOrEqual(minimum);
    const part = await payOut(driver, { amount: USD(earned - 999) });
    expect(part.body.payout).toMatchObject({ status: "paid", amount: USD(earned - 999) });
    expect(await balanceOf(driver)).toMatchObject({ available: USD(999) });
    expectError(await payOut(driver), 409, "payout_below_minimum");

    const page = await via(payoutEnv(), "GET", "/v1/payouts?limit=1", { token: driver.token });
    expect(page.body.payouts).toHaveLength(1);
    expect(page.body.nextBefore).toEqual(expect.any(Number));
    const next = await via(payoutEnv(), "GET", `/v1/payouts?limit=1&before=${page.body.nextBefore}`, {
      token: driver.token,
    });
    expect(next.body).toEqual({ payouts: [], nextBefore: null });
    expectError(await via(payoutEnv(), "GET", "/v1/payouts?limit=0", { token: driver.token }), 400, "invalid_request");
  });

  it("refuses odd amounts, a missing key, and a body that is not JSON, and pays nothing", async () => {
    const { driver, earned } = await earningDriver();
    await setAccount(driver, sandboxAccount());
    for (const amount of [
      USD(-1_500),
      USD(0),
      USD(1_500.5),
      USD(Number.MAX_SAFE_INTEGER + 2),
      USD(1e300),
      { amount: "1500", currency: "USD" },
      { amount: 1_500, currency: "usd" },
      1_500,
    ])
      expectError(await payOut(driver, { amount }), 400, "invalid_request");
    expectError(await payOut(driver, { amount: { amount: 1_500, currency: "EUR" } }), 400, "invalid_request");
    expectError(await payOut(driver, { amount: USD(Number.MAX_SAFE_INTEGER) }), 409, "payout_exceeds_available");
    expectError(await payOut(driver, {}, null), 400, "invalid_request");
    expectError(await payOut(driver, "{not json"), 400, "invalid_request");
    expectError(await payOut(driver, {}, "x".repeat(129)), 400, "invalid_request");
    // The scheduled run's own keys: taken ahead of a run, they would skip its payout to this driver.
    expectError(await payOut(driver, {}, `scheduled:${Date.now() + 86_400_000}`), 400, "invalid_request");
    expect(await balanceOf(driver)).toMatchObject({ available: USD(earned), inTransit: USD(0) });
  });

  it("pays once when six requests race, and once when one request is sent four times at once", async () => {
    const { driver, earned } = await earningDriver();
    await setAccount(driver, sandboxAccount());
    const racing = await Promise.all(Array.from({ length: 6 }, () => payOut(driver)));
    const paid = racing.filter((r) => r.status === 201);
    expect(paid).toHaveLength(1);
    expect(paid[0]?.body.payout).toMatchObject({ status: "paid", amount: USD(earned) });
    for (const r of racing.filter((x) => x.status !== 201))
      expect(["payout_in_flight", "nothing_to_pay_out"]).toContain(r.body.error.code);
    expect(await balanceOf(driver)).toMatchObject({ balance: USD(0), inTransit: USD(0) });

    const { driver: twin } = await earningDriver();
    await setAccount(twin, sandboxAccount());
    const key = unique("po");
    const same = await Promise.all(Array.from({ length: 4 }, () => payOut(twin, {}, key)));
    const ids = new Set(same.map((r) => r.body.payout?.id));
    expect(ids.size).toBe(1);
    expect(same.filter((r) => r.status === 201)).toHaveLength(1);
    expect(await ledgerCount(`SELECT COUNT(*) AS n FROM payouts WHERE driver_id = ?`, twin.user.id)).toBe(1);
  });

  it("leaves a driver owing what a refund takes back after a payout, and pays nothing until earned back", async () => {
    const { driver, earned, tripId } = await earningDriver();
    await setAccount(driver, sandboxAccount());
    expect((await payOut(driver)).body.payout).toMatchObject({ status: "paid", amount: USD(earned) });
    const admin = await registerAdmin();
    const refund = await call("POST", `/v1/admin/trips/${tripId}/refund`, {
      token: admin.token,
      body: { reason: "the ride never happened" },
      headers: { "Idempotency-Key": unique("refund") },
    });
    expect(refund.status).toBe(201);
    // The driver's share is taken back from earnings already paid out: they owe it. The ledger
    // checks after this test call that no problem (payouts in transit are what may not go negative).
    expect(await balanceOf(driver)).toMatchObject({ balance: USD(-earned), available: USD(0), onHold: USD(0) });
    expectError(await payOut(driver), 409, "nothing_to_pay_out");
  });

  it("keeps earnings within the hold period back, and says so", async () => {
    const { driver, earned } = await earningDriver();
    const held = payoutEnv({ PAYOUT_HOLD_MS: "86400000" });
    await setAccount(driver, sandboxAccount(), held);
    expect(await balanceOf(driver, held)).toMatchObject({
      balance: USD(earned),
      onHold: USD(earned),
      available: USD(0),
      holdMs: 86_400_000,
    });
    const refused = await payOut(driver, {}, unique("po"), held);
    expectError(refused, 409, "nothing_to_pay_out");
    expect(refused.body.error.details).toMatchObject({ onHold: USD(earned) });
  });

  it("works through the SDK", async () => {
    const { driver, earned } = await earningDriver();
    const client = new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: driver.token,
      fetch: async (input, init) => worker.fetch(new Request(input, init), payoutEnv(), createExecutionContext()),
    });
    const account = sandboxAccount();
    expect(await client.setPayoutAccount(account)).toMatchObject({ accountId: account });
    expect(await client.payoutAccount()).toMatchObject({ accountId: account });
    expect(await client.payoutBalance()).toMatchObject({ available: USD(earned) });
    const key = unique("po");
    const payout = await client.requestPayout({ idempotencyKey: key });
    expect(payout).toMatchObject({ status: "paid", amount: USD(earned) });
    expect(await client.requestPayout({ idempotencyKey: key })).toEqual(payout);
    const error = await client.requestPayout().catch((e: unknown) => e);
    expect(isRidewireError(error) && error.code).toBe("nothing_to_pay_out");
    expect((await client.payouts()).payouts).toEqual([payout]);
  });
});

describe("payouts through Stripe Connect", () => {
  it("sends a transfer to the driver's account with the payout's Idempotency-Key", async () => {
    const { driver, earned } = await earningDriver();
    const account = await stripeAccount();
    await setAccount(driver, account, stripeEnv());
    const res = await payOut(driver, {}, unique("po"), stripeEnv());
    expect(res.status).toBe(201);
    expect(res.body.payout).toMatchObject({ status: "paid", amount: USD(earned), destination: account });
    expect(res.body.payout.providerRef).toMatch(/^tr_/);
    const [sent, ...more] = await transferRequests(res.body.payout.id);
    expect(more).toEqual([]);
    expect(sent?.headers["idempotency-key"]).toBe(`payout-${res.body.payout.id}`);
    expect(sent?.form).toMatchObject({
      amount: String(earned),
      currency: "usd",
      destination: account,
      "metadata[driver_id]": driver.user.id,
    });
  });

  it("leaves a payout whose answer was lost pending; the cron settles it once, even once Stripe forgot", async () => {
    const { driver, earned } = await earningDriver();
    const account = await stripeAccount();
    await setAccount(driver, account, stripeEnv());
    await fetch(`${stripeStandIn().baseUrl}/test/transfers/lose-answer?destination=${account}`, { method: "POST" });
    const res = await payOut(driver, {}, unique("po"), stripeEnv());
    expect(res.status).toBe(201);
    expect(res.body.payout).toMatchObject({ status: "pending", amount: USD(earned), attempts: 1 });
    const id = res.body.payout.id;
    expect(await balanceOf(driver)).toMatchObject({ balance: USD(0), inTransit: USD(earned) });
    // Another payout waits for this one.
    expectError(await payOut(driver, {}, unique("po"), stripeEnv()), 409, "payout_in_flight");

    // Too soon for the cron (the request might still be running): left alone.
    await runCron("*/10 * * * *", stripeEnv());
    expect(await transferLookups(id)).toBe(0);
    // Later, and past the 24 hours Stripe keeps an Idempotency-Key: the retry finds the transfer
    // by its transfer_group and makes no second one.
    await fetch(`${stripeStandIn().baseUrl}/test/idempotency/forget?key=payout-${id}`, { method: "POST" });
    await new Promise((r) => setTimeout(r, 1_100));
    await runCron("*/10 * * * *", stripeEnv({ PAYOUT_RETRY_AFTER_MS: "1000" }));
    expect(await transferLookups(id)).toBe(1);
    const requests = await transferRequests(id);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers["idempotency-key"]).toBe(`payout-${id}`);
    const [row] = (await via(payoutEnv(), "GET", "/v1/payouts", { token: driver.token })).body.payouts;
    expect(row).toMatchObject({ id, status: "paid" });
    expect(row.providerRef).toMatch(/^tr_/);
    expect(await balanceOf(driver)).toMatchObject({ balance: USD(0), inTransit: USD(0) });
    expect(await payoutEntries(id)).toEqual([`payout:${id}`, `payout:${id}:paid`]);
  });

  it("retries after an outage, and gives the money back when Stripe refuses the transfer", async () => {
    const { driver, earned } = await earningDriver();
    const account = await stripeAccount();
    await setAccount(driver, account, stripeEnv());
    await fetch(`${stripeStandIn().baseUrl}/test/transfers/outage?destination=${account}&times=1`, { method: "POST" });
    const down = await payOut(driver, {}, unique("po"), stripeEnv());
    expect(down.body.payout).toMatchObject({ status: "pending" });
    expect(down.body.payout.failure).toMatch(/unavailable/);
    await new Promise((r) => setTimeout(r, 1_100));
    await runCron("*/10 * * * *", stripeEnv({ PAYOUT_RETRY_AFTER_MS: "1000" }));
    const [afterOutage] = (await via(payoutEnv(), "GET", "/v1/payouts", { token: driver.token })).body.payouts;
    expect(afterOutage).toMatchObject({ status: "paid", attempts: 2 });
    // Looked up first (nothing made), then asked for again with the same key.
    expect(await transferLookups(afterOutage.id)).toBe(1);
    const asked = await transferRequests(afterOutage.id);
    expect(asked.map((r) => r.headers["idempotency-key"])).toEqual([
      `payout-${afterOutage.id}`,
      `payout-${afterOutage.id}`,
    ]);

    // An account Stripe does not know (deleted there since it was set): a definite refusal.
    const { driver: gone, earned: goneEarned } = await earningDriver();
    await setAccount(gone, sandboxAccount());
    const refused = await payOut(gone, {}, unique("po"), stripeEnv());
    expect(refused.status).toBe(201);
    expect(refused.body.payout).toMatchObject({ status: "failed", amount: USD(goneEarned) });
    expect(refused.body.payout.failure).toMatch(/No such destination/);
    const id = refused.body.payout.id;
    expect(await payoutEntries(id)).toEqual([`payout:${id}`, `payout:${id}:failed`]);
    // The money is back and available at once (a returned payout is not a new earning).
    expect(await balanceOf(gone, payoutEnv({ PAYOUT_HOLD_MS: "86400000" }))).toMatchObject({
      balance: USD(goneEarned),
      inTransit: USD(0),
    });
    const lines = await call("GET", "/v1/wallet/transactions", { token: gone.token });
    expect(lines.body.transactions.slice(0, 2).map((t: WireJson) => [t.kind, t.amount.amount])).toEqual([
      ["payout_reversal", goneEarned],
      ["payout", -goneEarned],
    ]);
    expect(earned).toBeGreaterThan(0);
  });
});

describe("scheduled payouts", () => {
  it("pay every driver with enough available and an account, once per run, a batch at a time", async () => {
    const { driver: ready } = await earningDriver();
    const { driver: noAccount } = await earningDriver();
    const { driver: second } = await earningDriver();
    await setAccount(ready, sandboxAccount());
    await setAccount(second, sandboxAccount());
    const below = await registerUser("driver");
    await setAccount(below, sandboxAccount());

    const at = Date.now();
    await runCron(PAYOUT_CRON, payoutEnv(), at);
    // A second delivery of the same run pays nobody again.
    await runCron(PAYOUT_CRON, payoutEnv(), at);
    for (const driver of [ready, second]) {
      const list = (await via(payoutEnv(), "GET", "/v1/payouts", { token: driver.token })).body.payouts;
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ status: "paid", trigger: "scheduled" });
      expect(await balanceOf(driver)).toMatchObject({ balance: USD(0) });
    }
    for (const driver of [noAccount, below])
      expect((await via(payoutEnv(), "GET", "/v1/payouts", { token: driver.token })).body.payouts).toEqual([]);

    // A banned driver is not paid by the schedule: an operator looks at their money first.
    const { driver: banned } = await earningDriver();
    await setAccount(banned, sandboxAccount());
    const admin = await registerAdmin();
    const ban = await call("POST", `/v1/admin/users/${banned.user.id}/ban`, {
      token: admin.token,
      body: { reason: "payout fraud review" },
    });
    expect(ban.status).toBe(200);
    await runCron(PAYOUT_CRON, payoutEnv(), Date.now());
    expect(await ledgerCount(`SELECT COUNT(*) AS n FROM payouts WHERE driver_id = ?`, banned.user.id)).toBe(0);

    // One driver per run at most: the next one waits for the next run.
    const { driver: a } = await earningDriver();
    const { driver: b } = await earningDriver();
    await setAccount(a, sandboxAccount());
    await setAccount(b, sandboxAccount());
    const small = payoutEnv({ PAYOUT_BATCH_SIZE: "1" });
    const runAt = Date.now() + 1;
    await runCron(PAYOUT_CRON, small, runAt);
    expect(await ledgerCount(`SELECT COUNT(*) AS n FROM payouts WHERE idempotency_key = ?`, `scheduled:${runAt}`)).toBe(
      1,
    );
  });
});

describe("operators", () => {
  it("list payouts by driver and status", async () => {
    const { driver } = await earningDriver();
    await setAccount(driver, sandboxAccount());
    const paid = (await payOut(driver)).body.payout;
    const admin = await registerAdmin();
    const res = await via(payoutEnv(), "GET", `/v1/admin/payouts?driverId=${driver.user.id}&status=paid`, {
      token: admin.token,
    });
    expect(res.status).toBe(200);
    expect(res.body.payouts).toEqual([paid]);
    const failed = await via(payoutEnv(), "GET", `/v1/admin/payouts?driverId=${driver.user.id}&status=failed`, {
      token: admin.token,
    });
    expect(failed.body.payouts).toEqual([]);
    expectError(
      await via(payoutEnv(), "GET", "/v1/admin/payouts?status=lost", { token: admin.token }),
      400,
      "invalid_request",
    );
    expectError(await via(payoutEnv(), "GET", "/v1/admin/payouts", { token: driver.token }), 403, "forbidden");
  });
});
