// drizzle-kit reads the schema and writes flat NNNN_name.sql migrations that wrangler and the
// test setup apply (`npm run db:generate -- --name what_changed`).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
