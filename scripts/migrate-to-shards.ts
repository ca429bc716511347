// `npm run migrate:shards -- --local|--remote [--env staging|production] [--persist-to DIR]
//   [--page 200] [--steps N] [--restart] [--rebalance SHARD_n --map "0-383:SHARD_0,384-1023:SHARD_1"]`
//
// Moves a deployment's chat archive, notification log, ledger (journal entries split into one
// leg per owner, with their lines, and payouts) and trip history (each trip as its rider's and its
// driver's rows) out of the directory database `DB` into the shards (src/db/shards.ts) that
// SHARD_MAP routes each room and user to; with --rebalance, moves out of one shard the rows whose
// buckets a new map gives to another (docs/OPERATIONS.md, "Adding a shard"). `DB` must have
// migrations/0025 applied: its ledger rows are deleted under the lock row that migration lets
// through. Resumable: stop it at any point (Ctrl-C, --steps) and run it again; it goes on from its
// cursor in the source database's `shard_move_progress` and never loses or doubles a row
// (src/db/shard-move.ts says how). --restart sweeps the tables again from the start, for rows an
// older Worker version wrote behind the cursor. Reaches D1 through `wrangler d1 execute`, local or remote.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import {
  DIRECTORY_TABLES,
  MOVED_TABLES,
  moveRows,
  type SqlDatabase,
  sqlLiteral,
  targetUnder,
} from "../src/db/shard-move";
import { bucketOf, parseShardMap } from "../src/db/shards";

const USAGE =
  "usage: npm run migrate:shards -- --local|--remote [--env NAME] [--persist-to DIR] [--page N] [--steps N] " +
  '[--restart] [--rebalance SHARD_n --map "from-to:BINDING,…"]';

function fail(message: string): never {
  console.error(`migrate-to-shards: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    local: { type: "boolean", default: false },
    remote: { type: "boolean", default: false },
    env: { type: "string" },
    "persist-to": { type: "string" },
    page: { type: "string", default: "200" },
    steps: { type: "string" },
    restart: { type: "boolean", default: false },
    rebalance: { type: "string" },
    map: { type: "string" },
  },
  strict: true,
});
if (values.local === values.remote) fail(`say --local or --remote\n${USAGE}`);
if (values.env !== undefined && !/^[a-z][a-z0-9-]*$/.test(values.env)) fail(`--env needs an environment name`);
const pageSize = Number(values.page);
if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1_000) fail("--page takes 1 to 1000 rows");
const maxSteps = values.steps === undefined ? undefined : Number(values.steps);
if (maxSteps !== undefined && (!Number.isInteger(maxSteps) || maxSteps < 1)) fail("--steps takes a positive count");
if ((values.rebalance === undefined) !== (values.map === undefined)) fail("--rebalance and --map go together");

const config = unstable_readConfig({ config: "wrangler.toml", env: values.env });
const bindings: string[] = config.d1_databases.map((d: { binding: string }) => d.binding);
const shardBindings = bindings.filter((b) => b !== "DB");
const configuredMap = String((config.vars as Record<string, unknown>).SHARD_MAP ?? "");
let map: ReturnType<typeof parseShardMap>;
try {
  map = parseShardMap(values.map ?? configuredMap, (name) => shardBindings.includes(name));
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

const location = [
  values.local ? "--local" : "--remote",
  ...(values.env ? ["--env", values.env] : []),
  ...(values["persist-to"] ? ["--persist-to", values["persist-to"]] : []),
];

/** One statement through `wrangler d1 execute --json`, which prints each statement's results. */
function execute(binding: string, sql: string): Record<string, unknown>[] {
  const result = spawnSync("wrangler", ["d1", "execute", binding, ...location, "--json", "--command", sql], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CI: "1" },
  });
  if (result.status !== 0) throw new Error(`wrangler d1 execute ${binding} failed: ${result.stderr || result.stdout}`);
  const parsed: unknown = JSON.parse(result.stdout);
  const first = Array.isArray(parsed) ? (parsed[0] as { results?: unknown } | undefined) : undefined;
  return Array.isArray(first?.results) ? (first.results as Record<string, unknown>[]) : [];
}

/** Statements joined into one `--command` up to this size: well below Linux's 128 KiB per argument. */
const MAX_COMMAND_CHARS = 90_000;

function database(binding: string): SqlDatabase {
  return {
    async query<T extends Record<string, unknown>>(sql: string) {
      return execute(binding, sql) as T[];
    },
    async run(statements: string[]) {
      // As many statements per command as fit (one batch, one transaction, on a local database;
      // the move needs none: every statement it makes may run alone and again, src/db/shard-move.ts).
      let command: string[] = [];
      let chars = 0;
      for (const statement of statements) {
        if (command.length > 0 && chars + statement.length > MAX_COMMAND_CHARS) {
          execute(binding, command.join(";\n"));
          command = [];
          chars = 0;
        }
        command.push(statement);
        chars += statement.length + 2;
      }
      if (command.length > 0) execute(binding, command.join(";\n"));
    },
  };
}

const source = values.rebalance ?? "DB";
if (!bindings.includes(source)) fail(`${source} is not a D1 binding of ${values.env ?? "the top level"}`);
const job = values.rebalance
  ? `rebalance:${source}:${bucketOf(values.map as string)}:${(values.map as string).length}`
  : "db-to-shards";
if (values.restart) {
  await database(source).run([
    `CREATE TABLE IF NOT EXISTS shard_move_progress (job TEXT NOT NULL, table_name TEXT NOT NULL,
      last_rowid INTEGER NOT NULL, moved INTEGER NOT NULL, kept INTEGER NOT NULL, done INTEGER NOT NULL,
      updated_at INTEGER NOT NULL, PRIMARY KEY (job, table_name))`,
    `UPDATE shard_move_progress SET last_rowid = 0, done = 0 WHERE job = ${sqlLiteral(job)}`,
  ]);
}

// Sessions from before the partitions move on their first use (db/sessions.ts); between shards, they move here.
const tables = values.rebalance ? MOVED_TABLES : DIRECTORY_TABLES;
console.log(
  `moving ${tables.map((t) => t.name).join(", ")} out of ${source} (${location.join(" ")}), ` +
    `${map.ranges.map((r) => `${r.from}-${r.to}:${r.binding}`).join(",")}, job ${job}`,
);
try {
  const progress = await moveRows({
    job,
    source: { name: source, db: database(source) },
    targetOf: targetUnder(map.byBucket, values.rebalance ?? null),
    targets: new Map(shardBindings.map((b) => [b, database(b)])),
    pageSize,
    tables,
    ...(maxSteps === undefined ? {} : { maxSteps }),
    log: (line) => console.log(line),
  });
  const pending = progress.filter((t) => !t.done);
  console.log(
    pending.length === 0
      ? "done: every table moved"
      : `stopped after --steps; run again to go on (${pending.map((t) => t.table).join(", ")} left)`,
  );
} catch (err) {
  console.error(`migrate-to-shards: ${err instanceof Error ? err.message : String(err)}`);
  console.error("nothing is lost: run it again to resume from the last confirmed step");
  process.exit(1);
}
