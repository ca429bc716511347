/**
 * @module http/routes/wallet
 * Payments over HTTP (docs/API.md, "Payments"): the caller's wallet and transactions, top-ups
 * through the payment provider and its webhook, riders' tips, trip receipts and drivers' earnings. The
 * ledger (db/postings.ts and the db modules beside it) does the money; holds and captures of
 * trips happen in routes/trips.ts and the trip room.
 */
import { Hono } from "hono";
import { chargeOf, entryByKey, type StoredEntry } from "../../db/journal-entries";
import { ledgerOf } from "../../db/ledger-statements";
import { tippedSoFar, tipTrip, type TipOutcome } from "../../db/tips";
import { chargeKey } from "../../domain/charges";
import { tipBound, tipKey, tipWindowOpen } from "../../domain/tips";
import { findTopUp, insertTopUp, setTopUpProviderRef, type TopUpRow } from "../../db/top-ups";
import { earningsOf, listTransactions, walletOf } from "../../db/wallet-views";
import { ApiError, badRequest, conflict, forbidden, unwrap } from "../../errors";
import { applyProviderEvent } from "../../payments/events";
import { paymentProvider } from "../../payments/provider";
import {
  EarningsQuery,
  TipBody,
  TopUpBody,
  TransactionListQuery,
  type Receipt,
  type Tip,
  type TopUp,
} from "../../protocol/payments";
import { requireAccount, requireRole, requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { newId } from "../../ids";
import { readBody, readId, readIdempotencyKey, readQuery } from "../validate";
import { tripRoom } from "../../rooms/stubs";

export const walletRoutes = new Hono<AppEnv>();

walletRoutes.use("/wallet", requireUser);
walletRoutes.use("/wallet/*", requireUser);
walletRoutes.use("/earnings", requireUser);
walletRoutes.use("/trips/:id/receipt", requireUser);
walletRoutes.use("/trips/:id/tip", requireUser);

function toTopUp(row: TopUpRow): TopUp {
  return {
    id: row.id,
    status: row.status,
    amount: { amount: row.amount, currency: row.currency },
    ...(row.clientSecret ? { clientSecret: row.clientSecret } : {}),
    createdAt: row.createdAt,
  };
}

walletRoutes.get("/wallet", async (c) => {
  return c.json({ wallet: await walletOf(c.env, c.get("identity").userId, c.get("config").FARE_CURRENCY) });
});

walletRoutes.get("/wallet/transactions", async (c) => {
  const query = readQuery(c, TransactionListQuery);
  const transactions = await listTransactions(c.env, c.get("identity").userId, query.limit, query.before);
  const last = transactions.at(-1);
  return c.json({ transactions, nextBefore: transactions.length === query.limit && last ? Number(last.id) : null });
});

/**
 * Starts a top-up with the provider. The Idempotency-Key is required: the same key returns the
 * same top-up, and the provider call carries the top-up id as its own idempotency key, so a
 * retried request never charges twice. The sandbox settles at once; Stripe answers `pending`
 * with the PaymentIntent's client secret and credits the wallet from its webhook.
 */
walletRoutes.post("/wallet/top-ups", requireRole("rider"), requireAccount, async (c) => {
  const key = readIdempotencyKey(c);
  if (key === undefined) throw badRequest("a top-up needs an Idempotency-Key header");
  const { amount } = await readBody(c, TopUpBody);
  const config = c.get("config");
  if (amount.currency !== config.FARE_CURRENCY) throw badRequest(`top-ups are in ${config.FARE_CURRENCY}`);
  if (amount.amount < config.TOP_UP_MIN_MINOR || amount.amount > config.TOP_UP_MAX_MINOR) {
    throw badRequest(`a top-up is between ${config.TOP_UP_MIN_MINOR} and ${config.TOP_UP_MAX_MINOR} minor units`, {
      min: config.TOP_UP_MIN_MINOR,
      max: config.TOP_UP_MAX_MINOR,
    });
  }
  const userId = c.get("identity").userId;
  const provider = paymentProvider(config);
  const now = Date.now();
  const row = await insertTopUp(c.env.DB, {
    id: newId("tu"),
    userId,
    idempotencyKey: key,
    amount: amount.amount,
    currency: amount.currency,
    provider: provider.name,
    providerRef: null,
    clientSecret: null,
    status: "pending",
    createdAt: now,
    updatedAt: now,
  });
  if (row.amount !== amount.amount || row.currency !== amount.currency)
    throw conflict("this Idempotency-Key was used for a different top-up", { topUpId: row.id });
  // A new top-up, or a retry of one whose provider call did not finish.
  if (row.providerRef === null) {
    const started = await provider.startTopUp({ topUpId: row.id, userId, amount });
    await setTopUpProviderRef(c.env.DB, row.id, started.providerRef, started.clientSecret, Date.now());
    if (started.event) await applyProviderEvent(c.env, started.event, Date.now());
  }
  const current = await findTopUp(c.env.DB, row.id);
  return c.json({ topUp: toTopUp(current ?? row) }, 201);
});

/** The provider's notifications. No user token: the provider's signature is the authentication. */
walletRoutes.post("/payments/webhook", async (c) => {
  const raw = await c.req.text();
  const event = await paymentProvider(c.get("config")).readWebhook(raw, c.req.raw.headers, Date.now());
  const outcome = await applyProviderEvent(c.env, event, Date.now());
  return c.json({ received: true, outcome });
});

function toReceipt(tripId: string, entry: StoredEntry, tips: number): Receipt {
  const data = entry.data;
  if (!data) throw new ApiError(500, "internal", "the trip's charge has no receipt data");
  const money = (amount: number) => ({ amount, currency: data.charge.currency });
  return {
    tripId,
    kind: entry.kind === "fee" ? "fee" : "capture",
    fare: data.charge,
    breakdown: data.breakdown,
    paidFrom: "wallet",
    paid: money(data.paid),
    outstanding: money(data.owed),
    driverEarning: money(data.driverEarning),
    tips: money(tips),
    createdAt: entry.createdAt,
    ...(data.decision
      ? { quoted: data.decision.quoted, capApplied: data.decision.basis === "capped", review: data.decision.review }
      : {}),
  };
}

/**
 * The receipt of a completed trip or a charged cancellation fee. The trip room settles behind
 * its status change; a receipt asked for before that settles it now.
 */
walletRoutes.get("/trips/:id/receipt", async (c) => {
  const tripId = readId(c);
  const identity = c.get("identity");
  let charge = await chargeOf(c.env, identity.userId, tripId);
  if (!charge) {
    const stub = tripRoom(c.env, tripId);
    const trip = unwrap(await stub.get(identity));
    if (trip.status !== "completed" && !(trip.status === "cancelled" && trip.cancellationFee))
      throw conflict(`the trip is ${trip.status}: there is no receipt until it is completed or a fee is charged`);
    unwrap(await stub.settle());
    charge = await chargeOf(c.env, identity.userId, tripId);
    if (!charge) throw new ApiError(503, "internal", "the receipt is not ready yet; try again shortly");
  }
  if (identity.userId !== charge.data?.riderId && identity.userId !== charge.data?.driverId)
    throw forbidden("only the trip's rider and driver may see its receipt");
  const { driverId, riderId, charge: fare } = charge.data;
  const tips = driverId ? await tippedSoFar(c.env, tripId, riderId, fare.currency) : 0;
  return c.json({ receipt: toReceipt(tripId, charge, tips) });
});

/**
 * The rider tips the driver of a completed trip (README, "Tips"): within TIP_WINDOW_MS of completion, all of it the
 * driver's, the trip's tips together at most the bound. Money goes out, so the Idempotency-Key is required: the same
 * key answers with the first tip and posts nothing; with another amount it is 409.
 */
walletRoutes.post("/trips/:id/tip", requireRole("rider"), async (c) => {
  const tripId = readId(c);
  const requestKey = readIdempotencyKey(c);
  if (requestKey === undefined) throw badRequest("a tip needs an Idempotency-Key header");
  const { amount } = await readBody(c, TipBody);
  const identity = c.get("identity");
  const config = c.get("config");
  const stub = tripRoom(c.env, tripId);
  // 404 for an unknown trip, 403 for one the caller is not on.
  const trip = unwrap(await stub.get(identity));
  if (trip.riderId !== identity.userId) throw forbidden("only the trip's rider can tip its driver");
  if (trip.status !== "completed" || trip.driverId === null)
    throw conflict(`the trip is ${trip.status}: only a completed trip can be tipped`);
  // A completed trip moves no more, so its last change is its completion. A replay of a tip posted in time still
  // answers with that tip once the window has closed.
  const now = Date.now();
  if (
    !tipWindowOpen(trip.updatedAt, now, config.TIP_WINDOW_MS) &&
    !(await entryByKey(ledgerOf(c.env, identity.userId), tipKey(tripId, requestKey)))
  )
    throw new ApiError(409, "tip_window_closed", "the time to tip this trip is over", {
      completedAt: trip.updatedAt,
      windowMs: config.TIP_WINDOW_MS,
    });
  // The bound is a share of the fare charged: the trip room posts the capture behind completion, so settle it now.
  unwrap(await stub.settle());
  const capture = await entryByKey(ledgerOf(c.env, identity.userId), chargeKey(tripId, "capture"));
  if (!capture?.data) throw new ApiError(503, "internal", "the trip's charge is not posted yet; try again shortly");
  const fare = capture.data.charge;
  if (amount.currency !== fare.currency) throw badRequest(`the trip was charged in ${fare.currency}`, { fare });
  const bound = tipBound(fare.amount, { maxPercent: config.TIP_MAX_PERCENT, maxMinor: config.TIP_MAX_MINOR });
  const outcome = await tipTrip(
    c.env,
    { tripId, requestKey, riderId: identity.userId, driverId: trip.driverId, amount, bound },
    now,
  );
  if (outcome.status === "over_bound" || outcome.status === "insufficient_funds") throw tipRefusal(outcome);
  // A key names one tip: asked again for another amount, it is a different request (409, as elsewhere).
  if (outcome.status === "duplicate" && outcome.tip.amount.amount !== amount.amount)
    throw conflict("this Idempotency-Key was used for a tip of another amount", { tip: { tripId, ...outcome.tip } });
  const tip: Tip = { tripId, ...outcome.tip };
  return c.json({ tip }, 201);
});

function tipRefusal(refusal: Extract<TipOutcome, { status: "over_bound" | "insufficient_funds" }>): ApiError {
  if (refusal.status === "insufficient_funds")
    return new ApiError(
      402,
      "insufficient_funds",
      "your available balance does not cover this tip; top up your wallet",
      {
        needed: refusal.needed,
        available: refusal.available,
      },
    );
  return new ApiError(409, "tip_limit_exceeded", `this trip's tips may add at most ${refusal.tippable.amount} more`, {
    tipped: refusal.tipped,
    tippable: refusal.tippable,
  });
}

walletRoutes.get("/earnings", requireRole("driver"), async (c) => {
  const { from, to } = readQuery(c, EarningsQuery);
  const { trips, ...earnings } = await earningsOf(
    c.env,
    c.get("identity").userId,
    c.get("config").FARE_CURRENCY,
    from,
    to,
  );
  return c.json({ earnings, trips, from, to });
});
