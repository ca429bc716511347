/**
 * @module http/routes/payouts
 * Drivers' payouts over HTTP (docs/API.md, "Payouts"): a payout on request, the driver's payout
 * history, and what they may take out now. Where the money goes (the payout account) is set in
 * routes/drivers.ts; the daily run and the retries are crons (payments/payouts.ts). Only drivers:
 * a rider has no earnings, and no route takes a driver id, so nobody reaches another's payouts.
 */
import { Hono } from "hono";
import { listPayouts, payoutBalanceOf } from "../../db/payouts";
import { badRequest } from "../../errors";
import { requestPayout, SCHEDULED_KEY_PREFIX, toPayout } from "../../payments/payouts";
import { PayoutBody, PayoutListQuery, type PayoutBalance } from "../../protocol/payouts";
import { requireAccount, requireRole, requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readIdempotencyKey, readOptionalBody, readQuery } from "../validate";

export const payoutRoutes = new Hono<AppEnv>();

payoutRoutes.use("/payouts", requireUser, requireRole("driver"));
payoutRoutes.use("/payouts/*", requireUser, requireRole("driver"));

/**
 * Pays out `amount` (everything available when omitted). Money goes out, so the Idempotency-Key
 * is required: the same key answers with the same payout (200) and pays nothing more; with
 * another amount it is 409. 201 with the payout: `paid`, `failed` (the provider refused it; the
 * money is back on the earnings) or `pending` (no definite answer yet; the cron retries it).
 */
payoutRoutes.post("/payouts", requireAccount, async (c) => {
  const key = readIdempotencyKey(c);
  if (key === undefined) throw badRequest("a payout needs an Idempotency-Key header");
  // The scheduled run keys its payouts `scheduled:<time>` (payments/payouts.ts): a driver who sent
  // such a key ahead of a run would make that run's payout to them a "duplicate", skipped.
  if (key.startsWith(SCHEDULED_KEY_PREFIX))
    throw badRequest(`an Idempotency-Key may not start with "${SCHEDULED_KEY_PREFIX}": the scheduled run's keys do`);
  const { amount } = await readOptionalBody(c, PayoutBody);
  const { payout, replayed } = await requestPayout(
    c.env,
    c.get("config"),
    { driverId: c.get("identity").userId, idempotencyKey: key, amount },
    Date.now(),
  );
  return c.json({ payout: toPayout(payout) }, replayed ? 200 : 201);
});

payoutRoutes.get("/payouts", async (c) => {
  const query = readQuery(c, PayoutListQuery);
  const rows = await listPayouts(c.env, { driverId: c.get("identity").userId }, query.limit, query.before);
  const last = rows.at(-1);
  return c.json({
    payouts: rows.map(toPayout),
    nextBefore: rows.length >= query.limit && last ? last.createdAt : null,
  });
});

payoutRoutes.get("/payouts/balance", async (c) => {
  const config = c.get("config");
  const now = Date.now();
  const standing = await payoutBalanceOf(
    c.env,
    c.get("identity").userId,
    config.FARE_CURRENCY,
    now - config.PAYOUT_HOLD_MS,
  );
  const balance: PayoutBalance = {
    ...standing,
    minimum: { amount: config.PAYOUT_MIN_MINOR, currency: config.FARE_CURRENCY },
    holdMs: config.PAYOUT_HOLD_MS,
  };
  return c.json({ balance });
});
