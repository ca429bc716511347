// Bindings that exist only in the test runtime (vitest.config.ts adds them).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** migrations-shard/, for every SHARD_n binding. */
    TEST_SHARD_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** A database with DB's schema that tests fill as a lagging read replica of DB. */
    REPLICA_STAND_IN: D1Database;
  }
}
