// `npm run admin -- create EMAIL [--password P] [--name NAME] [--remote] [--env NAME] [--persist-to DIR]`:
// makes an operator. Registration never gives the `admin` role, so the first one is made here:
// an existing account is promoted; otherwise one is created, with the password from
// `--password` or read from stdin (prompted for, unechoed, on a terminal). It runs
// `wrangler d1 execute DB` against the local database (`.wrangler/state`, or --persist-to),
// or against the deployed one with --remote. The account signs in again for a token that says
// `admin`. The promotion is recorded in the audit log (action `admin.create`).
//
// wrangler's d1 execute takes no bound parameters, so every value reaches SQL as a hex blob
// literal cast to text (X'…'): nothing a user types can end a string or add a statement.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const USAGE =
  "usage: npm run admin -- create EMAIL [--password PASSWORD] [--name NAME] [--remote] [--env NAME]\n" +
  "  [--persist-to DIR]\n" +
  "(without --password, the password is read from stdin)";

/** Must match src/auth/password.ts, which verifies what this writes. */
const PBKDF2_ITERATIONS = 100_000;

export class UsageError extends Error {}

/** The options of `create`; throws UsageError for anything else. */
export function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (command !== "create")
    throw new UsageError(command === undefined ? "name a command" : `unknown command ${JSON.stringify(command)}`);
  const options = { email: undefined, password: undefined, name: "Operator", remote: false, persistTo: undefined };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = () => {
      const next = rest[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--password") options.password = value();
    else if (arg === "--name") options.name = value();
    else if (arg === "--persist-to") options.persistTo = value();
    else if (arg === "--remote") options.remote = true;
    else if (arg === "--env") {
      options.env = value();
      // A wrangler.toml environment name (docs/OPERATIONS.md), passed to `wrangler d1 execute`.
      if (!/^[a-z][a-z0-9-]*$/.test(options.env))
        throw new UsageError("--env names an environment: staging, production");
    } else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else if (options.email === undefined) options.email = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
  }
  if (options.email === undefined) throw new UsageError("give the account's email");
  options.email = checkEmail(options.email);
  options.name = options.name.trim();
  if (options.name.length < 1 || options.name.length > 100) throw new UsageError("--name must be 1 to 100 characters");
  if (options.remote && options.persistTo !== undefined)
    throw new UsageError("--persist-to is for the local database; leave it out with --remote");
  if (options.password !== undefined) checkPassword(options.password);
  return options;
}

/** Trimmed and lower-cased as registration stores it; refuses anything that is not one plain address. */
export function checkEmail(raw) {
  const email = raw.trim().toLowerCase();
  if (
    email.length > 254 ||
    !/^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(email)
  ) {
    throw new UsageError(`not an email address: ${JSON.stringify(raw)}`);
  }
  return email;
}

export function checkPassword(password) {
  if (password.length < 8 || password.length > 256) throw new UsageError("the password must be 8 to 256 characters");
  return password;
}

const toBase64Url = (bytes) => Buffer.from(bytes).toString("base64url");

/** The stored form src/auth/password.ts reads: pbkdf2-sha256$<iterations>$<salt>$<hash>. */
export async function hashPassword(password) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: PBKDF2_ITERATIONS },
    key,
    256,
  );
  return ["pbkdf2-sha256", PBKDF2_ITERATIONS, toBase64Url(salt), toBase64Url(new Uint8Array(bits))].join("$");
}

/** A text value as SQL that cannot be anything but that text. */
export const sqlText = (value) => `CAST(X'${Buffer.from(String(value), "utf8").toString("hex")}' AS TEXT)`;
const sqlInt = (value) => {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return String(value);
};

export const newUserId = () =>
  `usr_${[...crypto.getRandomValues(new Uint8Array(12))]
    .map((b) => b.toString(36).padStart(2, "0"))
    .join("")
    .slice(0, 20)}`;

/** Promotes the account with this email, and records it; a missing account is left alone. */
export function promoteSql(email, now) {
  const where = `email = ${sqlText(email)}`;
  return [
    `UPDATE users SET role = 'admin' WHERE ${where};`,
    `INSERT INTO audit_log (at, actor_id, action, target_kind, target_id, reason, details)
     SELECT ${sqlInt(now)}, id, 'admin.create', 'user', id, 'npm run admin -- create', NULL FROM users WHERE ${where};`,
  ].join("\n");
}

