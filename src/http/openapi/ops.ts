/**
 * @module http/openapi/ops
 * The operations view of supply and demand per H3 cell, the SOS alerts, the trips' cancels with their reason codes
 * and the live metrics (routes/ops.ts; admins only).
 */
import { z } from "zod";
import { OpsCancellationsResponse, OpsCellsResponse } from "../../protocol/ops";
import { OpsMetricsResponse } from "../../protocol/ops-metrics";
import { TripAlert } from "../../protocol/safety";
import type { Operation } from "./operation";

export const opsOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/ops/cells",
    summary:
      "Operations view (admins): per H3 cell around lat/lng, " +
      "available drivers, recent requests, surge and active trips (counts only)",
    auth: true,
    status: 200,
    response: OpsCellsResponse,
    query: ["lat", "lng", "rings"],
  },
  {
    method: "get",
    path: "/v1/ops/cancellations",
    summary:
      "Trips' cancels (admins), newest first, filtered by side (by), reasonCode and since, " +
      "with counts per reason code over the side and span",
    auth: true,
    status: 200,
    response: OpsCancellationsResponse,
    query: ["by", "reasonCode", "since", "before", "limit"],
  },
  {
    method: "get",
    path: "/v1/ops/metrics",
    summary:
      "Live metrics (admins): the last few minutes of connections, throughput, errors by code, " +
      "dispatch health per city, notification outcomes and ledger postings",
    auth: true,
    status: 200,
    response: OpsMetricsResponse,
  },
  {
    method: "get",
    path: "/v1/ops/alerts",
    summary: "SOS alerts (admins): the open ones (state=open, default) or all, newest first, paged by before",
    auth: true,
    status: 200,
    response: z.object({ alerts: z.array(TripAlert) }),
    query: ["state", "limit", "before"],
  },
  {
    method: "post",
    path: "/v1/ops/alerts/{id}/ack",
    summary: "Acknowledge an SOS alert (admins); the first acknowledgement stands",
    auth: true,
    status: 200,
    response: z.object({ alert: TripAlert }),
  },
  {
    method: "get",
    path: "/v1/ops/alerts/ws",
    summary: "Operators' live feed of SOS alerts (WebSocket upgrade): an alert frame as each is raised or acknowledged",
    auth: true,
    status: 101,
    query: ["access_token"],
  },
  {
    method: "get",
    path: "/v1/ops/alerts/events",
    summary: "Operators' live feed of SOS alerts as Server-Sent Events",
    auth: true,
    status: 200,
    query: ["access_token"],
    sse: true,
  },
];
