/**
 * @module db/schema
 * D1, the system of record. drizzle-kit turns this file into the SQL migrations in
 * migrations/ (`npm run db:generate -- --name what_changed`); never edit those by hand.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Trimmed and lower-cased before it is stored, so the unique index means one account per address. */
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  /** `admin` is never given by registration: `npm run admin -- create EMAIL` promotes an account. */
  role: text("role", { enum: ["rider", "driver", "admin"] }).notNull(),
  passwordHash: text("password_hash").notNull(),
  createdAt: integer("created_at").notNull(),
  /** Set by an operator's ban (null when not banned): no login, no token, no socket. */
  bannedAt: integer("banned_at"),
  banReason: text("ban_reason"),
  /** E.164 (`+` and up to 15 digits), set with `PATCH /v1/me`; where the SMS channel sends. Null: no SMS. */
  phone: text("phone"),
  /**
   * When the holder proved `phone` is theirs with a code sent to it (`POST /v1/me/phone/verify`);
   * null while unverified, and set back to null by every change of number. Only a verified number gets SMS.
   */
  phoneVerifiedAt: integer("phone_verified_at"),
  /**
   * When the user was last connected (rooms/last-seen.ts): written as a connection to a chat room
   * or their channel opens (not again within a minute) and as their last one there closes, never
   * per frame. Null: never connected.
   */
  lastSeenAt: integer("last_seen_at"),
  /**
   * Who may read `lastSeenAt` (`GET /v1/users/:id/presence`); `contacts`: the users they share a
   * direct conversation with.
   */
  lastSeenVisibility: text("last_seen_visibility", { enum: ["everyone", "contacts", "nobody"] })
    .notNull()
    .default("everyone"),
});

/**
 * Codes sent by SMS to prove a phone number, one row per send: an HMAC of the code (never the
 * code), when it expires, and the guesses made at it. A user's newest unused row for their
 * current number is the live code. The rows of the last hour also count the texts each number
 * got, whoever asked (http/routes/phone.ts), so many accounts cannot text one stranger over and over.
 */
export const phoneCodes = sqliteTable(
  "phone_codes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    phone: text("phone").notNull(),
    codeHash: text("code_hash").notNull(),
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [
    index("phone_codes_user_idx").on(t.userId, t.createdAt),
    index("phone_codes_phone_idx").on(t.phone, t.createdAt),
  ],
);

export const rooms = sqliteTable(
  "rooms",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    private: integer("private", { mode: "boolean" }).notNull(),
    /**
     * `direct`: a conversation of exactly two users, whose id is derived from the pair
     * (http/direct-rooms.ts), so there is one per pair; private, with no joins or invites.
     */
    kind: text("kind", { enum: ["group", "direct"] })
      .notNull()
      .default("group"),
    createdBy: text("created_by")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("rooms_public_created_idx").on(t.private, t.createdAt)],
);

export const roomMembers = sqliteTable(
  "room_members",
  {
    roomId: text("room_id")
      .notNull()
      .references(() => rooms.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    joinedAt: integer("joined_at").notNull(),
    /** `owner` (one per room: its creator until a transfer), `admin` or `member`. */
    role: text("role", { enum: ["owner", "admin", "member"] })
      .notNull()
      .default("member"),
    /**
     * The member's read mark (the seq they have read up to), copied behind from the room
     * object, which holds the live one: unread counts are read from here and `messages`.
     */
    readSeq: integer("read_seq").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] }), index("room_members_user_idx").on(t.userId)],
);

