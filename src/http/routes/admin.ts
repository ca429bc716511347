/**
 * @module http/routes/admin
 * What operators do (`/v1/admin/*`, the `admin` role only): ban and unban an account,
 * force-cancel a trip, refund a trip's charge, manage the server API's keys (routes/api-keys.ts),
 * list drivers' payouts, find drivers and trips (routes/admin-lists.ts), review drivers' vehicles and documents
 * (routes/admin-vehicles.ts), and
 * read the audit log that records each of these with its reason. The record goes in the same
 * D1 batch as the effect where the effect lives in D1 (bans, refunds, keys, reviews); a
 * force-cancel is decided by the trip's own object, so its record follows the cancel.
 */
import { Hono } from "hono";
import { findRefundAudit, listAudit, writeAudit } from "../../db/audit";
import { banAccount, unbanAccount } from "../../db/bans";
import { revokeUserSessions } from "../../db/sessions";
import { refundFromLedger, refundTrip, type RefundOutcome } from "../../db/refunds";
import { tripRefundKey } from "../../domain/refunds";
import { type ApiError, badRequest, conflict, notFound, unwrap } from "../../errors";
import {
  AdminCancelBody,
  AdminReassignBody,
  type AdminReassignResponse,
  AuditQuery,
  BanBody,
  Refund,
  RefundBody,
  type AdminCancelResponse,
  type BanResponse,
  type RefundResponse,
} from "../../protocol/admin";
import { securityNotification } from "../../notify/message";
import { notifyBehind } from "../../notify/producer";
import { errorReason } from "../../redact";
import { CloseCode, disconnectUser } from "../../rooms/disconnect";
import { suspendDriver } from "../../rooms/suspend-driver";
import { requireUser } from "../auth-middleware";
import { forgetBanLook } from "../ban-check";
import type { AppContext, AppEnv } from "../context";
import { requireAdmin } from "../require-admin";
import { readBody, readId, readIdempotencyKey, readQuery } from "../validate";
import { tripRoom } from "../../rooms/stubs";
import { listPayouts } from "../../db/payouts";
import { toPayout } from "../../payments/payouts";
import { AdminPayoutListQuery } from "../../protocol/payouts";
import { apiKeyRoutes } from "./api-keys";
import { adminVehicleRoutes } from "./admin-vehicles";
import { adminListRoutes } from "./admin-lists";
import { logJson } from "../../log";

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("/admin/*", requireUser, requireAdmin);
adminRoutes.route("/admin/api-keys", apiKeyRoutes);
adminRoutes.route("/admin", adminVehicleRoutes);
adminRoutes.route("/admin", adminListRoutes);

/**
 * How long the objects that held a banned user's sockets refuse new ones: longer than any
 * Worker isolate trusts its last look at the ban (BAN_CACHE_MS), with a margin for a request
 * that passed that look just before the ban and is still on its way.
 */
const REFUSAL_MARGIN_MS = 60_000;

adminRoutes.post("/admin/users/:id/ban", async (c) => {
  const userId = readId(c);
  const { reason } = await readBody(c, BanBody);
  const actorId = c.get("identity").userId;
  if (userId === actorId) throw badRequest("an operator cannot ban their own account");
  const now = Date.now();
  const change = await banAccount(c.env.DB, userId, actorId, reason, now);
  if (!change.user) throw notFound("user not found");
  if (!change.changed) throw conflict("the account is banned already", { bannedAt: change.user.bannedAt });
  forgetBanLook(userId);
  // The account holder is told by email (a security notice: it cannot be muted), keyed by the ban's time.
  notifyBehind(
    c.executionCtx,
    c.env.NOTIFICATIONS,
    [securityNotification(userId, "ban", String(now), now, null)],
    (err) => logJson("error", { where: "admin.ban", reason: errorReason(err) }),
  );
  // Refresh tokens would outlive the ban's cache and its socket refusals: end every session.
  await revokeUserSessions(c.env, userId, now, `banned: ${reason}`);
  let disconnected: BanResponse["disconnected"];
  try {
    disconnected = await cutOff(c, userId, reason, now);
  } catch (err) {
    // The ban stands (tokens and logins are refused); the operator sees that closing failed and may ban again after an
    // unban.
    logJson("error", { where: "admin.ban", reason: err instanceof Error ? `${err.name}: ${err.message}` : typeof err });
    disconnected = { objects: 0, failed: 1 };
  }
  const body: BanResponse = { user: change.user, audit: change.audit, disconnected };
  return c.json(body);
});

