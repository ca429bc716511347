/**
 * @module http/openapi
 * The OpenAPI 3.1 document served at /v1/openapi.json, generated from the same zod schemas
 * the routes validate with, so it cannot drift from what the service accepts.
 */
import { z } from "zod";
import {
  AdminCancelBody,
  AdminCancelResponse,
  AuditListResponse,
  BanBody,
  BanResponse,
  RefundBody,
  RefundResponse,
} from "../protocol/admin";
import { ErrorBody } from "../protocol/common";
import {
  CancelBody,
  Driver,
  LocationBody,
  OnlineBody,
  Quote,
  QuoteBody,
  RatingBody,
  Trip,
  TripRequestBody,
} from "../protocol/dispatch";
import {
  AddMemberBody,
  AuthResponse,
  CreateRoomBody,
  HealthResponse,
  HistoryResponse,
  LoginBody,
  LogoutBody,
  LogoutResponse,
  MeResponse,
  MessageResponse,
  PostMessageBody,
  RefreshBody,
  RegisterBody,
  RoomListResponse,
  RoomMembersResponse,
  RoomResponse,
} from "../protocol/http";
import {
  DeviceBody,
  DeviceListResponse,
  DeviceResponse,
  NotificationListResponse,
  PreferencesBody,
  PreferencesResponse,
  PushKeyResponse,
} from "../protocol/notifications";
import { OpsCellsResponse } from "../protocol/ops";
import {
  EarningsResponse,
  ReceiptResponse,
  TopUpBody,
  TopUpResponse,
  TransactionListResponse,
  WalletResponse,
} from "../protocol/payments";

type Operation = {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  summary: string;
  auth: boolean;
  body?: z.ZodType;
  /** The route reads an empty body as `{}` (readOptionalBody). */
  bodyOptional?: boolean;
  status: number;
  response?: z.ZodType;
  query?: string[];
  idempotent?: boolean;
  /** Answers a Server-Sent Events stream (and honours `Last-Event-ID`) rather than JSON. */
  sse?: boolean;
};

const DriverResponse = z.object({ driver: Driver });
/** Frames are those of the room's socket; see docs/API.md. */
const PollResponse = z.object({ events: z.array(z.looseObject({ type: z.string() })), seq: z.number().int() });
const TripResponse = z.object({ trip: Trip });

