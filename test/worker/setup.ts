// Runs before every worker test file: each file gets its own isolated D1 databases, migrated here:
// the directory database and every partition database SHARD_MAP names (two, so routing is exercised).
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { allShards } from "../../src/db/shards";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
for (const { db } of allShards(env)) await applyD1Migrations(db, env.TEST_SHARD_MIGRATIONS);
