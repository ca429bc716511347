/**
 * @module db/shard-schema
 * The schema of every partition database (src/db/shards.ts routes to them): the chat archive,
 * keyed by room id; the notification log with its channels, and the sign-in sessions with their
 * refresh tokens, keyed by user id. drizzle-kit reads this file (drizzle-shard.config.ts) and
 * writes migrations-shard/, applied to each shard.
 *
 * The archive and notification tables are the ones src/db/schema.ts defines, re-exported, so the
 * directory database's old copies (read only by scripts/migrate-to-shards.ts, until a later
 * migration drops them) and the shards' tables cannot drift apart column by column. The session
 * tables differ from `DB`'s: no foreign key to `users` (that table is in `DB`), and each refresh
 * token names its user, the key a shard move routes it by.
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export { messageReactions, messages, notificationChannels, notifications } from "./schema";

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
 * When each user was last seen (rooms/last-seen.ts writes it as their connections open and close,
 * db/presence.ts reads it). `DB`'s `users.last_seen_at` keeps what was written before this table,
 * read beside it until every user has written here.
 */
export const lastSeen = sqliteTable("last_seen", {
  userId: text("user_id").primaryKey(),
  at: integer("at").notNull(),
});
