/**
 * @module http/openapi/safety
 * Trip safety: share my trip (routes/shares.ts), the rider's links and the view a link opens
 * without an account; and SOS (routes/sos.ts).
 */
import { z } from "zod";
import { ShareLink, SharedTripResponse, SosBody, TripAlert } from "../../protocol/safety";
import type { Operation } from "./operation";

export const safetyOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/trips/{id}/share",
    summary:
      "A new share link to the trip (its rider, while it is active); the token is shown this once. " +
      "409 past TRIP_SHARE_MAX_LINKS live links",
    auth: true,
    status: 201,
    response: z.object({ share: ShareLink }),
  },
  {
    method: "delete",
    path: "/v1/trips/{id}/share",
    summary: "Revoke every working share link of the trip (its rider)",
    auth: true,
    status: 200,
    response: z.object({ revoked: z.number().int() }),
  },
  {
    method: "get",
    path: "/v1/shared/{token}",
    summary:
      "The trip a share link opens, without an account: status, the driver's first name, position and ETA; " +
      "410 share_ended once revoked, expired or the trip is over",
    auth: false,
    status: 200,
    response: SharedTripResponse,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/sos",
    summary:
      "Raise an SOS alert with where the caller is (the trip's rider or driver); operators see it in " +
      "GET /v1/ops/alerts. 201, or 200 with the first alert for a repeated Idempotency-Key",
    auth: true,
    body: SosBody,
    status: 201,
    response: z.object({ alert: TripAlert }),
    idempotent: true,
  },
];
