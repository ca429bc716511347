/**
 * @module http/openapi
 * The OpenAPI 3.1 document served at /v1/openapi.json, generated from the same zod schemas
 * the routes validate with, so it cannot drift from what the service accepts.
 */
import { z } from "zod";
import { ErrorBody } from "../protocol/common";
import {
  AddMemberBody,
  AuthResponse,
  CreateRoomBody,
  HealthResponse,
  HistoryResponse,
  LoginBody,
  MeResponse,
  MessageResponse,
  PostMessageBody,
  RegisterBody,
  RoomListResponse,
  RoomResponse,
} from "../protocol/http";

type Operation = {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  summary: string;
  auth: boolean;
  body?: z.ZodType;
  status: number;
  response?: z.ZodType;
  query?: string[];
  idempotent?: boolean;
};

export const operations: Operation[] = [
  { method: "get", path: "/health", summary: "Liveness and version", auth: false, status: 200, response: HealthResponse },
  { method: "get", path: "/v1/openapi.json", summary: "This document", auth: false, status: 200 },
  { method: "post", path: "/v1/auth/register", summary: "Create an account", auth: false, body: RegisterBody, status: 201, response: AuthResponse },
  { method: "post", path: "/v1/auth/login", summary: "Sign in", auth: false, body: LoginBody, status: 200, response: AuthResponse },
  { method: "get", path: "/v1/me", summary: "The caller, with their rating", auth: true, status: 200, response: MeResponse },
  { method: "post", path: "/v1/rooms", summary: "Create a chat room", auth: true, body: CreateRoomBody, status: 201, response: RoomResponse },
  { method: "get", path: "/v1/rooms", summary: "Public rooms and the caller's private rooms", auth: true, status: 200, response: RoomListResponse },
  { method: "post", path: "/v1/rooms/{id}/join", summary: "Join a public room", auth: true, status: 200, response: RoomResponse },
  { method: "post", path: "/v1/rooms/{id}/members", summary: "Add a member (members only)", auth: true, body: AddMemberBody, status: 200, response: RoomResponse },
  { method: "get", path: "/v1/rooms/{id}/messages", summary: "History, newest first", auth: true, status: 200, response: HistoryResponse, query: ["before", "limit"] },
  { method: "post", path: "/v1/rooms/{id}/messages", summary: "Post a message", auth: true, body: PostMessageBody, status: 201, response: MessageResponse, idempotent: true },
  { method: "get", path: "/v1/rooms/{id}/ws", summary: "Room socket (WebSocket upgrade)", auth: true, status: 101, query: ["since", "access_token"] },
];

const schema = (type: z.ZodType) => z.toJSONSchema(type, { io: "input", unrepresentable: "any" });

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters = [
      ...(op.path.match(/\{(\w+)\}/g) ?? []).map((p) => ({ name: p.slice(1, -1), in: "path", required: true, schema: { type: "string" } })),
      ...(op.query ?? []).map((name) => ({ name, in: "query", required: false, schema: { type: "string" } })),
      ...(op.idempotent ? [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 128 } }] : []),
    ];
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      ...(op.auth ? { security: [{ bearer: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: schema(op.body) } } } } : {}),
      responses: {
        [op.status]: { description: "success", ...(op.response ? { content: { "application/json": { schema: schema(op.response) } } } : {}) },
        default: { description: "error", content: { "application/json": { schema: schema(ErrorBody) } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "ridewire", version },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    paths,
  };
}
