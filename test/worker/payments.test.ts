// Payments end to end on workerd: wallets and top-ups through the sandbox provider, the hold a
// trip request places (402 without the funds, one of many concurrent requests when the balance
// covers one), the capture, fee or release at a trip's end with the driver's and the platform's
// shares, receipts and earnings, replays that must post once, and the Stripe provider against a
// local stand-in of Stripe's API (test/helpers/stripe-server.mjs) with signed webhooks. After
// every test the whole D1 ledger is checked: each entry balanced, all accounts summing to zero,
// no wallet below zero.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { holdFare } from "../../src/db/holds";
import { allShards } from "../../src/db/shards";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { receiptNotification } from "../../src/notify/message";
import { signStripePayload } from "../../src/payments/stripe-signature";
import worker from "../../src/index";
import { call, connectOk, registerUser, topUp, unique, type TestUser } from "../helpers/api";
import { expectLedgerBalanced, ledgerCount, ledgerRows, USD, walletOf } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  driverAction,
  editTripState,
  expectError,
  offset,
  onlineDriver,
  runTripAlarm,
  settle,
  tripStub,
  waitFor,
} from "../helpers/dispatch";
import { deliveriesTo, hookUrl, runQueue } from "../helpers/notify";
import { stripeStandIn } from "../helpers/stripe";

