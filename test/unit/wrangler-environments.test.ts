/**
 * wrangler.toml's environments (docs/OPERATIONS.md), read with wrangler's own config reader: each
 * repeats every binding and variable of the top level (wrangler inherits none of them), names
 * resources of its own, and its consumers name the queues the Worker's queue() handler serves
 * (NOTIFY_QUEUE, NOTIFY_DEAD_LETTER_QUEUE), or its notifications would be retried into the DLQ.
 */
import { type Unstable_Config, unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { parseShardMap } from "../../src/db/shards";

const ENVIRONMENTS = ["staging", "production"] as const;
const read = (env?: string): Unstable_Config => unstable_readConfig({ config: "wrangler.toml", env });
const top = read();

const names = (items: readonly { binding?: string; name?: string }[]) =>
  items.map((item) => item.binding ?? item.name).sort();

/** Stand-ins for the secrets docs/OPERATIONS.md has an operator set before the first deploy. */
const SECRETS = { JWT_SECRET: "x".repeat(32), STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: "whsec_x" };

/** What the Worker's config (validated whole) says the queues are called in that environment. */
function queueNames(vars: Record<string, unknown>) {
  const config = loadConfig({ ...vars, ...SECRETS } as unknown as Env);
  return { main: config.NOTIFY_QUEUE, deadLetter: config.NOTIFY_DEAD_LETTER_QUEUE };
}

describe.each(ENVIRONMENTS)("the %s environment", (env) => {
  const config = read(env);

  it("has every binding of the top level", () => {
    expect(names(config.durable_objects.bindings)).toEqual(names(top.durable_objects.bindings));
    expect(names(config.d1_databases)).toEqual(names(top.d1_databases));
    expect(names(config.r2_buckets)).toEqual(names(top.r2_buckets));
    expect(names(config.queues.producers ?? [])).toEqual(names(top.queues.producers ?? []));
    expect(names(config.ratelimits)).toEqual(names(top.ratelimits));
    expect(names(config.analytics_engine_datasets)).toEqual(names(top.analytics_engine_datasets));
    expect(Object.keys(config.vars).sort()).toEqual(expect.arrayContaining(Object.keys(top.vars).sort()));
    expect(config.migrations).toEqual(top.migrations);
    expect(config.triggers).toEqual(top.triggers);
  });

  it("names resources no other environment uses", () => {
    for (const other of [undefined, ...ENVIRONMENTS.filter((e) => e !== env)]) {
      const them = read(other);
      expect(config.name).not.toBe(them.name);
      expect(config.d1_databases[0]?.database_name).not.toBe(them.d1_databases[0]?.database_name);
      expect(config.r2_buckets[0]?.bucket_name).not.toBe(them.r2_buckets[0]?.bucket_name);
      expect(config.analytics_engine_datasets[0]?.dataset).not.toBe(them.analytics_engine_datasets[0]?.dataset);
      expect(config.queues.producers?.[0]?.queue).not.toBe(them.queues.producers?.[0]?.queue);
      const theirNamespaces = new Set(them.ratelimits.map((r) => r.namespace_id));
      for (const limit of config.ratelimits) expect(theirNamespaces.has(limit.namespace_id)).toBe(false);
    }
  });

  it("keeps each rate limit of the top level", () => {
    const byName = new Map(top.ratelimits.map((r) => [r.name, r.simple]));
    for (const limit of config.ratelimits) expect(limit.simple).toEqual(byName.get(limit.name));
  });

  it("consumes the queues its Worker produces to and serves", () => {
    const { main, deadLetter } = queueNames(config.vars);
    expect(config.queues.producers?.map((p) => p.queue)).toEqual([main]);
    const consumers = config.queues.consumers ?? [];
    expect(consumers.map((c) => c.queue).sort()).toEqual([main, deadLetter].sort());
    expect(consumers.find((c) => c.queue === main)?.dead_letter_queue).toBe(deadLetter);
  });

  it("maps every bucket to a shard database of its own, migrated from migrations-shard/", () => {
    const shards = config.d1_databases.filter((d) => d.binding !== "DB");
    const map = parseShardMap(String(config.vars.SHARD_MAP), (name) => shards.some((d) => d.binding === name));
    expect(map.bindings).toEqual(shards.map((d) => d.binding).sort());
    for (const shard of shards) expect(shard.migrations_dir).toBe("migrations-shard");
    const names = config.d1_databases.map((d) => d.database_name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("never allows loopback webhooks", () => {
    expect(config.vars.ALLOW_LOOPBACK_WEBHOOKS).toBe("false");
  });
});

describe("the top level (local development and the tests)", () => {
  it("consumes the queues its Worker serves", () => {
    const { main, deadLetter } = queueNames(top.vars);
    expect((top.queues.consumers ?? []).map((c) => c.queue).sort()).toEqual([main, deadLetter].sort());
  });
});

describe("production", () => {
  it("takes real payments: the sandbox settles top-ups without money", () => {
    expect(read("production").vars.PAYMENT_PROVIDER).toBe("stripe");
  });
});
