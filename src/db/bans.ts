/**
 * @module db/bans
 * Banning and unbanning an account in D1, each with its audit record in the same batch. The
 * audit insert runs first, on the same condition as the update that follows it (the account
 * exists, and is not banned / is banned), inside one transaction: the record is written
 * exactly when the change is made, and a repeated or racing request changes and records nothing.
 */
import type { AdminUser, AuditRecord } from "../protocol/admin";
import { auditInsert, insertedAudit } from "./audit";

type UserRowRaw = {
  id: string;
  email: string;
  name: string;
  role: AdminUser["role"];
  created_at: number;
  banned_at: number | null;
  ban_reason: string | null;
};

function toAdminUser(row: UserRowRaw): AdminUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    bannedAt: row.banned_at,
    banReason: row.ban_reason,
  };
}

export type BanChange =
  | { changed: true; user: AdminUser; audit: AuditRecord }
  | { changed: false; user: AdminUser | undefined };

const userStatement = (d1: D1Database, userId: string) =>
  d1.prepare(`SELECT id, email, name, role, created_at, banned_at, ban_reason FROM users WHERE id = ?`).bind(userId);

/** Bans the account if it exists and is not banned; otherwise changes nothing and answers the account as it is. */
export async function banAccount(
  d1: D1Database,
  userId: string,
  actorId: string,
  reason: string,
  now: number,
): Promise<BanChange> {
  const notBanned = { sql: "EXISTS (SELECT 1 FROM users WHERE id = ? AND banned_at IS NULL)", params: [userId] };
  return change(d1, userId, [
    auditInsert(
      d1,
      { at: now, actorId, action: "user.ban", target: { kind: "user", id: userId }, reason, details: null },
      notBanned,
    ),
    d1
      .prepare(`UPDATE users SET banned_at = ?, ban_reason = ? WHERE id = ? AND banned_at IS NULL`)
      .bind(now, reason, userId),
  ]);
}

/** Lifts the account's ban if it has one; otherwise changes nothing and answers the account as it is. */
export async function unbanAccount(
  d1: D1Database,
  userId: string,
  actorId: string,
  reason: string,
  now: number,
): Promise<BanChange> {
  const banned = { sql: "EXISTS (SELECT 1 FROM users WHERE id = ? AND banned_at IS NOT NULL)", params: [userId] };
  return change(d1, userId, [
    auditInsert(
      d1,
      { at: now, actorId, action: "user.unban", target: { kind: "user", id: userId }, reason, details: null },
      banned,
    ),
    d1
      .prepare(`UPDATE users SET banned_at = NULL, ban_reason = NULL WHERE id = ? AND banned_at IS NOT NULL`)
      .bind(userId),
  ]);
}

async function change(
  d1: D1Database,
  userId: string,
  statements: [D1PreparedStatement, D1PreparedStatement],
): Promise<BanChange> {
  const [audited, , after] = await d1.batch([...statements, userStatement(d1, userId)]);
  const row = after?.results[0] as UserRowRaw | undefined;
  const user = row ? toAdminUser(row) : undefined;
  const audit = insertedAudit(audited);
  return audit && user ? { changed: true, user, audit } : { changed: false, user };
}

/**
 * Whether the account is banned, and why: undefined when it has no row (a token outlives its
 * account after a reset), `reason` null when it is not banned.
 */
export async function banOf(
  d1: D1Database | D1DatabaseSession,
  userId: string,
): Promise<{ reason: string | null } | undefined> {
  const row = await d1
    .prepare(`SELECT banned_at, ban_reason FROM users WHERE id = ?`)
    .bind(userId)
    .first<{ banned_at: number | null; ban_reason: string | null }>();
  if (!row) return undefined;
  return { reason: row.banned_at === null ? null : (row.ban_reason ?? "banned") };
}
