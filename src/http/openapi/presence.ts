/**
 * @module http/openapi/presence
 * Operations of routes/presence.ts: a user's last seen, and the caller's privacy setting for theirs.
 */
import { PresenceResponse, PrivacyBody, PrivacyResponse } from "../../protocol/http";
import type { Operation } from "./operation";

export const presenceOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/users/{id}/presence",
    summary:
      "When a user was last seen, as their privacy setting lets the caller see it (null otherwise); " +
      "the caller's own always",
    auth: true,
    status: 200,
    response: PresenceResponse,
  },
  {
    method: "get",
    path: "/v1/me/privacy",
    summary: "The caller's privacy settings",
    auth: true,
    status: 200,
    response: PrivacyResponse,
  },
  {
    method: "put",
    path: "/v1/me/privacy",
    summary: "Who sees the caller's last seen: everyone, contacts (who share a direct conversation) or nobody",
    auth: true,
    body: PrivacyBody,
    status: 200,
    response: PrivacyResponse,
  },
];