async function transactionsOf(user: TestUser) {
  const res = await call("GET", "/v1/wallet/transactions", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.transactions as { kind: string; amount: { amount: number }; tripId?: string }[];
}

/** The kinds of the ledger entries of one trip, in the order they were posted. */
async function entryKinds(tripId: string): Promise<string[]> {
  // A trip's entries are all led by its rider, so their first legs are in one shard, in order.
  const rows = await ledgerRows<{ kind: string }>(
    `SELECT kind FROM journal_entries WHERE trip_id = ? AND idempotency_key NOT LIKE 'leg:%' ORDER BY rowid`,
    tripId,
  );
  return rows.map((r) => r.kind);
}

async function quoteFor(rider: TestUser, pickup: { lat: number; lng: number }, dropoff: { lat: number; lng: number }) {
  const res = await call("POST", "/v1/quotes", { token: rider.token, body: { pickup, dropoff } });
  expect(res.status).toBe(201);
  return res.body.quote;
}

async function addWebhook(user: TestUser, key: string) {
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webhook", url: hookUrl(key) } });
  expect(res.status).toBe(201);
}

/** Waits for the trip room to have posted its settlement (its write-behind runs just after the move). */
async function settledKinds(tripId: string, last: string): Promise<string[]> {
  return waitFor(
    `trip ${tripId} settled with a ${last}`,
    async () => {
      const kinds = await entryKinds(tripId);
      return kinds.at(-1) === last ? kinds : undefined;
    },
    8_000,
  );
}

afterEach(expectLedgerBalanced);

describe("wallet and sandbox top-ups", () => {
  it("starts empty; a top-up is credited at once and listed as a transaction", async () => {
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    expect(await walletOf(rider)).toEqual({ balance: USD(0), held: USD(0), available: USD(0), owed: USD(0) });
    const res = await call("POST", "/v1/wallet/top-ups", {
      token: rider.token,
      body: { amount: USD(2_000) },
      headers: { "Idempotency-Key": unique("k") },
    });
    expect(res.status).toBe(201);
    expect(res.body.topUp).toEqual({
      id: expect.stringMatching(/^tu_/),
      status: "succeeded",
      amount: USD(2_000),
      createdAt: expect.any(Number),
    });
    expect(await walletOf(rider)).toEqual({ balance: USD(2_000), held: USD(0), available: USD(2_000), owed: USD(0) });
    expect(await transactionsOf(rider)).toEqual([
      { id: expect.any(String), kind: "top_up", amount: USD(2_000), createdAt: expect.any(Number) },
    ]);
  });

  it("credits a retried top-up once, and refuses the same key for another amount with 409", async () => {
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    const key = unique("k");
    const first = await topUp(rider, 1_500, key);
    const again = await topUp(rider, 1_500, key);
    expect(again.id).toBe(first.id);
    expect((await walletOf(rider)).balance).toEqual(USD(1_500));
    const other = await call("POST", "/v1/wallet/top-ups", {
      token: rider.token,
      body: { amount: USD(1_600) },
      headers: { "Idempotency-Key": key },
    });
    expectError(other, 409, "conflict");
    expect(
      await ledgerCount(`SELECT COUNT(*) AS n FROM journal_entries WHERE idempotency_key = ?`, `topup:${first.id}`),
    ).toBe(1);
  });

  it(
    "answers 400 to amounts outside the limits, another currency, " +
      "fractions or no Idempotency-Key, and 403 to drivers",
    async () => {
      const rider = await registerUser("rider", "Rita", { funds: 0 });
      const post = (
        amount: unknown,
        headers: Record<string, string> = { "Idempotency-Key": unique("k") },
        who = rider,
      ) => call("POST", "/v1/wallet/top-ups", { token: who.token, body: { amount }, headers });
      expectError(await post(USD(499)), 400, "invalid_request");
      expectError(await post(USD(50_001)), 400, "invalid_request");
      expectError(await post({ amount: 1_000, currency: "EUR" }), 400, "invalid_request");
      expectError(await post(USD(1_000.5)), 400, "invalid_request");
      expectError(await post(USD(-1_000)), 400, "invalid_request");
      expectError(await post(USD(1_000), {}), 400, "invalid_request");
      expect((await post(USD(500))).status).toBe(201);
      expect((await post(USD(50_000))).status).toBe(201);
      const driver = await registerUser("driver");
      expectError(await post(USD(1_000), { "Idempotency-Key": unique("k") }, driver), 403, "forbidden");
      expectError(await call("GET", "/v1/wallet"), 401, "unauthorized");
      expect((await walletOf(rider)).balance).toEqual(USD(50_500));
    },
  );

  it("refuses webhooks while the sandbox is the provider, and posts nothing", async () => {
    const before = await ledgerCount(`SELECT COUNT(*) AS n FROM journal_entries`);
    const res = await call("POST", "/v1/payments/webhook", {
      body: { type: "payment_intent.succeeded" },
      headers: { "Stripe-Signature": "t=1,v1=00" },
    });
    expectError(res, 400, "invalid_signature");
    expect(await ledgerCount(`SELECT COUNT(*) AS n FROM journal_entries`)).toBe(before);
  });
});

describe("holds on trip requests", () => {
  it(
    "answers 402 insufficient_funds without the funds and makes no trip; " +
      "after a top-up the request holds the quote's fare",
    async () => {
      const pickup = area(40);
      const rider = await registerUser("rider", "Rita", { funds: 0 });
      const quote = await quoteFor(rider, pickup, offset(pickup, 4));
      const refused = await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: quote.id } });
      expectError(refused, 402, "insufficient_funds");
      expect(refused.body.error.details).toEqual({ needed: quote.fare, available: USD(0) });
      expect((await call("GET", "/v1/trips", { token: rider.token })).body.trips).toEqual([]);

      await topUp(rider, Math.max(500, quote.fare.amount));
      const res = await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: quote.id } });
      expect(res.status).toBe(201);
      const wallet = await walletOf(rider);
      expect(wallet.held).toEqual(quote.fare);
      expect(wallet.available.amount).toBe(Math.max(500, quote.fare.amount) - quote.fare.amount);
      expect((await transactionsOf(rider)).map((t) => [t.kind, t.amount.amount])).toEqual([
        ["hold", -quote.fare.amount],
        ["top_up", Math.max(500, quote.fare.amount)],
      ]);
      expect((await call("POST", `/v1/trips/${res.body.trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    },
  );

  it("accepts exactly one of 6 simultaneous requests by a rider whose balance covers one", async () => {
    const pickup = area(41);
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    const quote = await quoteFor(rider, pickup, offset(pickup, 5));
    const funds = Math.max(500, Math.floor(quote.fare.amount * 1.5));
    await topUp(rider, funds);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call("POST", "/v1/trips", {
          token: rider.token,
          body: { quoteId: quote.id },
          headers: { "Idempotency-Key": `race-${quote.id}-${i}` },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 402, 402, 402, 402, 402]);
    expect(await walletOf(rider)).toMatchObject({ held: quote.fare, available: USD(funds - quote.fare.amount) });
    const trip = answers.find((a) => a.status === 201)!.body.trip;
    expect(await entryKinds(trip.id)).toEqual(["hold"]);
    expect((await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token })).status).toBe(200);
  });

  it("lets only the holds the balance covers through when many race on one wallet", async () => {
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    await topUp(rider, 3_000);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        holdFare(env, unique(`hold-race-${i}`), rider.user.id, USD(1_000), Date.now()),
      ),
    );
    expect(outcomes.filter((o) => o.held)).toHaveLength(3);
    // Refused for want of funds: each says what it needed and that nothing was available.
    const refused = outcomes.filter((o) => !o.held);
    expect(refused).toEqual(Array(7).fill({ held: false, needed: USD(1_000), available: USD(0) }));
    expect(await walletOf(rider)).toMatchObject({ balance: USD(3_000), held: USD(3_000), available: USD(0) });
  });

  it("keeps journal lines immutable in every partition: an update or a delete aborts", async () => {
    const rider = await registerUser("rider", "Ivy", { funds: 0 });
    await topUp(rider, 500);
    for (const { db } of allShards(env)) {
      await expect(db.prepare(`UPDATE journal_lines SET amount = amount + 1`).run()).rejects.toThrow(/immutable/);
      await expect(db.prepare(`DELETE FROM journal_entries`).run()).rejects.toThrow(/immutable/);
      await expect(db.prepare(`DELETE FROM journal_lines`).run()).rejects.toThrow(/immutable/);
    }
  });
});

describe("settling a trip", () => {
  it(
    "captures the final fare at completion, splits it 75/25, releases the hold, and sends the rider a " + "receipt",
    async () => {
      const pickup = area(42);
      const driver = await onlineDriver(offset(pickup, 0.3));
      const rider = await registerUser("rider");
      const key = unique("hook");
      await addWebhook(rider, key);
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 4));
      expect((await walletOf(rider)).held).toEqual(trip.quote.fare);
      for (const action of ["arrived", "start"] as const)
        expect((await driverAction(driver, trip.id, action)).status).toBe(200);
      const done = await driverAction(driver, trip.id, "complete");
      expect(done.status).toBe(200);
      const fare = done.body.trip.fare;
      // Nothing shows the ride differed from the quote (no fix says otherwise): the rider pays the
      // quote; the hold is released whole and the fare captured from the wallet.
      expect(fare).toEqual(trip.quote.fare);
      expect(await settledKinds(trip.id, "capture")).toEqual(["hold", "release", "capture"]);

      const commission = Math.round(fare.amount * 0.25);
      const receipt = await call("GET", `/v1/trips/${trip.id}/receipt`, { token: rider.token });
      expect(receipt.status).toBe(200);
      expect(receipt.body.receipt).toEqual({
        tripId: trip.id,
        kind: "capture",
        fare,
        breakdown: {
          base: expect.any(Number),
          distance: expect.any(Number),
          time: expect.any(Number),
          surge: expect.any(Number),
          fee: expect.any(Number),
        },
        paidFrom: "wallet",
        paid: fare,
        outstanding: USD(0),
        driverEarning: USD(fare.amount - commission),
        tips: USD(0),
        createdAt: expect.any(Number),
        quoted: trip.quote.fare,
        capApplied: false,
        review: null,
      });
      const b = receipt.body.receipt.breakdown;
      expect(b.base + b.distance + b.time + b.surge + b.fee).toBe(fare.amount);
      expect((await call("GET", `/v1/trips/${trip.id}/receipt`, { token: driver.token })).body.receipt).toEqual(
        receipt.body.receipt,
      );
      const stranger = await registerUser("rider");
      expect([403, 404]).toContain(
        (await call("GET", `/v1/trips/${trip.id}/receipt`, { token: stranger.token })).status,
      );

      expect(await walletOf(rider)).toEqual({
        balance: USD(50_000 - fare.amount),
        held: USD(0),
        available: USD(50_000 - fare.amount),
        owed: USD(0),
      });
      expect((await transactionsOf(rider)).map((t) => [t.kind, t.amount.amount])).toEqual([
        ["capture", -fare.amount],
        ["release", trip.quote.fare.amount],
        ["hold", -trip.quote.fare.amount],
        ["top_up", 50_000],
      ]);
      expect((await transactionsOf(driver)).map((t) => [t.kind, t.amount.amount, t.tripId])).toEqual([
        ["earning", fare.amount - commission, trip.id],
      ]);
      const earnings = await call("GET", "/v1/earnings", { token: driver.token });
      expect(earnings.status).toBe(200);
      expect(earnings.body).toMatchObject({
        earnings: { gross: fare, commission: USD(commission), net: USD(fare.amount - commission) },
        trips: 1,
      });
      const past = await call("GET", `/v1/earnings?from=0&to=${Date.now() - 3_600_000}`, { token: driver.token });
      expect(past.body).toMatchObject({ earnings: { gross: USD(0) }, trips: 0 });
      expectError(await call("GET", "/v1/earnings", { token: rider.token }), 403, "forbidden");

      // The rider had no socket in the trip: the receipt goes out as a notification.
      await waitFor(
        "the receipt notification",
        async () => ((await deliveriesTo(key)).some((d) => JSON.parse(d.text).type === "receipt") ? true : undefined),
        8_000,
      );
      const receipts = (await deliveriesTo(key)).map((d) => JSON.parse(d.text)).filter((n) => n.type === "receipt");
      expect(receipts).toEqual([
        expect.objectContaining({
          id: `receipt:${trip.id}:${rider.user.id}`,
          title: "Your receipt",
          data: { tripId: trip.id, kind: "capture", amount: fare },
        }),
      ]);
      driver.socket.close();
    },
  );

  it("takes what the wallet has when the final fare is above the hold, and books the rest as owed", async () => {
    const pickup = area(43);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    const quote = await quoteFor(rider, pickup, offset(pickup, 3));
    const funds = Math.max(500, quote.fare.amount);
    await topUp(rider, funds);
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    // The ride has lasted three hours: the time charge alone is above anything the wallet holds,
    // and the fare is capped at FARE_CAP_PERCENT (50 %) above the quote.
    await editTripState(trip.id, (s) => {
      s.startedAt = Date.now() - 3 * 3_600_000;
    });
    const fare = (await driverAction(driver, trip.id, "complete")).body.trip.fare;
    expect(fare.amount).toBe(Math.floor(trip.quote.fare.amount * 1.5));
    expect(fare.amount).toBeGreaterThan(funds);
    await settledKinds(trip.id, "capture");
    const receipt = (await call("GET", `/v1/trips/${trip.id}/receipt`, { token: rider.token })).body.receipt;
    expect(receipt).toMatchObject({ fare, paid: USD(funds), outstanding: USD(fare.amount - funds) });
    expect(await walletOf(rider)).toEqual({
      balance: USD(0),
      held: USD(0),
      available: USD(0),
      owed: USD(fare.amount - funds),
    });
    // The driver is paid their share of the whole fare; the platform carries what is owed.
    const commission = Math.round(fare.amount * 0.25);
    expect(receipt.driverEarning).toEqual(USD(fare.amount - commission));
    // Owing, the rider cannot hold another fare.
    const next = await quoteFor(rider, pickup, offset(pickup, 3));
    expectError(
      await call("POST", "/v1/trips", { token: rider.token, body: { quoteId: next.id } }),
      402,
      "insufficient_funds",
    );
    driver.socket.close();
  });

  it("captures a late cancellation's fee and releases the rest; the driver earns their share", async () => {
    const pickup = area(44);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    await editTripState(trip.id, (s) => {
      s.acceptedAt = Date.now() - 121_000;
    });
    const cancelled = await call("POST", `/v1/trips/${trip.id}/cancel`, { token: rider.token });
    expect(cancelled.body.trip.cancellationFee).toEqual(USD(500));
    expect(await settledKinds(trip.id, "fee")).toEqual(["hold", "release", "fee"]);
    const receipt = (await call("GET", `/v1/trips/${trip.id}/receipt`, { token: rider.token })).body.receipt;
    expect(receipt).toMatchObject({
      kind: "fee",
      fare: USD(500),
      breakdown: { base: 0, distance: 0, time: 0, surge: 0, fee: 500 },
      paid: USD(500),
      driverEarning: USD(375),
    });
    expect(await walletOf(rider)).toMatchObject({ balance: USD(49_500), held: USD(0) });
    expect((await call("GET", "/v1/earnings", { token: driver.token })).body).toMatchObject({
      earnings: { gross: USD(500), commission: USD(125), net: USD(375) },
      trips: 1,
    });
    driver.socket.close();
  });

  it("releases the whole hold on a free cancellation and on no_driver, with no receipt", async () => {
    const pickup = area(45);
    const rider = await registerUser("rider");
    const free = await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff: offset(pickup, 3) } });
    expect((await walletOf(rider)).held).toEqual(free.body.trip.quote.fare);
    expect((await call("POST", `/v1/trips/${free.body.trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    expect(await settledKinds(free.body.trip.id, "release")).toEqual(["hold", "release"]);
    expect(await walletOf(rider)).toEqual({ balance: USD(50_000), held: USD(0), available: USD(50_000), owed: USD(0) });
    expectError(await call("GET", `/v1/trips/${free.body.trip.id}/receipt`, { token: rider.token }), 409, "conflict");

    const lonely = (
      await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff: offset(pickup, 3) } })
    ).body.trip;
    await editTripState(lonely.id, (s) => {
      s.matchingStartedAt = Date.now() - 121_000;
    });
    await runTripAlarm(lonely.id);
    expect(await settledKinds(lonely.id, "release")).toEqual(["hold", "release"]);
    expect(await walletOf(rider)).toMatchObject({ balance: USD(50_000), held: USD(0) });
  });

  it(
    "posts a settlement once however often it runs, and delivers a redelivered receipt notification " + "once",
    async () => {
      const pickup = area(46);
      const driver = await onlineDriver(offset(pickup, 0.3));
      const rider = await registerUser("rider");
      const key = unique("hook");
      await addWebhook(rider, key);
      // The rider watches the trip: statuses need no push, only the receipt goes to the queue.
      const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
      const watching = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
      for (const action of ["arrived", "start", "complete"] as const)
        expect((await driverAction(driver, trip.id, action)).status).toBe(200);
      const kinds = await settledKinds(trip.id, "capture");
      // A retried write-behind, the receipt route and the alarm all settle again: nothing new posts.
      for (let i = 0; i < 3; i++) expect(await tripStub(trip.id).settle()).toMatchObject({ ok: true });
      await runTripAlarm(trip.id);
      for (let i = 0; i < 2; i++)
        expect((await call("GET", `/v1/trips/${trip.id}/receipt`, { token: rider.token })).status).toBe(200);
      expect(await entryKinds(trip.id)).toEqual(kinds);

      // The settlement queued the receipt; once the queue has delivered it, redeliveries of the
      // same message are acknowledged and send nothing. (Redelivered while the first delivery
      // still holds its lease, a copy is retried after the lease instead: also never twice.)
      await waitFor(
        "the receipt delivery",
        async () => ((await deliveriesTo(key)).some((d) => JSON.parse(d.text).type === "receipt") ? true : undefined),
        8_000,
      );
      const fare = (await call("GET", `/v1/trips/${trip.id}`, { token: rider.token })).body.trip.fare;
      const message = receiptNotification(trip.id, rider.user.id, "capture", fare, Date.now());
      const first = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "r1", body: message }]);
      const again = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "r2", body: structuredClone(message) }]);
      expect(first.explicitAcks).toEqual(["r1"]);
      expect(again.explicitAcks).toEqual(["r2"]);
      await settle(300);
      const receipts = (await deliveriesTo(key)).filter((d) => JSON.parse(d.text).type === "receipt");
      expect(receipts).toHaveLength(1);
      expect(JSON.parse(receipts[0]!.text)).toMatchObject({
        id: `receipt:${trip.id}:${rider.user.id}`,
        type: "receipt",
        title: "Your receipt",
      });
      watching.close();
      driver.socket.close();
    },
  );
});