/**
 * Creates an operator account with this id and records it. If the email was registered
 * meanwhile, nothing happens: that account is someone else's until the operator has looked.
 */
export function createSql({ id, email, name, passwordHash }, now) {
  return [
    `INSERT INTO users (id, email, name, role, password_hash, created_at)
     VALUES (${sqlText(id)}, ${sqlText(email)}, ${sqlText(name)}, 'admin', ${sqlText(passwordHash)}, ${sqlInt(now)})
     ON CONFLICT (email) DO NOTHING;`,
    `INSERT INTO audit_log (at, actor_id, action, target_kind, target_id, reason, details)
     SELECT ${sqlInt(now)}, id, 'admin.create', 'user', id, 'npm run admin -- create', NULL FROM users
     WHERE id = ${sqlText(id)};`,
  ].join("\n");
}

function wrangler(args) {
  const result = spawnSync("wrangler", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? "");
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${result.status})`);
  }
  return result.stdout;
}

/** Runs SQL from a file (no shell, no quoting); `json` parses wrangler's answer. */
function execute(options, sql, json = false) {
  const dir = mkdtempSync(join(tmpdir(), "ridewire-admin-"));
  try {
    const file = join(dir, "statement.sql");
    writeFileSync(file, sql, { mode: 0o600 });
    const target = [
      ...(options.remote
        ? ["--remote"]
        : ["--local", ...(options.persistTo ? ["--persist-to", options.persistTo] : [])]),
      ...(options.env ? ["--env", options.env] : []),
    ];
    const out = wrangler(["d1", "execute", "DB", ...target, "--file", file, "--yes", ...(json ? ["--json"] : [])]);
    return json ? JSON.parse(out) : out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readPassword() {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text.replace(/\r?\n$/, "");
  }
  // A terminal: prompt, and echo nothing of what is typed.
  process.stdout.write("Password for the new operator: ");
  process.stdin.setRawMode(true);
  process.stdin.setEncoding("utf8");
  let password = "";
  try {
    for await (const chunk of process.stdin) {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return password;
        if (ch === "\u0003") throw new UsageError("cancelled");
        if (ch === "\u007f") password = password.slice(0, -1);
        else password += ch;
      }
    }
    return password;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdout.write("\n");
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const where = options.remote
    ? "the deployed database"
    : `the local database${options.persistTo ? ` in ${options.persistTo}` : ""}`;
  const lookup = `SELECT id, name, role, created_at, banned_at FROM users WHERE email = ${sqlText(options.email)};`;
  const existing = execute(options, lookup, true)?.[0]?.results?.[0];
  const now = Date.now();
  if (existing) {
    const signedUp = new Date(existing.created_at).toISOString();
    const who = `${options.email} (${existing.id}, "${existing.name}", signed up ${signedUp})`;
    if (existing.role === "admin") {
      console.log(`${who} is an operator already in ${where}.`);
      return;
    }
    execute(options, promoteSql(options.email, now));
    console.log(`promoted ${who} from ${existing.role} to admin in ${where}; it signs in again for an admin token.`);
    console.log("check that this account is yours: whoever registered the address holds it.");
    if (existing.banned_at !== null)
      console.log("note: the account is banned; an operator must unban it before it can sign in.");
    return;
  }
  const password = checkPassword(options.password ?? (await readPassword()));
  const id = newUserId();
  execute(
    options,
    createSql({ id, email: options.email, name: options.name, passwordHash: await hashPassword(password) }, now),
  );
  const made = execute(options, lookup, true)?.[0]?.results?.[0];
  if (made?.id !== id)
    throw new Error(
      `${options.email} was registered by someone else meanwhile; nothing was changed. ` +
        "Run again to see that account and promote it if it is yours.",
    );
  console.log(`created the operator ${options.email} (${id}) in ${where}; sign in with its password.`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err instanceof UsageError ? `${err.message}\n${USAGE}` : err instanceof Error ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
}
