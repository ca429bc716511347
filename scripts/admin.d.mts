/** Types of scripts/admin.mjs, for the tests that import it (test/unit/admin-script.test.ts). */
export class UsageError extends Error {}
export type AdminOptions = {
  email: string;
  password: string | undefined;
  name: string;
  remote: boolean;
  /** A wrangler.toml environment (`--env staging`); the top level when absent. */
  env?: string;
  persistTo: string | undefined;
};
export function parseArgs(argv: string[]): AdminOptions;
export function checkEmail(raw: string): string;
export function checkPassword(password: string): void;
export function hashPassword(password: string): Promise<string>;
export function sqlText(value: unknown): string;
export function newUserId(): string;
export function promoteSql(email: string, now: number): string;
export function createSql(user: { id: string; email: string; name: string; passwordHash: string }, now: number): string;
