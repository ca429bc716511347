/**
 * @module db/api-keys
 * Server API keys in D1: made and revoked by an operator, each with its audit record in the
 * same batch (one transaction), and read by id on every call a key makes. A revoke writes its
 * record only when it changes the key, so a repeated revoke records nothing.
 */
import type { AuditRecord } from "../protocol/admin";
import { ApiKeyScopes, type ApiKey } from "../protocol/server-api";
import { auditInsert, insertedAudit } from "./audit";

type ApiKeyRow = {
  id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
};

/** A key as the server routes check it: its scopes, whether it is revoked, and the hash to compare. */
export type StoredApiKey = ApiKey & { secretHash: string };

function toStored(row: ApiKeyRow): StoredApiKey {
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopes(row.scopes),
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    secretHash: row.secret_hash,
  };
}

/**
 * Scopes as stored; a row that no longer parses grants nothing (no room, no action) rather
 * than failing every read of the listing.
 */
function parseScopes(text: string): ApiKeyScopes {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const parsed = ApiKeyScopes.safeParse(json);
  return parsed.success ? parsed.data : { rooms: [], actions: [] };
}

export function publicKey({ secretHash: _, ...key }: StoredApiKey): ApiKey {
  return key;
}

export async function createApiKey(
  d1: D1Database,
  key: { id: string; name: string; secretHash: string; scopes: ApiKeyScopes },
  actorId: string,
  reason: string,
  now: number,
): Promise<{ apiKey: ApiKey; audit: AuditRecord }> {
  const [, audited] = await d1.batch([
    d1
      .prepare(`INSERT INTO api_keys (id, name, secret_hash, scopes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .bind(key.id, key.name, key.secretHash, JSON.stringify(key.scopes), actorId, now),
    auditInsert(d1, {
      at: now,
      actorId,
      action: "api_key.create",
      target: { kind: "api_key", id: key.id },
      reason,
      details: { name: key.name, scopes: key.scopes },
    }),
  ]);
  const audit = insertedAudit(audited);
  if (!audit) throw new Error("the audit record of a new API key was not written");
  const apiKey: ApiKey = {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    createdBy: actorId,
    createdAt: now,
    revokedAt: null,
  };
  return { apiKey, audit };
}

export async function findApiKey(d1: D1Database, id: string): Promise<StoredApiKey | undefined> {
  const row = await d1
    .prepare(`SELECT id, name, secret_hash, scopes, created_by, created_at, revoked_at FROM api_keys WHERE id = ?`)
    .bind(id)
    .first<ApiKeyRow>();
  return row ? toStored(row) : undefined;
}

/** Keys newest first, revoked ones too (marked), at most `limit`. */
export async function listApiKeys(d1: D1Database, limit: number): Promise<ApiKey[]> {
  const { results } = await d1
    .prepare(
      `SELECT id, name, secret_hash, scopes, created_by, created_at, revoked_at FROM api_keys
       ORDER BY created_at DESC, id LIMIT ?`,
    )
    .bind(limit)
    .all<ApiKeyRow>();
  return results.map((row) => publicKey(toStored(row)));
}

export type RevokeChange =
  | { changed: true; apiKey: ApiKey; audit: AuditRecord }
  | { changed: false; apiKey: ApiKey | undefined };

/** Revokes the key if it exists and is live; otherwise changes nothing and answers the key as it is. */
export async function revokeApiKey(
  d1: D1Database,
  id: string,
  actorId: string,
  reason: string,
  now: number,
): Promise<RevokeChange> {
  const live = { sql: "EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL)", params: [id] };
  const [audited, , after] = await d1.batch([
    auditInsert(
      d1,
      { at: now, actorId, action: "api_key.revoke", target: { kind: "api_key", id }, reason, details: null },
      live,
    ),
    d1
      .prepare(`UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`)
      .bind(now, actorId, id),
    d1
      .prepare(`SELECT id, name, secret_hash, scopes, created_by, created_at, revoked_at FROM api_keys WHERE id = ?`)
      .bind(id),
  ]);
  const row = after?.results[0] as ApiKeyRow | undefined;
  const apiKey = row ? publicKey(toStored(row)) : undefined;
  const audit = insertedAudit(audited);
  return audit && apiKey ? { changed: true, apiKey, audit } : { changed: false, apiKey };
}
