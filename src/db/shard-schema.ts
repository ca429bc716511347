/**
 * @module db/shard-schema
 * The schema of every partition database (src/db/shards.ts routes to them): the chat archive,
 * keyed by room id; the notification log with its channels, the sign-in sessions with their
 * refresh tokens, and each user's money (the ledger's legs, a rider's active trip and their trip
 * requests' idempotency keys), keyed by user id. drizzle-kit reads this file (drizzle-shard.config.ts) and
 * writes migrations-shard/, applied to each shard.
 *
 * The archive and notification tables are the ones src/db/schema.ts defines, re-exported, so the
 * directory database's old copies (read only by scripts/migrate-to-shards.ts, until a later
 * migration drops them) and the shards' tables cannot drift apart column by column. The session
 * tables differ from `DB`'s: no foreign key to `users` (that table is in `DB`), and each refresh
 * token names its user, the key a shard move routes it by.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export { activeTrips, messageReactions, messages, notificationChannels, notifications, tripRequests } from "./schema";

/** A user's sign-in sessions ("families"); revoked ones are kept, since a revocation must stick. */
export const authSessions = sqliteTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
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
    /** No foreign key: a shard move copies sessions and tokens table by table (db/shard-move.ts). */
    sessionId: text("session_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    rotatedAt: integer("rotated_at"),
    /** The hash of the token that replaced it; ties a rotation to the row it inserted. */
    replacedBy: text("replaced_by"),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId), index("refresh_tokens_expires_idx").on(t.expiresAt)],
);

/**
 * Each member's read mark in a chat room, keyed by room like the room's messages beside it: the
 * room copies a mark that moved here with its messages (rooms/read-marks.ts), and the unread counts
 * of `GET /v1/rooms` read it in the same statement as the messages (db/messages.ts). `DB`'s
 * `room_members.read_seq` keeps what was copied before this table, read beside it (the higher one
 * counts), and is no longer written: a read mark is a write per message read in a live room, far past
 * what one directory database takes at scale (docs/SCALE.md).
 */
export const readMarks = sqliteTable(
  "read_marks",
  {
    roomId: text("room_id").notNull(),
    userId: text("user_id").notNull(),
    readSeq: integer("read_seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] })],
);

/**
 * When each user was last seen (rooms/last-seen.ts writes it as their connections open and close,
 * db/presence.ts reads it). `DB`'s `users.last_seen_at` keeps what was written before this table,
 * read beside it until every user has written here.
 */
export const lastSeen = sqliteTable("last_seen", {
  userId: text("user_id").primaryKey(),
  at: integer("at").notNull(),
});

/**
 * The ledger's entries in their owner's partition (domain/ledger-legs): an entry between two people
 * is one leg in each one's shard. `owner_id` is the user whose shard holds the entry, the key a
 * shard move routes it by. As in `DB`, entries and lines are never updated or deleted (triggers in
 * migrations-shard/0005), and the idempotency key is unique, here per shard: a leg's key names its
 * owner, so a key can only ever be posted in one shard.
 */
export const journalEntries = sqliteTable(
  "journal_entries",
  {
    id: text("id").primaryKey(),
    idempotencyKey: text("idempotency_key").notNull().unique(),
    ownerId: text("owner_id").notNull(),
    kind: text("kind", {
      enum: ["top_up", "hold", "release", "capture", "fee", "refund", "tip", "payout", "payout_paid", "payout_failed"],
    }).notNull(),
    tripId: text("trip_id"),
    data: text("data", { mode: "json" }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("journal_entries_trip_idx").on(t.tripId), index("journal_entries_owner_idx").on(t.ownerId)],
);

/**
 * The lines of an entry sum to zero per currency; an account's balance is the sum of its lines in
 * its owner's shard (the platform's, the providers' and the transit account's: the sum over all
 * shards). Each line names its entry's owner, the key a shard move routes it by. No foreign keys: a
 * shard move copies table by table (db/shard-move.ts), and the directory's `ledger_accounts`
 * (metadata nothing read) is not kept here, one row fewer per posting.
 */
export const journalLines = sqliteTable(
  "journal_lines",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    entryId: text("entry_id").notNull(),
    ownerId: text("owner_id").notNull(),
    accountId: text("account_id").notNull(),
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

/**
 * The following legs of entries posted in this shard (domain/ledger-legs), one row each, written in
 * the transaction that posts the first leg: `pending` until the leg is posted in its owner's shard,
 * then `done`. Money on its way sits on the transit account meanwhile; the reconciliation drives
 * any transfer still pending after a grace period (payments/reconcile.ts).
 */
export const ledgerTransfers = sqliteTable(
  "ledger_transfers",
  {
    /** The following leg's idempotency key (`leg:<owner>:<entry key>`, domain/ledger-legs' `legKey`). */
    legKey: text("leg_key").primaryKey(),
    /** The first leg's key, and the user whose shard holds it (this shard's, until a move). */
    entryKey: text("entry_key").notNull(),
    fromOwnerId: text("from_owner_id").notNull(),
    /** The user whose shard the leg is posted in. */
    toOwnerId: text("to_owner_id").notNull(),
    /** The leg as domain/ledger-entries' `Entry`, JSON. */
    leg: text("leg").notNull(),
    status: text("status", { enum: ["pending", "done"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    doneAt: integer("done_at"),
  },
  (t) => [
    index("ledger_transfers_pending_idx").on(t.status, t.createdAt),
    index("ledger_transfers_from_idx").on(t.fromOwnerId),
  ],
);

/**
 * Drivers' payouts, in the driver's partition beside the earnings they take (db/payouts.ts): a
 * payout's row goes in the same transaction as its `payout` entry, and the partial unique index
 * keeps one payout in flight per driver. `DB`'s table of the same name, less its foreign key to
 * `users` (in `DB`).
 */
export const payouts = sqliteTable(
  "payouts",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id").notNull(),
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
    index("payouts_created_idx").on(t.createdAt),
  ],
);

/**
 * Each party's copy of a trip's history (db/trip-history.ts): one row for the rider and one for the
 * assigned driver, each in their own partition, so that a user's history, and the trips a ban must
 * reach, are one query on one shard. `data` is the Trip resource as the trip room last flushed it;
 * `role` says which side `user_id` was on. Written behind every `TRIP_HISTORY_FLUSH_MS`, each row
 * only ever by a newer `updated_at`.
 */
export const tripHistory = sqliteTable(
  "trip_history",
  {
    userId: text("user_id").notNull(),
    tripId: text("trip_id").notNull(),
    role: text("role", { enum: ["rider", "driver", "former_driver"] }).notNull(),
    status: text("status").notNull(),
    data: text("data", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("trip_history_trip_user_idx").on(t.tripId, t.userId),
    index("trip_history_user_created_idx").on(t.userId, t.createdAt, t.tripId),
    // Operators' newest-first list, one row per trip: the rider's.
    index("trip_history_riders_created_idx").on(t.createdAt, t.tripId).where(sql`${t.role} = 'rider'`),
  ],
);
