// `npm run deploy [-- --env staging|production] [-- other wrangler deploy flags]`: bundles the web
// app, applies the D1 migrations to that environment's remote databases (DB and every shard, each
// from its migrations_dir), then deploys the Worker
// to it. The environment goes to both wrangler calls, so the migrations land in the database the
// deployed code reads. Without --env: the top-level configuration (one environment, as before).
// With --dry-run: no migrations (they would change a remote database) and no upload; wrangler
// only bundles and checks the configuration (`--outdir` keeps the bundle). docs/OPERATIONS.md.
import { spawnSync } from "node:child_process";
import { unstable_readConfig } from "wrangler";

/** wrangler.toml's placeholder ids: all zeros but the last digits, which differ per database for local D1. */
const PLACEHOLDER_ID = /^00000000-0000-0000-0000-0{10}\d{2}$/;

const args = process.argv.slice(2);
let environment;
const rest = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--env" || arg === "-e") environment = args[++i];
  else if (arg.startsWith("--env=")) environment = arg.slice("--env=".length);
  else rest.push(arg);
}
if (environment !== undefined && !/^[a-z][a-z0-9-]*$/.test(environment)) {
  console.error(`deploy: --env needs an environment name (staging, production), got ${JSON.stringify(environment)}`);
  process.exit(2);
}
const envArgs = environment === undefined ? [] : ["--env", environment];
const dryRun = rest.includes("--dry-run");

// An environment wrangler.toml does not define stops here, before anything is built or changed.
let config;
try {
  config = unstable_readConfig({ config: "wrangler.toml", env: environment });
} catch (err) {
  console.error(`deploy: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
for (const database of config.d1_databases) {
  if (!dryRun && (!database.database_id || PLACEHOLDER_ID.test(database.database_id))) {
    console.error(
      `deploy: the ${database.binding} database_id of ${environment ?? "the top level"} is still the placeholder; ` +
        `create the database (wrangler d1 create ${database.database_name}) and put its id in wrangler.toml ` +
        "(docs/OPERATIONS.md, First deploy)",
    );
    process.exit(2);
  }
}

const run = (command, commandArgs) => {
  console.log(`> ${[command, ...commandArgs].join(" ")}`);
  const result = spawnSync(command, commandArgs, { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run(process.execPath, ["scripts/build-web.mjs"]);
if (dryRun) console.log("deploy: --dry-run, so the remote D1 migrations are not applied");
else
  for (const { binding } of config.d1_databases)
    run("wrangler", ["d1", "migrations", "apply", binding, "--remote", ...envArgs]);
run("wrangler", ["deploy", ...envArgs, ...rest]);
