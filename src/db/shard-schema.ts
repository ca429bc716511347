/**
 * @module db/shard-schema
 * The schema of every partition database (src/db/shards.ts routes to them): the chat archive,
 * keyed by room id, and the notification log with its channels, keyed by user id. drizzle-kit
 * reads this file (drizzle-shard.config.ts) and writes migrations-shard/, applied to each shard.
 *
 * The tables are the ones src/db/schema.ts defines, re-exported, so the directory database's old
 * copies (read only by scripts/migrate-to-shards.mjs, until a later migration drops them) and the
 * shards' tables cannot drift apart column by column.
 */
export { messageReactions, messages, notificationChannels, notifications } from "./schema";
