/**
 * @module http/routes/drivers
 * A driver going online (where required, only once approved: README "Drivers and vehicles")
 * and offline, their vehicles and documents (routes/vehicles.ts), the driver channel socket,
 * and its fallback for networks that break WebSockets: the channel as Server-Sent Events, and
 * fixes posted over HTTP; and where the driver's payouts go (their payout account, README "Payouts").
 * Everything about the driver's availability is decided by their DriverSession object.
 *
 * The session's record (with the driver's rating, which matching reads) is made when the
 * driver goes online or opens their channel, and whenever the session answers that it has
 * none yet (404: a driver who never went online); a posted rating reaches it at once (routes/
 * trips.ts). Every other call is one RPC and no D1 read: a driver on the HTTP fallback posts a
 * fix every few seconds.
 */
import { Hono } from "hono";
import { payoutAccountOf, setPayoutAccount } from "../../db/payouts";
import { ratingOf } from "../../db/ratings";
import { ApiError, type Result, unwrap } from "../../errors";
import { paymentProvider } from "../../payments/provider";
import { DriverTiersBody, LocationBody, OnlineBody } from "../../protocol/dispatch";
import { PayoutAccountBody } from "../../protocol/payouts";
import { driverSession } from "../../rooms/stubs";
import { requireAccount, requireRole, requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { vehicleToGoOnlineWith } from "../driver-approval";
import { forwardFallback, forwardUpgrade } from "../upgrade";
import { readBody } from "../validate";
import { vehicleRoutes } from "./vehicles";

export const driverRoutes = new Hono<AppEnv>();

driverRoutes.use("/drivers/me/*", requireUser, requireRole("driver"));
driverRoutes.route("/drivers/me", vehicleRoutes);

type Session = ReturnType<typeof driverSession>;

/** The caller's session object, its record made (idempotent) with their current rating from D1. */
async function readySession(c: AppContext): Promise<Session> {
  const { userId } = c.get("identity");
  const session = driverSession(c.env, userId);
  await session.ensure(userId, (await ratingOf(c.env.DB, userId)).average);
  return session;
}

/**
 * Runs `call` on the caller's session; if the session answers that it has no record yet, makes
 * it and runs `call` again.
 */
async function onMySession<T>(c: AppContext, call: (session: Session) => Promise<Result<T>>): Promise<T> {
  const first = await call(driverSession(c.env, c.get("identity").userId));
  if (first.ok || first.error.code !== "not_found") return unwrap(first);
  return unwrap(await call(await readySession(c)));
}

driverRoutes.post("/drivers/me/online", async (c) => {
  const body = await readBody(c, OnlineBody);
  const [profile, session] = await Promise.all([
    vehicleToGoOnlineWith(c.env.DB, c.get("config"), c.get("identity").userId, body.location),
    readySession(c),
  ]);
  const driver = unwrap(await session.goOnline(body.location, profile, body.acceptLowerTiers ?? false));
  return c.json({ driver });
});

/** The driver's opt-in to lower tiers, until they next go online (README, "Tiers"). */
driverRoutes.put("/drivers/me/tiers", async (c) => {
  const body = await readBody(c, DriverTiersBody);
  const tiers = await onMySession(c, (session) => session.setAcceptLowerTiers(body.acceptLowerTiers));
  return c.json({ tiers });
});

driverRoutes.post("/drivers/me/offline", async (c) => {
  const driver = await onMySession(c, (session) => session.goOffline());
  return c.json({ driver });
});

driverRoutes.get("/drivers/me", async (c) => {
  const driver = await onMySession(c, (session) => session.get());
  return c.json({ driver });
});

driverRoutes.get("/drivers/me/ws", async (c) => forwardUpgrade(c, await readySession(c)));
driverRoutes.get("/drivers/me/events", async (c) => forwardFallback(c, await readySession(c), "events"));

/** A fix over HTTP, checked like the channel's `location` frame (age, speed, 2 per second). */
driverRoutes.post("/drivers/me/location", async (c) => {
  const { lat, lng, at } = await readBody(c, LocationBody);
  await onMySession(c, (session) => session.reportLocation({ lat, lng, at }));
  return c.json({ accepted: true });
});

/**
 * Where the driver's payouts go: their Stripe Connect account (`acct_…`). The provider is asked
 * whether it is one of the platform's connected accounts (the sandbox takes any well-formed id),
 * and an account another driver registered is refused, so nobody can point payouts at an
 * account that is not theirs to claim. A payout already under way keeps the account it was made to.
 */
driverRoutes.put("/drivers/me/payout-account", requireAccount, async (c) => {
  const { accountId } = await readBody(c, PayoutAccountBody);
  const driverId = c.get("identity").userId;
  if (!(await paymentProvider(c.get("config")).payoutAccountExists(accountId)))
    throw new ApiError(400, "payout_account_unknown", "the payment provider knows no such connected account");
  const now = Date.now();
  if ((await setPayoutAccount(c.env.DB, driverId, accountId, now)) === "taken")
    throw new ApiError(409, "payout_account_taken", "another driver registered this account");
  return c.json({ payoutAccount: { accountId, updatedAt: now } });
});

driverRoutes.get("/drivers/me/payout-account", async (c) => {
  const account = await payoutAccountOf(c.env.DB, c.get("identity").userId);
  return c.json({ payoutAccount: account ?? null });
});