/** Users a user blocked: no direct messages from them, and their messages hidden in shared rooms. */
export const userBlocks = sqliteTable(
  "user_blocks",
  {
    blockerId: text("blocker_id")
      .notNull()
      .references(() => users.id),
    blockedId: text("blocked_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index("user_blocks_blocked_idx").on(t.blockedId)],
);

/** Users banned from a room by its owner or an admin: removed, and refused a join until unbanned. */
export const roomBans = sqliteTable(
  "room_bans",
  {
    roomId: text("room_id")
      .notNull()
      .references(() => rooms.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    bannedBy: text("banned_by").notNull(),
    bannedAt: integer("banned_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] })],
);

/**
 * Copied from each room's own log by its outbox; (room_id, seq) makes the copy idempotent. This
 * table and the three below marked "shard" live in the partition databases (db/shard-schema.ts
 * re-exports them, db/shards.ts routes); `DB` keeps its old, empty copies until a later migration
 * drops them, read only by scripts/migrate-to-shards.ts.
 */
export const messages = sqliteTable(
  "messages",
  {
    /** The message's id as the room gave it; nothing looks a row up by it, so it has no index (rows written). */
    id: text("id").notNull(),
    roomId: text("room_id").notNull(),
    seq: integer("seq").notNull(),
    userId: text("user_id").notNull(),
    /** Empty once the message is deleted (a tombstone). */
    text: text("text").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The seq of the message this one replies to, in the same room. */
    replyTo: integer("reply_to"),
    editedAt: integer("edited_at"),
    deletedAt: integer("deleted_at"),
    /**
     * The seq of the newest edit or delete applied to this row: the write-behind applies a
     * change only above it, so a batch copied twice leaves the row as it was.
     */
    changeSeq: integer("change_seq"),
    /** The message's attachments as JSON (protocol/attachments.ts `Attachment[]`); null without any or once deleted. */
    attachments: text("attachments"),
  },
  // (room_id, seq) is the key and the only index: a copied message writes 2 rows (the row and the
  // key), not 3. Not WITHOUT ROWID, which would make it 1: db/shard-move.ts pages tables by rowid.
  (t) => [primaryKey({ columns: [t.roomId, t.seq] })],
);

/** (shard) Reactions on archived messages, one row per user and emoji; copied from the room log like messages. */
export const messageReactions = sqliteTable(
  "message_reactions",
  {
    roomId: text("room_id").notNull(),
    seq: integer("seq").notNull(),
    emoji: text("emoji").notNull(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.seq, t.emoji, t.userId] })],
);

/**
 * Login limits: one counter row per key (`pair:<email>|<ip>`, `ip:<ip>`, `email:<email>`),
 * bumped by a single upsert before a password is checked (src/db/users.ts says why).
 */
export const loginLimits = sqliteTable(
  "login_limits",
  {
    key: text("key").primaryKey(),
    attempts: integer("attempts").notNull(),
    /** Start of the key's current window (pair and IP keys). */
    startedAt: integer("started_at").notNull(),
    lastAt: integer("last_at").notNull(),
    /** An email key waits until then before its next password check (the growing delay). */
    blockedUntil: integer("blocked_until").notNull().default(0),
  },
  (t) => [index("login_limits_last_at_idx").on(t.lastAt)],
);

/** A sign-in and its chain of refresh tokens (a "family"); access tokens carry its id as `sid`. */
export const authSessions = sqliteTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (t) => [index("auth_sessions_user_idx").on(t.userId)],
);

/** Refresh tokens by SHA-256 (never the token itself); a rotated one is kept to detect its reuse. */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => authSessions.id),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    rotatedAt: integer("rotated_at"),
    /** The hash of the token that replaced it; ties a rotation to the row it inserted. */
    replacedBy: text("replaced_by"),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId), index("refresh_tokens_expires_idx").on(t.expiresAt)],
);

/** One rating per side per completed trip; a user's average feeds `/v1/me` and matching. */
export const ratings = sqliteTable(
  "ratings",
  {
    tripId: text("trip_id").notNull(),
    raterId: text("rater_id")
      .notNull()
      .references(() => users.id),
    rateeId: text("ratee_id")
      .notNull()
      .references(() => users.id),
    stars: integer("stars").notNull(),
    comment: text("comment"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tripId, t.raterId] }), index("ratings_ratee_idx").on(t.rateeId)],
);