/** Closes the banned user's sockets and streams everywhere, and takes a driver off the road. */
async function cutOff(c: AppContext, userId: string, reason: string, now: number) {
  const refuseNewUntil = now + c.get("config").BAN_CACHE_MS + REFUSAL_MARGIN_MS;
  const { objects, failed } = await disconnectUser(c.env, userId, CloseCode.banned, "banned", { refuseNewUntil });
  const suspended = await suspendDriver(c.env, userId, c.get("identity").userId, reason);
  if (suspended.cancelled) {
    // The ban ended a trip in progress: that is an operator's cancel too, and is recorded as one.
    await writeAudit(c.env.DB, {
      at: Date.now(),
      actorId: c.get("identity").userId,
      action: "trip.cancel",
      target: { kind: "trip", id: suspended.cancelled.id },
      reason: `the driver was banned: ${reason}`,
      details: { from: "in_progress", driverId: userId, riderId: suspended.cancelled.riderId },
    });
  }
  return { objects, failed };
}

adminRoutes.post("/admin/users/:id/unban", async (c) => {
  const userId = readId(c);
  const { reason } = await readBody(c, BanBody);
  const change = await unbanAccount(c.env.DB, userId, c.get("identity").userId, reason, Date.now());
  if (!change.user) throw notFound("user not found");
  if (!change.changed) throw conflict("the account is not banned");
  forgetBanLook(userId);
  const body: BanResponse = { user: change.user, audit: change.audit };
  return c.json(body);
});

adminRoutes.post("/admin/trips/:id/cancel", async (c) => {
  const tripId = readId(c);
  const { reason } = await readBody(c, AdminCancelBody);
  const actorId = c.get("identity").userId;
  const cancelled = unwrap(await tripRoom(c.env, tripId).adminCancel(actorId, reason));
  const audit = await writeAudit(c.env.DB, {
    at: Date.now(),
    actorId,
    action: "trip.cancel",
    target: { kind: "trip", id: tripId },
    reason,
    details: { from: cancelled.from, riderId: cancelled.trip.riderId, driverId: cancelled.driverId },
  });
  const body: AdminCancelResponse = { trip: cancelled.trip, audit };
  return c.json(body);
});

/** A stuck trip (or a driver an operator will not keep on it) goes back to matching without its driver. */
adminRoutes.post("/admin/trips/:id/reassign", async (c) => {
  const tripId = readId(c);
  const { reason } = await readBody(c, AdminReassignBody);
  const actorId = c.get("identity").userId;
  const reassigned = unwrap(await tripRoom(c.env, tripId).adminReassign(actorId, reason));
  const audit = await writeAudit(c.env.DB, {
    at: Date.now(),
    actorId,
    action: "trip.reassign",
    target: { kind: "trip", id: tripId },
    reason,
    details: { from: reassigned.from, riderId: reassigned.trip.riderId, driverId: reassigned.driverId },
  });
  const body: AdminReassignResponse = { trip: reassigned.trip, audit };
  return c.json(body);
});

