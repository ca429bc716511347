/**
 * The e2e and web projects' global setup: one `--persist-to` state directory with every D1
 * migration applied (the directory database and each shard), from which each test file's
 * `wrangler dev` (helpers/server.ts) starts, as a copy. Applying the migrations takes a
 * `wrangler d1 migrations apply` per database, each with a runtime of its own: about 35 s of CPU,
 * which every one of the twenty files used to spend again. The directory is kept under
 * node_modules/.cache, named by a hash of the migrations and wrangler.toml: the second project
 * of a run, and every later run until a migration changes, finds it made. Checkouts (git worktrees) that share one
 * node_modules share the directory while their migrations differ: a state is removed only once no run has used it
 * for a day, never because another checkout's migrations are newer (that took a running file's state away mid-run).
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations, ROOT } from "./wrangler";

declare module "vitest" {
  export interface ProvidedContext {
    /** The migrated state directory that each dev server copies (absent outside the e2e and web projects). */
    migratedState: string;
  }
}

/**
 * Not the "ridewire-e2e-state" of before: a checkout still on the old code removes every state there but its own.
 */
const CACHE = join(ROOT, "node_modules/.cache/ridewire-e2e-states");
/** A state (or one being made) that no run has used for this long is removed. */
const UNUSED_MS = 24 * 60 * 60 * 1000;
/** Written last: a directory without it was cut short (a run stopped mid-way) and is made again. */
const COMPLETE = ".complete";

/** What the state depends on: every migration file of every database, and the databases wrangler.toml binds. */
function stateKey(): string {
  const hash = createHash("sha256");
  for (const dir of ["migrations", "migrations-shard"]) {
    for (const name of readdirSync(join(ROOT, dir))
      .filter((file) => file.endsWith(".sql"))
      .sort()) {
      hash.update(`${dir}/${name}\n`);
      hash.update(readFileSync(join(ROOT, dir, name)));
    }
  }
  hash.update(readFileSync(join(ROOT, "wrangler.toml")));
  return hash.digest("hex").slice(0, 16);
}

export default async function provideMigratedState(project: TestProject): Promise<void> {
  const key = stateKey();
  const dir = join(CACHE, key);
  mkdirSync(CACHE, { recursive: true });
  for (const other of readdirSync(CACHE)) {
    if (other === key) continue;
    const path = join(CACHE, other);
    const used = existsSync(join(path, COMPLETE)) ? join(path, COMPLETE) : path;
    // Gone meanwhile (another run removed it): nothing to do.
    const mtime = statSync(used, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - mtime > UNUSED_MS) rmSync(path, { recursive: true, force: true });
  }
  if (!existsSync(join(dir, COMPLETE))) {
    const making = `${dir}.${process.pid}`;
    rmSync(making, { recursive: true, force: true });
    await applyMigrations(making);
    writeFileSync(join(making, COMPLETE), new Date().toISOString());
    rmSync(dir, { recursive: true, force: true });
    renameSync(making, dir);
  }
  // Used now: another checkout's run keeps it for a day from here.
  const now = new Date();
  utimesSync(join(dir, COMPLETE), now, now);
  project.provide("migratedState", dir);
}
