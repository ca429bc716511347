/**
 * @module protocol/server-api
 * The server publish API (README, "Server publish API"): the API keys operators make for
 * backends (`/v1/admin/api-keys`), and the bodies and answers of the routes those keys call
 * (`/v1/server/*`). A key is scoped to rooms (by exact id, or by a prefix ending in `*`) and to
 * actions (`publish`, `read`); what a key may do is decided by domain/api-key-scopes.ts.
 */
import { z } from "zod";
import { Message, MessageText } from "./common";
import { AuditRecord } from "./admin";

/** What a key may do in the rooms its scopes name. */
export const ApiKeyAction = z.enum(["publish", "read"]);
export type ApiKeyAction = z.infer<typeof ApiKeyAction>;

/** At most this many room patterns per key: a key for every room of a tenant is a prefix, not a list. */
export const MAX_ROOM_PATTERNS = 50;

/**
 * A room pattern: a room id (`room_abc`: that room only), a prefix of ids ending in `*`
 * (`support:*`: every room whose id starts with `support:`), or `*` alone (every room). The
 * star is only ever last, so `room_abc` never matches `room_abcd`.
 */
export const RoomPattern = z
  .string()
  .regex(/^[A-Za-z0-9_:.-]{0,64}\*?$/, "a room id, or a prefix of ids followed by *")
  .refine((p) => p.length > 0, "a room pattern must not be empty");
export type RoomPattern = z.infer<typeof RoomPattern>;

export const ApiKeyScopes = z.object({
  rooms: z.array(RoomPattern).min(1).max(MAX_ROOM_PATTERNS),
  actions: z
    .array(ApiKeyAction)
    .min(1)
    .max(2)
    .refine((a) => new Set(a).size === a.length, "each action once"),
});
export type ApiKeyScopes = z.infer<typeof ApiKeyScopes>;

/** A key's label, shown in listings and the audit: who it was made for. */
const KeyName = z.string().trim().min(1).max(100);

export const CreateApiKeyBody = z.object({
  name: KeyName,
  scopes: ApiKeyScopes,
  /** Kept in the audit log; defaults to a line naming the key. */
  reason: z.string().trim().min(3).max(500).optional(),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const RevokeApiKeyBody = z.object({ reason: z.string().trim().min(3).max(500).optional() });
export type RevokeApiKeyBody = z.infer<typeof RevokeApiKeyBody>;

/** A key as listings show it: never its secret, which exists only in the creation's answer. */
export const ApiKey = z.object({
  id: z.string(),
  name: z.string(),
  scopes: ApiKeyScopes,
  createdBy: z.string(),
  createdAt: z.number().int(),
  revokedAt: z.number().int().nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

export const CreateApiKeyResponse = z.object({
  apiKey: ApiKey,
  /** `rwk_<key id>_<secret>`: shown this once; ridewire keeps only its hash. */
  secret: z.string(),
  audit: AuditRecord,
});
export type CreateApiKeyResponse = z.infer<typeof CreateApiKeyResponse>;

export const ApiKeyListResponse = z.object({ apiKeys: z.array(ApiKey) });
export type ApiKeyListResponse = z.infer<typeof ApiKeyListResponse>;

export const RevokeApiKeyResponse = z.object({ apiKey: ApiKey, audit: AuditRecord });
export type RevokeApiKeyResponse = z.infer<typeof RevokeApiKeyResponse>;

/**
 * The name a server's message is shown under: lower-case letters, digits and `-`, starting
 * with a letter, at most 32 characters. No `_`, so it can never read as an id (`usr_…`): a
 * backend cannot pass its message off as a user's. The message's `userId` is `system:<sender>`
 * (`systemUserId`): no user id has a colon, so a client tells a server's message by that prefix.
 */
export const SystemSender = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, "1 to 32 lower-case letters, digits and -, starting with a letter");
export type SystemSender = z.infer<typeof SystemSender>;

/** The `userId` of a message a server published as `sender`: no user id has a colon. */
const SYSTEM_PREFIX = "system:";
export const systemUserId = (sender: SystemSender) => `${SYSTEM_PREFIX}${sender}`;

/** Whether a message's `userId` is a server's (`systemUserId`) rather than a member's. */
export const isSystemUserId = (userId: string) => userId.startsWith(SYSTEM_PREFIX);

export const ServerPostBody = z.object({
  sender: SystemSender,
  text: MessageText,
  /** An idempotency key in the body, for clients that cannot set the Idempotency-Key header; same rules. */
  id: z.string().min(1).max(128).optional(),
});
export type ServerPostBody = z.infer<typeof ServerPostBody>;

/** At most this many rooms in one broadcast. */
export const MAX_BROADCAST_ROOMS = 100;

export const BroadcastBody = z.object({
  rooms: z
    .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a room id"))
    .min(1)
    .max(MAX_BROADCAST_ROOMS)
    .refine((r) => new Set(r).size === r.length, "each room once"),
  sender: SystemSender,
  text: MessageText,
});
export type BroadcastBody = z.infer<typeof BroadcastBody>;

export const ServerPostResponse = z.object({ message: Message });
export type ServerPostResponse = z.infer<typeof ServerPostResponse>;

/** One room's outcome in a broadcast: its message, or the error it would have answered alone. */
export const BroadcastResult = z.union([
  z.object({ roomId: z.string(), status: z.literal(201), message: Message }),
  z.object({
    roomId: z.string(),
    status: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type BroadcastResult = z.infer<typeof BroadcastResult>;

export const BroadcastResponse = z.object({
  results: z.array(BroadcastResult),
  posted: z.number().int(),
  failed: z.number().int(),
});
export type BroadcastResponse = z.infer<typeof BroadcastResponse>;