adminRoutes.post("/admin/trips/:id/refund", async (c) => {
  const tripId = readId(c);
  // Money goes out: a retry must find the first refund, so the key is not optional here.
  const requestKey = readIdempotencyKey(c);
  if (requestKey === undefined) throw badRequest("a refund needs an Idempotency-Key header");
  const body = await readBody(c, RefundBody);
  const actorId = c.get("identity").userId;
  // 404 for an unknown trip; and a charge the trip room has not posted yet is posted first.
  const trip = tripRoom(c.env, tripId);
  unwrap(await trip.settle());
  const { riderId } = unwrap(await trip.status());
  const ledgerKey = tripRefundKey(tripId, requestKey);
  const now = Date.now();
  const outcome = await refundTrip(c.env, { tripId, riderId, requestKey, amount: body.amount }, now);
  if (outcome.status !== "posted" && outcome.status !== "duplicate") throw refusalError(outcome);
  if (outcome.status === "posted") {
    // The ledger is in the rider's partition and the audit log in `DB`: the record follows the
    // posting. Should it be lost between the two, the retry (same key) writes it (below).
    const audit = await writeAudit(c.env.DB, refundAudit(actorId, body.reason, ledgerKey, outcome.refund));
    const answer: RefundResponse = { refund: outcome.refund, audit };
    return c.json(answer, 201);
  }
  // The same key again: the first refund, as it was recorded; or, if its record was lost after
  // the posting, as the ledger has it, recorded now.
  let audit = await findRefundAudit(c.env.DB, tripId, outcome.ledgerKey);
  if (!audit) {
    const posted = await refundFromLedger(c.env, riderId, outcome.ledgerKey, now);
    if (posted) audit = await writeAudit(c.env.DB, refundAudit(actorId, body.reason, ledgerKey, posted));
  }
  const recorded = Refund.safeParse(
    typeof audit?.details === "object" && audit.details !== null && "refund" in audit.details
      ? audit.details.refund
      : undefined,
  );
  if (!audit || !recorded.success)
    throw conflict("this Idempotency-Key was used for a refund that has no readable record");
  // A key names one refund: asked again for another amount, it is a different request (409, as elsewhere).
  const first = recorded.data.amount;
  if (body.amount && (body.amount.amount !== first.amount || body.amount.currency !== first.currency)) {
    throw conflict("this Idempotency-Key was used for a refund of another amount", { refund: recorded.data });
  }
  const answer: RefundResponse = { refund: recorded.data, audit };
  return c.json(answer, 201);
});

/** The audit record of an operator's refund: findRefundAudit finds it by the ledger key. */
function refundAudit(actorId: string, reason: string, ledgerKey: string, refund: Refund) {
  return {
    at: refund.createdAt,
    actorId,
    action: "trip.refund" as const,
    target: { kind: "trip" as const, id: refund.tripId },
    reason,
    details: { ledgerKey, refund },
  };
}

/** The answer to a refund the ledger refused: 409, or 400 for an amount in another currency. */
function refusalError(refusal: Exclude<RefundOutcome, { status: "posted" | "duplicate" }>): ApiError {
  switch (refusal.status) {
    case "not_charged":
      return conflict("nothing was charged for this trip, so there is nothing to refund");
    case "other_currency":
      return badRequest(`the trip was charged in ${refusal.charged.currency}`, { charged: refusal.charged });
    case "refunded_in_full":
      return conflict("the charge is refunded in full already", refusal.standing);
    case "over_refundable":
      return conflict(
        `at most ${refusal.standing.refundable.amount} of the charge is left to refund`,
        refusal.standing,
      );
    case "contended":
      return conflict("the trip's refunds kept changing; try again");
  }
}

adminRoutes.get("/admin/audit", async (c) => {
  const query = readQuery(c, AuditQuery);
  return c.json(await listAudit(c.env.DB, query));
});

/** Payouts across drivers, newest first, by driver and status: for support and for stuck transfers. */
adminRoutes.get("/admin/payouts", async (c) => {
  const query = readQuery(c, AdminPayoutListQuery);
  const rows = await listPayouts(
    c.env,
    {
      ...(query.driverId === undefined ? {} : { driverId: query.driverId }),
      ...(query.status === undefined ? {} : { status: query.status }),
    },
    query.limit,
    query.before,
  );
  const last = rows.at(-1);
  return c.json({
    payouts: rows.map(toPayout),
    nextBefore: rows.length >= query.limit && last ? last.createdAt : null,
  });
});
