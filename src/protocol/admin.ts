/**
 * @module protocol/admin
 * Bodies and resources of the operators' routes (`/v1/admin/*`): bans, force-cancels, refunds
 * and the audit log that records each of them. Every action takes a required `reason`, which
 * the audit log keeps.
 */
import { z } from "zod";
import { Money, User } from "./common";
import { Trip } from "./dispatch";

export { CLOSE_BANNED } from "./close-codes";

/** Why an operator acted: required, kept in the audit log, shown to nobody else. */
export const AdminReason = z.string().trim().min(3, "give a reason of at least 3 characters").max(500);

export const BanBody = z.object({ reason: AdminReason });
export type BanBody = z.infer<typeof BanBody>;

export const AdminCancelBody = z.object({ reason: AdminReason });
export type AdminCancelBody = z.infer<typeof AdminCancelBody>;

export const RefundBody = z.object({
  reason: AdminReason,
  /** Omitted: whatever of the charge is not refunded yet. */
  amount: Money.refine((m) => m.amount > 0, "amount must be positive").optional(),
});
export type RefundBody = z.infer<typeof RefundBody>;

export const AuditTargetKind = z.enum(["user", "trip", "api_key", "vehicle", "driver_document"]);
export type AuditTargetKind = z.infer<typeof AuditTargetKind>;

export const AuditAction = z.enum([
  "user.ban",
  "user.unban",
  "trip.cancel",
  "trip.reassign",
  "trip.refund",
  "admin.create",
  "api_key.create",
  "api_key.revoke",
  "vehicle.approve",
  "vehicle.reject",
  "document.approve",
  "document.reject",
]);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditRecord = z.object({
  id: z.number().int(),
  at: z.number().int(),
  actorId: z.string(),
  /** One of AuditAction's values (a string here, so a reader never fails on a newer deploy's action). */
  action: z.string(),
  target: z.object({ kind: z.string(), id: z.string() }),
  reason: z.string(),
  details: z.unknown().nullable(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** Ids in a query are bounded like path ids, so a long or odd value never reaches storage. */
const QueryId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an id");

export const AuditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    /** The `nextBefore` of the previous page. */
    before: z.coerce.number().int().min(1).optional(),
    targetKind: AuditTargetKind.optional(),
    targetId: QueryId.optional(),
    actorId: QueryId.optional(),
  })
  .refine((q) => (q.targetKind === undefined) === (q.targetId === undefined), {
    message: "give targetKind and targetId together",
    path: ["targetId"],
  });
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditListResponse = z.object({ records: z.array(AuditRecord), nextBefore: z.number().int().nullable() });
export type AuditListResponse = z.infer<typeof AuditListResponse>;

/** A user as operators see them: with the ban, if any. */
export const AdminUser = User.extend({ bannedAt: z.number().int().nullable(), banReason: z.string().nullable() });
export type AdminUser = z.infer<typeof AdminUser>;

export const BanResponse = z.object({
  user: AdminUser,
  audit: AuditRecord,
  /**
   * How many objects (trip rooms, chat rooms, the driver's session) were asked to close the user's connections, and how
   * many failed to answer.
   */
  disconnected: z.object({ objects: z.number().int(), failed: z.number().int() }).optional(),
});
export type BanResponse = z.infer<typeof BanResponse>;

export const AdminCancelResponse = z.object({ trip: Trip, audit: AuditRecord });
export type AdminCancelResponse = z.infer<typeof AdminCancelResponse>;

/** `POST /v1/admin/trips/:id/reassign`: the operator's reason, as a cancel's. */
export const AdminReassignBody = AdminCancelBody;
export type AdminReassignBody = z.infer<typeof AdminReassignBody>;
/** The trip back in `matching`, and the audit record (`details: { from, riderId, driverId }`, the driver removed). */
export const AdminReassignResponse = AdminCancelResponse;
export type AdminReassignResponse = z.infer<typeof AdminReassignResponse>;

export const Refund = z.object({
  tripId: z.string(),
  amount: Money,
  /** Of the trip's charge: what it was, what is refunded in all (this refund included), what is left. */
  charged: Money,
  refunded: Money,
  refundable: Money,
  /** Taken back from the driver's earnings and from the platform's commission by this refund. */
  driverReversal: Money,
  commissionReversal: Money,
  createdAt: z.number().int(),
});
export type Refund = z.infer<typeof Refund>;

export const RefundResponse = z.object({ refund: Refund, audit: AuditRecord });
export type RefundResponse = z.infer<typeof RefundResponse>;