export const operations: Operation[] = [
  {
    method: "get",
    path: "/health",
    summary: "Liveness and version",
    auth: false,
    status: 200,
    response: HealthResponse,
  },
  { method: "get", path: "/v1/openapi.json", summary: "This document", auth: false, status: 200 },
  {
    method: "post",
    path: "/v1/auth/register",
    summary: "Create an account",
    auth: false,
    body: RegisterBody,
    status: 201,
    response: AuthResponse,
  },
  {
    method: "post",
    path: "/v1/auth/login",
    summary: "Sign in",
    auth: false,
    body: LoginBody,
    status: 200,
    response: AuthResponse,
  },
  {
    method: "post",
    path: "/v1/auth/refresh",
    summary: "Trade a refresh token (once) for a new access token and refresh token; a reused one ends its session",
    auth: false,
    body: RefreshBody,
    status: 200,
    response: AuthResponse,
  },
  {
    method: "post",
    path: "/v1/auth/logout",
    summary: "End the caller's session, or with all: true every session of theirs",
    auth: true,
    body: LogoutBody,
    bodyOptional: true,
    status: 200,
    response: LogoutResponse,
  },
  {
    method: "get",
    path: "/v1/me",
    summary: "The caller, with their rating",
    auth: true,
    status: 200,
    response: MeResponse,
  },
  {
    method: "post",
    path: "/v1/rooms",
    summary: "Create a chat room",
    auth: true,
    body: CreateRoomBody,
    status: 201,
    response: RoomResponse,
  },
  {
    method: "get",
    path: "/v1/rooms",
    summary: "Public rooms and the caller's private rooms",
    auth: true,
    status: 200,
    response: RoomListResponse,
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/join",
    summary: "Join a public room",
    auth: true,
    status: 200,
    response: RoomResponse,
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/members",
    summary: "Add a member (members only)",
    auth: true,
    body: AddMemberBody,
    status: 200,
    response: RoomResponse,
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/members",
    summary: "Members with their names (members only)",
    auth: true,
    status: 200,
    response: RoomMembersResponse,
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/messages",
    summary: "History, newest first",
    auth: true,
    status: 200,
    response: HistoryResponse,
    query: ["before", "limit"],
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/messages",
    summary: "Post a message",
    auth: true,
    body: PostMessageBody,
    status: 201,
    response: MessageResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/ws",
    summary: "Room socket (WebSocket upgrade)",
    auth: true,
    status: 101,
    query: ["since", "access_token"],
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/events",
    summary: "Room events as Server-Sent Events (id = seq; resumes from Last-Event-ID)",
    auth: true,
    status: 200,
    query: ["since", "access_token"],
    sse: true,
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/poll",
    summary: "Long poll: { events, seq } after since, waiting up to timeout (0..30) s",
    auth: true,
    status: 200,
    response: PollResponse,
    query: ["since", "timeout", "access_token"],
  },
  {
    method: "get",
    path: "/v1/drivers/me",
    summary: "The calling driver's session",
    auth: true,
    status: 200,
    response: DriverResponse,
  },
  {
    method: "post",
    path: "/v1/drivers/me/online",
    summary: "Go online at a location (drivers)",
    auth: true,
    body: OnlineBody,
    status: 200,
    response: DriverResponse,
  },
  {
    method: "post",
    path: "/v1/drivers/me/offline",
    summary: "Go offline; 409 while on a trip (drivers)",
    auth: true,
    status: 200,
    response: DriverResponse,
  },
  {
    method: "get",
    path: "/v1/drivers/me/ws",
    summary: "Driver channel socket (WebSocket upgrade)",
    auth: true,
    status: 101,
    query: ["since", "access_token"],
  },
  {
    method: "get",
    path: "/v1/drivers/me/events",
    summary: "Driver channel as Server-Sent Events (offers, offer.expired, trip), for networks that break WebSockets",
    auth: true,
    status: 200,
    query: ["access_token"],
    sse: true,
  },
  {
    method: "post",
    path: "/v1/drivers/me/location",
    summary: "A location fix over HTTP, checked like the channel's location frame",
    auth: true,
    body: LocationBody,
    status: 200,
    response: z.object({ accepted: z.literal(true) }),
  },
  {
    method: "post",
    path: "/v1/quotes",
    summary: "Price a ride (riders)",
    auth: true,
    body: QuoteBody,
    status: 201,
    response: z.object({ quote: Quote }),
  },
  {
    method: "post",
    path: "/v1/trips",
    summary:
      "Request a trip (riders); 429 rate_limited with Retry-After beyond the request limit or in a cancel cool-down",
    auth: true,
    body: TripRequestBody,
    status: 201,
    response: TripResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/trips",
    summary: "The caller's trips, newest first",
    auth: true,
    status: 200,
    response: z.object({ trips: z.array(Trip) }),
    query: ["limit", "before"],
  },
  {
    method: "get",
    path: "/v1/trips/{id}",
    summary: "One trip (its rider or driver)",
    auth: true,
    status: 200,
    response: TripResponse,
  },
  ...(["accept", "decline", "arrived", "start", "complete"] as const).map((action) => ({
    method: "post" as const,
    path: `/v1/trips/{id}/${action}`,
    summary: `Driver action: ${action}`,
    auth: true,
    status: 200,
    response: TripResponse,
  })),
  {
    method: "post",
    path: "/v1/trips/{id}/cancel",
    summary: "Cancel (rider, before the ride starts; 409 once in progress), or hand the trip back (driver)",
    auth: true,
    body: CancelBody,
    bodyOptional: true,
    status: 200,
    response: TripResponse,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/rating",
    summary: "Rate the other party after completion",
    auth: true,
    body: RatingBody,
    status: 201,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/messages",
    summary: "Post to the trip chat",
    auth: true,
    body: PostMessageBody,
    status: 201,
    response: MessageResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/trips/{id}/ws",
    summary: "Trip room socket (WebSocket upgrade)",
    auth: true,
    status: 101,
    query: ["since", "access_token"],
  },
  {
    method: "get",
    path: "/v1/trips/{id}/events",
    summary: "Trip events as Server-Sent Events (id = seq; resumes from Last-Event-ID)",
    auth: true,
    status: 200,
    query: ["since", "access_token"],
    sse: true,
  },
  {
    method: "get",
    path: "/v1/trips/{id}/poll",
    summary: "Long poll: { events, seq } after since, waiting up to timeout (0..30) s",
    auth: true,
    status: 200,
    response: PollResponse,
    query: ["since", "timeout", "access_token"],
  },
  {
    method: "get",
    path: "/v1/devices/webpush-key",
    summary: "The VAPID public key for Web Push subscriptions (null when off)",
    auth: true,
    status: 200,
    response: PushKeyResponse,
  },
  {
    method: "post",
    path: "/v1/devices",
    summary: "Register a Web Push subscription or a webhook (its secret is shown once)",
    auth: true,
    body: DeviceBody,
    status: 201,
    response: DeviceResponse,
  },
  {
    method: "get",
    path: "/v1/devices",
    summary: "The caller's devices",
    auth: true,
    status: 200,
    response: DeviceListResponse,
  },
  {
    method: "delete",
    path: "/v1/devices/{id}",
    summary: "Remove one of the caller's devices",
    auth: true,
    status: 204,
  },
  {
    method: "get",
    path: "/v1/notifications",
    summary: "The caller's notifications with delivery status, newest first",
    auth: true,
    status: 200,
    response: NotificationListResponse,
    query: ["limit"],
  },
  {
    method: "get",
    path: "/v1/me/preferences",
    summary: "The caller's notification preferences",
    auth: true,
    status: 200,
    response: PreferencesResponse,
  },
  {
    method: "patch",
    path: "/v1/me/preferences",
    summary: "Mute notification types (muted ones are logged, not sent)",
    auth: true,
    body: PreferencesBody,
    status: 200,
    response: PreferencesResponse,
  },
  {
    method: "get",
    path: "/v1/wallet",
    summary: "The caller's wallet: balance, held and available",
    auth: true,
    status: 200,
    response: WalletResponse,
  },
  {
    method: "post",
    path: "/v1/wallet/top-ups",
    summary: "Top the wallet up through the payment provider (riders; Idempotency-Key required)",
    auth: true,
    body: TopUpBody,
    status: 201,
    response: TopUpResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/wallet/transactions",
    summary: "The caller's wallet or earnings lines, newest first",
    auth: true,
    status: 200,
    response: TransactionListResponse,
    query: ["limit", "before"],
  },
  {
    method: "get",
    path: "/v1/trips/{id}/receipt",
    summary: "The receipt of a completed trip or a charged fee (its rider or driver)",
    auth: true,
    status: 200,
    response: ReceiptResponse,
  },
  {
    method: "get",
    path: "/v1/earnings",
    summary: "A driver's earnings over [from, to) (default: the last 7 days)",
    auth: true,
    status: 200,
    response: EarningsResponse,
    query: ["from", "to"],
  },
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
  {
    method: "post",
    path: "/v1/payments/webhook",
    summary: "The payment provider's signed events (Stripe-Signature); 400 on a bad signature",
    auth: false,
    status: 200,
  },
];

const schema = (type: z.ZodType) => z.toJSONSchema(type, { io: "input", unrepresentable: "any" });

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters = [
      ...(op.path.match(/\{(\w+)\}/g) ?? []).map((p) => ({
        name: p.slice(1, -1),
        in: "path",
        required: true,
        schema: { type: "string" },
      })),
      ...(op.query ?? []).map((name) => ({ name, in: "query", required: false, schema: { type: "string" } })),
      ...(op.idempotent
        ? [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 128 } }]
        : []),
      ...(op.sse
        ? [{ name: "Last-Event-ID", in: "header", required: false, schema: { type: "string", pattern: "^[0-9]+$" } }]
        : []),
    ];
    const content = op.sse
      ? { "text/event-stream": { schema: { type: "string" } } }
      : op.response
        ? { "application/json": { schema: schema(op.response) } }
        : undefined;
    const pathItem = paths[op.path] ?? {};
    paths[op.path] = pathItem;
    pathItem[op.method] = {
      summary: op.summary,
      ...(op.auth ? { security: [{ bearer: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: !op.bodyOptional, content: { "application/json": { schema: schema(op.body) } } } }
        : {}),
      responses: {
        [op.status]: { description: "success", ...(content ? { content } : {}) },
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
