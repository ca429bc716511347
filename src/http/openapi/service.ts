/**
 * @module http/openapi/service
 * The routes app.ts answers itself, outside /v1's route groups: liveness and this document.
 */
import { HealthResponse } from "../../protocol/http";
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
  { method: "get", path: "/v1/openapi.json", summary: "This document", auth: false, status: 200 },
];