/** Quotes a rider may turn into a trip until `expiresAt`; `data` holds the quote and its fare rules. */
export const quotes = sqliteTable("quotes", {
  id: text("id").primaryKey(),
  riderId: text("rider_id").notNull(),
  data: text("data", { mode: "json" }).notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/** Trip history, written behind by each trip room's outbox; `data` is the Trip resource. */
export const trips = sqliteTable(
  "trips",
  {
    id: text("id").primaryKey(),
    riderId: text("rider_id").notNull(),
    driverId: text("driver_id"),
    status: text("status").notNull(),
    data: text("data", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("trips_rider_idx").on(t.riderId, t.createdAt), index("trips_driver_idx").on(t.driverId, t.createdAt)],
);

/**
 * The one-active-trip rule: a rider's row exists while they have a trip that is not over. The
 * primary key makes the check and the claim one atomic insert.
 */
export const activeTrips = sqliteTable("active_trips", {
  riderId: text("rider_id").primaryKey(),
  tripId: text("trip_id").notNull(),
  createdAt: integer("created_at").notNull(),
});

/**
 * A rider's upcoming scheduled rides (README, "Scheduled rides"): one row from the request until the
 * trip leaves `scheduled` (its write-behind deletes the row), for `GET /v1/trips/scheduled` and the
 * per-rider limit. The trip object is the record of each ride; this is only the index.
 */
export const scheduledTrips = sqliteTable(
  "scheduled_trips",
  {
    tripId: text("trip_id").primaryKey(),
    riderId: text("rider_id").notNull(),
    pickupAt: integer("pickup_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("scheduled_trips_rider").on(t.riderId, t.pickupAt), index("scheduled_trips_pickup").on(t.pickupAt)],
);

/** `Idempotency-Key` of trip requests: the same key from the same rider returns the same trip. */
export const tripRequests = sqliteTable(
  "trip_requests",
  {
    riderId: text("rider_id").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    tripId: text("trip_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.riderId, t.idempotencyKey] })],
);

/**
 * Where a user's notifications go: Web Push subscriptions (endpoint and the browser's keys),
 * webhooks (URL and the HMAC secret of their signatures, shown to the user only once) and FCM
 * app installs (registration token and platform; a token belongs to one user at most).
 */
export const devices = sqliteTable(
  "devices",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    kind: text("kind", { enum: ["webpush", "webhook", "fcm"] }).notNull(),
    /** The push service's endpoint, the webhook's URL, or the FCM registration token. */
    endpoint: text("endpoint").notNull(),
    /** An FCM device's platform (its message carries an APNs block for `ios`); null for the others. */
    platform: text("platform", { enum: ["android", "ios"] }),
    p256dh: text("p256dh"),
    auth: text("auth"),
    secret: text("secret"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("devices_user_endpoint_idx").on(t.userId, t.endpoint),
    index("devices_endpoint_idx").on(t.endpoint),
    uniqueIndex("devices_fcm_token_idx").on(t.endpoint).where(sql`${t.kind} = 'fcm'`),
  ],
);

/**
 * (shard, by user id) The delivery log. The id is deterministic (room or trip, seq or event, recipient), so a
 * queue message delivered twice finds its row and is not pushed again. `delivered_to` lists
 * the devices that already have it, so a retry after a partial failure skips them; a consumer
 * holds `lease_until` while it delivers, so two consumers never push the same row at once.
 */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    type: text("type", { enum: ["chat_message", "offer", "trip_status", "receipt", "security"] }).notNull(),
    payload: text("payload", { mode: "json" }).notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed", "muted", "rate_limited"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    deliveredTo: text("delivered_to", { mode: "json" }).$type<string[]>().notNull(),
    leaseUntil: integer("lease_until"),
    /** When the user's app first said it showed the notification (`POST /v1/notifications/:id/ack`); null: not yet. */
    ackedAt: integer("acked_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("notifications_user_created_idx").on(t.userId, t.createdAt)],
);

/**
 * Notification types and channels a user has muted: a muted type is logged `muted` and sent on
 * no channel; a muted channel is skipped for every type but security notices. During the quiet
 * hours, non-urgent types wait (notify/routing.ts says which are urgent).
 */
export const notificationPreferences = sqliteTable("notification_preferences", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id),
  muted: text("muted", { mode: "json" }).$type<string[]>().notNull(),
  mutedChannels: text("muted_channels", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  /** `{ start, end, timeZone }` (protocol/notifications QuietHours), or null: none. */
  quietHours: text("quiet_hours", { mode: "json" }),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * (shard, by user id) Each channel's part in one notification (src/notify/routing.ts decides which channels): its
 * attempts and outcome, shown in the user's log. `reserved_at` is set when a channel with an
 * hourly limit (SMS, email) took one of the user's sends for this notification: the limit counts
 * these, and a retry of the same notification reuses its reservation.
 */
export const notificationChannels = sqliteTable(
  "notification_channels",
  {
    notificationId: text("notification_id").notNull(),
    channel: text("channel", { enum: ["fcm", "webpush", "webhook", "email", "sms"] }).notNull(),
    userId: text("user_id").notNull(),
    outcome: text("outcome", {
      enum: ["pending", "delivered", "retrying", "failed", "skipped", "muted", "rate_limited", "not_needed"],
    }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    reservedAt: integer("reserved_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.notificationId, t.channel] }),
    index("notification_channels_user_reserved_idx").on(t.userId, t.channel, t.reservedAt),
  ],
);

/**
 * The payments ledger as `DB` held it before it moved to each user's partition (db/shard-schema.ts):
 * nothing writes or reads these tables now but scripts/migrate-to-shards.ts, which moves what a
 * deployment had here. (src/domain/ledger-entries.ts has the accounts and rules.) An account is
 * a wallet, the money a wallet has on hold, a rider's receivable, a driver's earnings, a driver's
 * payout in transit, the platform's revenue or a provider's clearing account; its id says which
 * (`wallet:<userId>`, …).
 */
export const ledgerAccounts = sqliteTable("ledger_accounts", {
  id: text("id").primaryKey(),
  kind: text("kind", {
    enum: ["wallet", "hold", "receivable", "earnings", "payout", "platform", "clearing"],
  }).notNull(),
  /** The user the account belongs to; null for the platform's and the providers' accounts. */
  ownerId: text("owner_id"),
  createdAt: integer("created_at").notNull(),
});

/**
 * One posting. The idempotency key (`topup:<id>`, `trip:<id>:hold`, …) is unique, so a retried
 * request, a redelivered message or a replayed webhook finds its entry and posts nothing.
 * Entries and lines are never updated or deleted (triggers in 0004 refuse it; since 0025 a
 * delete is let through only to the shard move, while it holds `ledger_move_lock`): a correction is
 * a reversing entry. `data` keeps what a receipt or an earnings report needs.
 */
export const journalEntries = sqliteTable(
  "journal_entries",
  {
    id: text("id").primaryKey(),
    idempotencyKey: text("idempotency_key").notNull().unique(),
    kind: text("kind", {
      enum: ["top_up", "hold", "release", "capture", "fee", "refund", "tip", "payout", "payout_paid", "payout_failed"],
    }).notNull(),
    tripId: text("trip_id"),
    data: text("data", { mode: "json" }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("journal_entries_trip_idx").on(t.tripId)],
);

/** The lines of an entry sum to zero per currency; an account's balance is the sum of its lines. */
export const journalLines = sqliteTable(
  "journal_lines",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    entryId: text("entry_id")
      .notNull()
      .references(() => journalEntries.id),
    accountId: text("account_id")
      .notNull()
      .references(() => ledgerAccounts.id),
    /** Signed minor units: positive adds to the account. */
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("journal_lines_account_idx").on(t.accountId, t.currency, t.createdAt),
    index("journal_lines_entry_idx").on(t.entryId),
  ],
);

/** A rider's top-up with the provider: `pending` until the provider confirms it, then `succeeded`. */
export const topUps = sqliteTable(
  "top_ups",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    idempotencyKey: text("idempotency_key").notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    provider: text("provider").notNull(),
    /** The provider's id for it (a Stripe PaymentIntent id). */
    providerRef: text("provider_ref"),
    clientSecret: text("client_secret"),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("top_ups_user_key_idx").on(t.userId, t.idempotencyKey),
    index("top_ups_provider_ref_idx").on(t.providerRef),
  ],
);

/**
 * What operators did: one row per admin action, written in the same D1 batch as the action's
 * own effect where the effect lives in D1. Append-only (triggers in 0007 refuse edits); the id
 * grows with every row, so it orders the log and pages it.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    actorId: text("actor_id")
      .notNull()
      .references(() => users.id),
    action: text("action").notNull(),
    targetKind: text("target_kind").notNull(),
    targetId: text("target_id").notNull(),
    reason: text("reason").notNull(),
    details: text("details", { mode: "json" }),
  },
  (t) => [
    index("audit_log_target_idx").on(t.targetKind, t.targetId, t.id),
    index("audit_log_actor_idx").on(t.actorId, t.id),
  ],
);

/**
 * What a rider did with trips lately, for the request limits (domain/request-limits): a
 * `request` row per trip that got its hold, a `cancel` row per trip the rider cancelled. Keyed
 * by trip and kind, so a retried write records nothing twice.
 */
export const riderActivity = sqliteTable(
  "rider_activity",
  {
    tripId: text("trip_id").notNull(),
    kind: text("kind", { enum: ["request", "cancel"] }).notNull(),
    riderId: text("rider_id").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tripId, t.kind] }), index("rider_activity_rider_idx").on(t.riderId, t.kind, t.at)],
);

/**
 * SOS alerts a trip's rider or driver raised (README, "Safety"), with where they were: the
 * operations view lists the open ones first. Written at once (never behind an outbox): an
 * alert must not wait. `idempotency_key` makes a retried alert the same row.
 */
export const tripAlerts = sqliteTable(
  "trip_alerts",
  {
    id: text("id").primaryKey(),
    tripId: text("trip_id").notNull(),
    raisedBy: text("raised_by").notNull(),
    role: text("role", { enum: ["rider", "driver"] }).notNull(),
    lat: real("lat").notNull(),
    lng: real("lng").notNull(),
    note: text("note"),
    idempotencyKey: text("idempotency_key"),
    createdAt: integer("created_at").notNull(),
    /** Set when an operator has taken the alert in hand. */
    acknowledgedAt: integer("acknowledged_at"),
    acknowledgedBy: text("acknowledged_by"),
  },
  (t) => [
    index("trip_alerts_open_idx").on(t.acknowledgedAt, t.createdAt),
    index("trip_alerts_trip_idx").on(t.tripId, t.createdAt),
    uniqueIndex("trip_alerts_idempotency_idx").on(t.raisedBy, t.tripId, t.idempotencyKey),
  ],
);

/**
 * API keys for backends that publish into chat rooms (`/v1/server/*`, README "Server publish
 * API"), made by an operator. The secret is never stored: only the SHA-256 of it (hex), which a
 * request's key is hashed and compared against. `scopes` is the JSON of ApiKeyScopes (rooms by
 * exact id or `prefix*`, and `publish`/`read`). A revoked key keeps its row (listings, the audit).
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    secretHash: text("secret_hash").notNull(),
    scopes: text("scopes", { mode: "json" }).notNull(),
    createdBy: text("created_by")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedBy: text("revoked_by"),
  },
  (t) => [index("api_keys_created_idx").on(t.createdAt)],
);

/**
 * Every cancel of a trip with its reason (README, "Cancellation reasons"): by the rider (the trip
 * ends), by the driver (the trip goes back to matching, so a trip may have several) or by an
 * operator (`admin`). Operators list and count them by code. Keyed by trip, canceller and time, so
 * a repeated write records nothing twice.
 */
export const tripCancellations = sqliteTable(
  "trip_cancellations",
  {
    tripId: text("trip_id").notNull(),
    by: text("by", { enum: ["rider", "driver", "admin", "system"] }).notNull(),
    userId: text("user_id").notNull(),
    reasonCode: text("reason_code"),
    note: text("note"),
    fee: integer("fee"),
    at: integer("at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tripId, t.userId, t.at] }),
    index("trip_cancellations_at_idx").on(t.at),
    index("trip_cancellations_code_idx").on(t.reasonCode, t.at),
  ],
);

/**
 * Where a driver's payouts go: their connected account at the payment provider (a Stripe
 * Connect `acct_…` id), set with `PUT /v1/drivers/me/payout-account`. One account belongs to one
 * driver (unique), so nobody can point their payouts at an account another driver registered.
 */
export const payoutAccounts = sqliteTable("payout_accounts", {
  driverId: text("driver_id")
    .primaryKey()
    .references(() => users.id),
  accountId: text("account_id").notNull().unique(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * A payout of a driver's earnings (db/payouts.ts, README "Payouts"): `pending` from the moment
 * its `payout` ledger entry moves the money into transit (the row is written in the same batch),
 * then `paid` or `failed` with the entry that settles it. The provider is called with the
 * Idempotency-Key `payout-<id>` on every attempt, so a retry after a crash never pays twice; the
 * reconciliation cron retries the pending ones. At most one pending payout per driver (the
 * partial unique index), and one payout per (driver, request key).
 */
export const payouts = sqliteTable(
  "payouts",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    /** The driver's Idempotency-Key, or `scheduled:<time>` for the scheduled run that made it. */
    idempotencyKey: text("idempotency_key").notNull(),
    trigger: text("trigger", { enum: ["request", "scheduled"] }).notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    provider: text("provider").notNull(),
    /** The connected account when the payout was made: a later change does not redirect it. */
    destination: text("destination").notNull(),
    status: text("status", { enum: ["pending", "paid", "failed"] }).notNull(),
    /** The provider's id for the transfer (`tr_…`), once it answered. */
    providerRef: text("provider_ref"),
    /** Why the provider refused it (failed), or why the last attempt did not finish (pending). */
    failure: text("failure"),
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("payouts_driver_key_idx").on(t.driverId, t.idempotencyKey),
    uniqueIndex("payouts_one_pending_idx").on(t.driverId).where(sql`${t.status} = 'pending'`),
    index("payouts_driver_created_idx").on(t.driverId, t.createdAt),
    index("payouts_status_updated_idx").on(t.status, t.updatedAt),
  ],
);

/**
 * A driver's vehicles (db/vehicles.ts, README "Drivers and vehicles"): `pending` until an
 * operator approves or rejects it, with the reason. A plate belongs to one vehicle that is not
 * rejected (the partial unique index on its letters and digits), so nobody registers a car that
 * another driver's approved or pending vehicle already is.
 */
export const vehicles = sqliteTable(
  "vehicles",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    make: text("make").notNull(),
    model: text("model").notNull(),
    colour: text("colour").notNull(),
    plate: text("plate").notNull(),
    /** The plate's letters and digits alone: `AB-12 CD` and `AB12CD` are one plate. */
    plateKey: text("plate_key").notNull(),
    seats: integer("seats").notNull(),
    tier: text("tier").notNull(),
    status: text("status", { enum: ["pending", "approved", "rejected"] }).notNull(),
    reviewReason: text("review_reason"),
    reviewedBy: text("reviewed_by"),
    reviewedAt: integer("reviewed_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("vehicles_driver_idx").on(t.driverId, t.createdAt),
    uniqueIndex("vehicles_live_plate_idx").on(t.plateKey).where(sql`${t.status} != 'rejected'`),
  ],
);

/**
 * The papers a driver uploads for review, their bytes in R2 under `key` (README "Drivers and
 * vehicles"): a licence, or a vehicle's registration or insurance. `awaiting_upload` from the
 * grant until the upload passes its checks (`pending` review) or is refused (`upload_failed`);
 * an operator then approves or rejects it with a reason.
 */
export const driverDocuments = sqliteTable(
  "driver_documents",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    vehicleId: text("vehicle_id").references(() => vehicles.id),
    kind: text("kind", { enum: ["licence", "registration", "insurance", "photo"] }).notNull(),
    key: text("key").notNull().unique(),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size"),
    status: text("status", {
      enum: ["awaiting_upload", "uploading", "pending", "approved", "rejected", "upload_failed"],
    }).notNull(),
    reviewReason: text("review_reason"),
    reviewedBy: text("reviewed_by"),
    reviewedAt: integer("reviewed_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("driver_documents_driver_idx").on(t.driverId, t.createdAt),
    index("driver_documents_vehicle_idx").on(t.vehicleId, t.kind),
  ],
);
