/**
 * @module http/openapi/admin
 * Admin actions (routes/admin.ts): bans, forced cancels, refunds and the audit log.
 */
import {
  AdminCancelBody,
  AdminCancelResponse,
  AdminReassignBody,
  AdminReassignResponse,
  AuditListResponse,
  BanBody,
  BanResponse,
  RefundBody,
  RefundResponse,
} from "../../protocol/admin";
import type { Operation } from "./operation";

export const adminOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/admin/users/{id}/ban",
    summary:
      "Ban an account (admins): no login or token; its sockets and streams close (4004); " +
      "a driver goes offline and loses any offer",
    auth: true,
    body: BanBody,
    status: 200,
    response: BanResponse,
  },
  {
    method: "post",
    path: "/v1/admin/users/{id}/unban",
    summary: "Lift a ban (admins)",
    auth: true,
    body: BanBody,
    status: 200,
    response: BanResponse,
  },
  {
    method: "post",
    path: "/v1/admin/trips/{id}/cancel",
    summary:
      "Force-cancel a trip from any status not over, in progress too (admins): no fee, hold released, driver freed",
    auth: true,
    body: AdminCancelBody,
    status: 200,
    response: AdminCancelResponse,
  },
  {
    method: "post",
    path: "/v1/admin/trips/{id}/reassign",
    summary: "Take an accepted or arrived trip from its driver and hand it back to matching without them (admins)",
    auth: true,
    body: AdminReassignBody,
    status: 200,
    response: AdminReassignResponse,
  },
  {
    method: "post",
    path: "/v1/admin/trips/{id}/refund",
    summary:
      "Refund a trip's charge, all that is left or `amount` " +
      "(admins; Idempotency-Key required; never more than was charged)",
    auth: true,
    body: RefundBody,
    status: 201,
    response: RefundResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/admin/audit",
    summary: "The audit log of admin actions, newest first (admins); filter by target or actor",
    auth: true,
    status: 200,
    response: AuditListResponse,
    query: ["limit", "before", "targetKind", "targetId", "actorId"],
  },
];
