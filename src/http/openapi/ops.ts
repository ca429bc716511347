/**
 * @module http/openapi/ops
 * The operations view of supply and demand per H3 cell (routes/ops.ts; admins only).
 */
import { OpsCellsResponse } from "../../protocol/ops";
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
];
