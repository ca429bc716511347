/**
 * @module http/openapi/service
 * The routes app.ts answers itself, outside /v1's route groups: liveness, readiness and this document.
 */
import { HealthResponse, ReadinessResponse } from "../../protocol/http";
import type { Operation } from "./operation";

export const serviceOperations: Operation[] = [
  {
    method: "get",
    path: "/health",
    summary: "Liveness and version",
    auth: false,
    status: 200,
    response: HealthResponse,
  },
  {
    method: "get",
    path: "/health/ready",
    summary: "Readiness: each D1 database (DB and every shard) answers; 503 when one does not",
    auth: false,
    status: 200,
    response: ReadinessResponse,
  },
  { method: "get", path: "/v1/openapi.json", summary: "This document", auth: false, status: 200 },
];
