/**
 * @module http/openapi/admin-lists
 * Operators' lists of drivers and trips (routes/admin-lists.ts).
 */
import { AdminDriverListResponse, AdminTripListResponse } from "../../protocol/ops-lists";
import type { Operation } from "./operation";

export const adminListOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/admin/drivers",
    summary: "Drivers, newest first (admins); `q` finds part of a name or email, or an id",
    auth: true,
    status: 200,
    response: AdminDriverListResponse,
    query: ["q", "limit", "cursor"],
  },
  {
    method: "get",
    path: "/v1/admin/trips",
    summary: "Trips, newest first (admins); `q` finds a trip id, or its rider's or driver's name, email or id",
    auth: true,
    status: 200,
    response: AdminTripListResponse,
    query: ["q", "status", "limit", "cursor"],
  },
];
