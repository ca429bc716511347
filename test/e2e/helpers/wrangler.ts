/**
 * Running the project's wrangler from the e2e tests: on the project's Node, with metrics and
 * colour off, and the D1 migrations of every database applied to a local state directory.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** Runs wrangler on the Node that runs the tests (the project's Node 22), whatever PATH says. */
export function wranglerArgs(args: string[]): [string, string[]] {
  return [process.execPath, [WRANGLER, ...args]];
}

// X_LOCAL_OBSERVABILITY off as in `npm run dev` (scripts/dev.mjs says why): the same runtime as users get.
export const wranglerEnv = () => ({
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CI: "1",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
  X_LOCAL_OBSERVABILITY: "false",
});

/**
 * Applies every D1 migration to the local state in `persistTo`: DB and every shard (src/db/shards.ts), each from its
 * own migrations_dir. The wrangler package is imported here, not at the top: its 10 MB bundle took about 2 s to load
 * in every test file that imports this module, and only a global setup (or a file run alone) migrates.
 */
export async function applyMigrations(persistTo: string): Promise<void> {
  const { unstable_readConfig } = await import("wrangler");
  for (const { binding } of unstable_readConfig({ config: join(ROOT, "wrangler.toml") }).d1_databases) {
    const [node, migrate] = wranglerArgs(["d1", "migrations", "apply", binding, "--local", "--persist-to", persistTo]);
    const migrated = spawnSync(node, migrate, { cwd: ROOT, env: wranglerEnv(), encoding: "utf8" });
    if (migrated.status !== 0)
      throw new Error(`migrations of ${binding} failed:\n${migrated.stdout}\n${migrated.stderr}`);
  }
}
