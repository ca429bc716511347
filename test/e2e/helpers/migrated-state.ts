/**
 * The e2e project's global setup: one `--persist-to` state directory with every D1 migration
 * applied (the directory database and each shard), made once before the test files start. Each
 * file's `wrangler dev` (helpers/server.ts) starts from a copy of it. Applying the migrations
 * takes a `wrangler d1 migrations apply` per database, each with a runtime of its own: about 35 s
 * of CPU, which every one of the twenty files used to spend again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "./wrangler";

declare module "vitest" {
  export interface ProvidedContext {
    /** The migrated state directory that each dev server copies (absent outside the e2e project). */
    migratedState: string;
  }
}

export default function makeMigratedState(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "ridewire-e2e-migrated-"));
  applyMigrations(dir);
  project.provide("migratedState", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
