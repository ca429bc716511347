// drizzle-kit for the partition databases (src/db/shards.ts): reads their schema and writes the
// migrations wrangler applies to every SHARD_n (`npm run db:generate:shard -- --name what_changed`).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/shard-schema.ts",
  out: "./migrations-shard",
});
