/**
 * @module http/readiness
 * `GET /health/ready`: whether each D1 database answers, the directory database `DB` and every
 * partition database of SHARD_MAP (db/shards). `/health` stays the cheap liveness check the SDK's
 * fallback polls; this one is for load balancers, deploy checks and operators after adding a shard.
 * Anyone may call it, so an isolate asks the databases at most once per READINESS_CACHE_MS and
 * answers from that look in between; the reasons a database failed go to the log, not the caller.
 */
import { allShards } from "../db/shards";
import { logJson } from "../log";
import { errorReason } from "../redact";

/** How long one look at the databases answers every readiness request of the isolate. */
export const READINESS_CACHE_MS = 5_000;
/** A database that has not answered `SELECT 1` by then counts as down. */
const CHECK_TIMEOUT_MS = 2_000;

export type DatabaseReadiness = { binding: string; ok: boolean };
export type Readiness = { ok: boolean; databases: DatabaseReadiness[] };

/** The isolate's last look, per env (the tests and each deployment have their own). */
const lastLook = new WeakMap<object, { at: number; readiness: Promise<Readiness> }>();

export function readiness(env: Env, now = Date.now()): Promise<Readiness> {
  const cached = lastLook.get(env);
  if (cached && now - cached.at < READINESS_CACHE_MS) return cached.readiness;
  const look = checkAll(env);
  lastLook.set(env, { at: now, readiness: look });
  return look;
}

async function checkAll(env: Env): Promise<Readiness> {
  let shards: { binding: string; db: D1Database }[];
  try {
    shards = allShards(env);
  } catch (err) {
    // A bad SHARD_MAP: no shard can be reached the way requests reach them.
    logJson("error", { at: "readiness", binding: "SHARD_MAP", reason: errorReason(err) });
    const db = await check("DB", env.DB);
    return { ok: false, databases: [db, { binding: "SHARD_MAP", ok: false }] };
  }
  const databases = await Promise.all([check("DB", env.DB), ...shards.map(({ binding, db }) => check(binding, db))]);
  return { ok: databases.every((d) => d.ok), databases };
}

async function check(binding: string, db: D1Database): Promise<DatabaseReadiness> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    await Promise.race([db.prepare("SELECT 1").first(), timeout]);
    return { binding, ok: true };
  } catch (err) {
    logJson("error", { at: "readiness", binding, reason: errorReason(err) });
    return { binding, ok: false };
  } finally {
    clearTimeout(timer);
  }
}
