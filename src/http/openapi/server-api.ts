/**
 * @module http/openapi/server-api
 * The server publish API (routes/server-api.ts, with an API key) and the operators' routes that
 * make and revoke its keys (routes/api-keys.ts).
 */
import { HistoryResponse } from "../../protocol/http";
import {
  ApiKeyListResponse,
  BroadcastBody,
  BroadcastResponse,
  CreateApiKeyBody,
  CreateApiKeyResponse,
  RevokeApiKeyBody,
  RevokeApiKeyResponse,
  ServerPostBody,
  ServerPostResponse,
} from "../../protocol/server-api";
import type { Operation } from "./operation";

export const apiKeyOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/admin/api-keys",
    summary: "Make a server API key scoped to rooms and to publish/read (admins); the secret is shown once",
    auth: true,
    body: CreateApiKeyBody,
    status: 201,
    response: CreateApiKeyResponse,
  },
  {
    method: "get",
    path: "/v1/admin/api-keys",
    summary: "The server API keys, newest first, revoked ones marked (admins); never their secrets",
    auth: true,
    status: 200,
    response: ApiKeyListResponse,
  },
  {
    method: "delete",
    path: "/v1/admin/api-keys/{id}",
    summary: "Revoke a server API key (admins): its next call is refused",
    auth: true,
    body: RevokeApiKeyBody,
    bodyOptional: true,
    status: 200,
    response: RevokeApiKeyResponse,
  },
];

export const serverOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/server/rooms/{id}/messages",
    summary:
      "Publish into a chat room as a named system sender (API key with publish scope); " +
      "sequenced, stored and notified like a member's message",
    auth: true,
    apiKey: true,
    body: ServerPostBody,
    status: 201,
    response: ServerPostResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/server/rooms/{id}/messages",
    summary: "A chat room's history, newest first (API key with read scope)",
    auth: true,
    apiKey: true,
    status: 200,
    response: HistoryResponse,
    query: ["before", "limit"],
  },
  {
    method: "post",
    path: "/v1/server/broadcast",
    summary: "Publish one message into up to 100 rooms, each checked against the key's scopes; a result per room",
    auth: true,
    apiKey: true,
    body: BroadcastBody,
    status: 200,
    response: BroadcastResponse,
    idempotent: true,
  },
];