describe("the Stripe provider", () => {
  const stripe = stripeStandIn;
  /** The same Worker with PAYMENT_PROVIDER=stripe, pointed at the local stand-in of Stripe's API. */
  const stripeEnv = (overrides: Record<string, string> = {}) =>
    ({
      ...env,
      PAYMENT_PROVIDER: "stripe",
      STRIPE_API_BASE: stripe().baseUrl,
      STRIPE_SECRET_KEY: stripe().secretKey,
      STRIPE_WEBHOOK_SECRET: stripe().webhookSecret,
      ...overrides,
    }) as Env;

  async function viaStripe(
    method: string,
    path: string,
    options: { token?: string; body?: string; headers?: Record<string, string> } = {},
    workerEnv = stripeEnv(),
  ) {
    const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://ridewire.test${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
      }),
      workerEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const body: Awaited<ReturnType<typeof call>>["body"] = await res.json();
    return { status: res.status, body };
  }

  const startTopUp = (rider: TestUser, amount: number, key: string, workerEnv?: Env) =>
    viaStripe(
      "POST",
      "/v1/wallet/top-ups",
      { token: rider.token, body: JSON.stringify({ amount: USD(amount) }), headers: { "Idempotency-Key": key } },
      workerEnv,
    );

  async function stripeRequests(): Promise<
    { path: string; headers: Record<string, string>; form: Record<string, string> }[]
  > {
    return (await fetch(`${stripe().baseUrl}/test/requests`)).json();
  }

  /** The customer pays: the stand-in answers the event Stripe would send, and its signature. */
  async function pay(intentId: string, outcome = "succeeded"): Promise<{ payload: string; signature: string }> {
    return (await fetch(`${stripe().baseUrl}/test/pay/${intentId}?outcome=${outcome}`, { method: "POST" })).json();
  }

  const deliver = (payload: string, signature?: string) =>
    viaStripe("POST", "/v1/payments/webhook", {
      body: payload,
      headers: signature === undefined ? {} : { "Stripe-Signature": signature },
    });

  async function intentFor(topUpId: string): Promise<string> {
    const row = await env.DB.prepare(`SELECT provider_ref FROM top_ups WHERE id = ?`)
      .bind(topUpId)
      .first<{ provider_ref: string }>();
    return row!.provider_ref;
  }

  it(
    "creates a PaymentIntent with an Idempotency-Key, answers pending, " +
      "and credits the wallet once from the signed webhook",
    async () => {
      const rider = await registerUser("rider", "Rita", { funds: 0 });
      const key = unique("k");
      const started = await startTopUp(rider, 2_500, key);
      expect(started.status).toBe(201);
      expect(started.body.topUp).toMatchObject({
        status: "pending",
        amount: USD(2_500),
        clientSecret: expect.stringMatching(/^pi_\w+_secret_/),
      });
      const topUpId = started.body.topUp.id;
      const calls = (await stripeRequests()).filter((r) => r.form["metadata[top_up_id]"] === topUpId);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        path: "/v1/payment_intents",
        headers: { "idempotency-key": `topup-${topUpId}` },
        form: { amount: "2500", currency: "usd", "metadata[user_id]": rider.user.id },
      });
      expect((await walletOf(rider)).balance).toEqual(USD(0));

      // A retried request answers the same top-up and makes no second PaymentIntent.
      const retried = await startTopUp(rider, 2_500, key);
      expect(retried.body.topUp).toMatchObject({
        id: topUpId,
        status: "pending",
        clientSecret: started.body.topUp.clientSecret,
      });
      expect((await stripeRequests()).filter((r) => r.form["metadata[top_up_id]"] === topUpId)).toHaveLength(1);

      const event = await pay(await intentFor(topUpId));
      expect(await deliver(event.payload, event.signature)).toEqual({
        status: 200,
        body: { received: true, outcome: "credited" },
      });
      expect(await walletOf(rider)).toMatchObject({ balance: USD(2_500), available: USD(2_500) });
      // Stripe redelivers until it sees a 2xx, and may send an event twice: it posts once.
      expect(await deliver(event.payload, event.signature)).toEqual({
        status: 200,
        body: { received: true, outcome: "already_credited" },
      });
      expect((await walletOf(rider)).balance).toEqual(USD(2_500));
      expect((await startTopUp(rider, 2_500, key)).body.topUp.status).toBe("succeeded");
    },
  );

  it("answers 400 to a bad signature, a changed body, an old timestamp or none, and posts nothing", async () => {
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    const topUpId = (await startTopUp(rider, 1_000, unique("k"))).body.topUp.id;
    const event = await pay(await intentFor(topUpId));
    const now = Math.floor(Date.now() / 1000);
    const tampered = event.payload.replace('"amount": 1000', '"amount": 9000');
    expect(tampered).not.toBe(event.payload);
    const refusals = [
      await deliver(event.payload),
      await deliver(event.payload, "t=nonsense"),
      await deliver(tampered, event.signature),
      await deliver(event.payload, await signStripePayload(event.payload, "whsec_not_the_secret", now)),
      await deliver(event.payload, await signStripePayload(event.payload, stripe().webhookSecret, now - 301)),
    ];
    for (const res of refusals) expectError(res, 400, "invalid_signature");
    expect(await walletOf(rider)).toMatchObject({ balance: USD(0) });
    expect(
      await ledgerCount(`SELECT COUNT(*) AS n FROM journal_entries WHERE idempotency_key = ?`, `topup:${topUpId}`),
    ).toBe(0);
    // Signed within the tolerance, the same event is taken.
    expect(
      (await deliver(event.payload, await signStripePayload(event.payload, stripe().webhookSecret, now - 200))).body
        .outcome,
    ).toBe("credited");
  });

  it("marks a failed payment's top-up failed and credits nothing", async () => {
    const rider = await registerUser("rider", "Rita", { funds: 0 });
    const key = unique("k");
    const topUpId = (await startTopUp(rider, 1_000, key)).body.topUp.id;
    const event = await pay(await intentFor(topUpId), "failed");
    expect((await deliver(event.payload, event.signature)).body.outcome).toBe("failed");
    expect((await startTopUp(rider, 1_000, key)).body.topUp.status).toBe("failed");
    expect((await walletOf(rider)).balance).toEqual(USD(0));
  });

  it(
    "answers 502 payment_provider_error when Stripe refuses the call, " +
      "and the retry with the same key goes through",
    async () => {
      const rider = await registerUser("rider", "Rita", { funds: 0 });
      const key = unique("k");
      const refused = await startTopUp(rider, 1_000, key, stripeEnv({ STRIPE_SECRET_KEY: "sk_test_revoked" }));
      expectError(refused, 502, "payment_provider_error");
      const retried = await startTopUp(rider, 1_000, key);
      expect(retried.status).toBe(201);
      expect(retried.body.topUp).toMatchObject({ status: "pending", clientSecret: expect.any(String) });
    },
  );
});
