// `npm run dev`: makes sure a local JWT secret exists, bundles the web app, applies the D1
// migrations to the local database, then starts `wrangler dev`. Extra arguments go to wrangler (`-- --port 8788`).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  writeFileSync(".dev.vars", `JWT_SECRET=${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  console.log("wrote .dev.vars with a random JWT_SECRET");
}

const run = (args) => {
  const result = spawnSync("wrangler", args, { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// The web app is served from public/ as static assets: bundle it first.
const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);

const extra = process.argv.slice(2);
// Local state lives in .wrangler/state unless --persist-to says otherwise; migrate that one.
const persistAt = extra.indexOf("--persist-to");
const persist = persistAt >= 0 ? extra.slice(persistAt, persistAt + 2) : [];
run(["d1", "migrations", "apply", "DB", "--local", ...persist]);
const port = extra.includes("--port") ? [] : ["--port", "8787"];
run(["dev", ...port, ...extra]);
