// `npm run dev`: makes sure a local JWT secret exists, bundles the web app, applies the D1
// migrations to the local databases (DB and every shard, each from its migrations_dir), then
// starts `wrangler dev`. Extra arguments go to wrangler (`-- --port 8788`).
import { spawnSync } from "node:child_process";
import { writeDevArchive } from "./dev-tiles.mjs";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { unstable_readConfig } from "wrangler";

if (!existsSync(".dev.vars")) {
  writeFileSync(".dev.vars", `JWT_SECRET=${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  console.log("wrote .dev.vars with a random JWT_SECRET");
}

// Wrangler's local observability traces every event (each WebSocket frame, RPC call and alarm)
// to a collector Worker for its local explorer: measured with `npm run bench:floor`, that is
// ~0.8 ms of CPU per hibernatable WebSocket frame against ~0.16 ms without it, five times the
// cost of the frame itself. A realtime hub handles thousands of frames a second, so it is off
// unless the caller asks for it (`X_LOCAL_OBSERVABILITY=true npm run dev`).
const env = { ...process.env, X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false" };

const run = (args) => {
  const result = spawnSync("wrangler", args, { stdio: "inherit", env });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// The web app is served from public/ as static assets: bundle it first.
const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);

const extra = process.argv.slice(2);
// Local state lives in .wrangler/state unless --persist-to says otherwise; migrate that one.
const persistAt = extra.indexOf("--persist-to");
const persist = persistAt >= 0 ? extra.slice(persistAt, persistAt + 2) : [];
// DB, then SHARD_0, SHARD_1, … (src/db/shards.ts): wrangler applies each its own migrations_dir.
for (const { binding } of unstable_readConfig({ config: "wrangler.toml" }).d1_databases)
  run(["d1", "migrations", "apply", binding, "--local", ...persist]);
const port = extra.includes("--port") ? [] : ["--port", "8787"];
// Local receivers (a webhook on 127.0.0.1) are how notifications are tried out on one machine;
// a deployed Worker keeps wrangler.toml's "false" and refuses loopback and plain http.
const loopbackWebhooks = ["--var", "ALLOW_LOOPBACK_WEBHOOKS:true"];
// Local drivers (the simulator's, the benchmarks', the web app's) go online without an operator
// approving their licence and car; a deployed Worker keeps wrangler.toml's "true". To try the
// approval flow locally: `DRIVER_APPROVAL_REQUIRED=true npm run dev`.
const driverApproval = ["--var", `DRIVER_APPROVAL_REQUIRED:${process.env.DRIVER_APPROVAL_REQUIRED ?? "false"}`];
// The street map (README, "The web app"): the dev city's small PMTiles archive in the local bucket,
// served as MAP_TILES_ARCHIVE=dev-city. `MAP_TILES_ARCHIVE=name npm run dev` serves an archive you
// put there yourself instead; `MAP_TILES_ARCHIVE= npm run dev` draws the SVG city.
const tilesArchive = process.env.MAP_TILES_ARCHIVE ?? "dev-city";
if (tilesArchive === "dev-city")
  await writeDevArchive(".wrangler/dev-tiles/dev-city.pmtiles", { put: true, persistTo: persist[1] });
const mapTiles = tilesArchive ? ["--var", `MAP_TILES_ARCHIVE:${tilesArchive}`] : [];
// The caller's arguments first: a positional entry point (bench/trip-floor.mjs serves another)
// would otherwise be read as one more value of --var.
run(["dev", ...extra, ...port, ...loopbackWebhooks, ...driverApproval, ...mapTiles]);
