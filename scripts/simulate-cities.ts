/**
 * Several cities at once against the sharded local setup:
 * `npm run simulate:cities -- --cities sf,nyc,london [--persist-to DIR] [--json FILE] [simulate options]`.
 *
 * Runs one `npm run simulate` per city side by side (each its own drivers, riders, trips and trip
 * chat; the other options go to every city), then reads the local D1 databases the run wrote to
 * (`wrangler d1 execute --local`, as scripts/migrate-to-shards.ts does) and checks the routing:
 * every trip is driven by a driver of its own city and starts in it, every archived message and
 * notification sits in the shard its key (room id, user id) hashes to under SHARD_MAP, and nothing
 * is lost or doubled (each acked message archived once, no id in two shards). Prints the load per
 * shard and per city and the spread between shards; `--json FILE` writes the same figures.
 * Exit 0 when every check holds, 1 otherwise, 2 for bad options.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { bucketOf, BUCKETS, parseShardMap, type ShardMap } from "../src/db/shards";
import { CITIES, type City } from "./simulator/city";

// Run from the project's root (as npm does): run-ts.mjs bundles this file elsewhere, so not import.meta.url.
const ROOT = process.cwd();
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
/** The archive is written behind the rooms' logs: how long to wait for the last batches to land. */
const ARCHIVE_WAIT_MS = 30_000;

const USAGE = `usage: npm run simulate:cities -- --cities sf,nyc[,...]|N [--persist-to DIR] [--json FILE] [options]

Runs the simulator (npm run simulate) for several cities at once against one local server,
then reads its local D1 databases and checks the routing and the per-shard load.

  --cities LIST|N     cities by name (${Object.keys(CITIES).join(", ")}) or the first N of them, 2 or more
  --persist-to DIR    the server's local state (wrangler dev --persist-to); default .wrangler/state
  --json FILE         writes the report's figures as JSON
  other options       go to every city's simulator (npm run simulate -- --help), not --city`;

class UsageError extends Error {}

type Args = { cities: City[]; persistTo: string | undefined; json: string | undefined; rest: string[] };

export function parseCityArgs(argv: string[]): Args | null {
  let cities: City[] | undefined;
  let persistTo: string | undefined;
  let json: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--help" || arg === "-h") return null;
    else if (arg === "--cities") cities = citiesOf(value());
    else if (arg === "--persist-to") persistTo = value();
    else if (arg === "--json") json = value();
    else if (arg === "--city") throw new UsageError("--city is for one city; give --cities");
    else rest.push(arg);
  }
  if (!cities) throw new UsageError("--cities is required");
  return { cities, persistTo, json, rest };
}

function citiesOf(text: string): City[] {
  const names = Object.keys(CITIES);
  if (/^\d+$/.test(text)) {
    const count = Number(text);
    if (count < 2 || count > names.length) throw new UsageError(`--cities takes 2 to ${names.length}`);
    return names.slice(0, count).map((n) => CITIES[n] as City);
  }
  const picked = text.split(",").map((n) => n.trim().toLowerCase());
  for (const name of picked) if (!CITIES[name]) throw new UsageError(`unknown city "${name}" (${names.join(", ")})`);
  if (new Set(picked).size !== picked.length) throw new UsageError("--cities names a city twice");
  if (picked.length < 2) throw new UsageError("--cities takes 2 or more cities (one city: npm run simulate)");
  return picked.map((n) => CITIES[n] as City);
}

/** One city's simulator as a child process; its output goes through, each line tagged with the city. */
function runCity(city: City, json: string, rest: string[]): Promise<number> {
  return new Promise((done, fail) => {
    const proc = spawn(
      process.execPath,
      [join(ROOT, "scripts/run-ts.mjs"), "scripts/simulate.ts", "--city", city.name, "--json", json, ...rest],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const tag = (chunk: Buffer, out: NodeJS.WriteStream) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) out.write(`[${city.name}] ${line}\n`);
    };
    proc.stdout.on("data", (c: Buffer) => tag(c, process.stdout));
    proc.stderr.on("data", (c: Buffer) => tag(c, process.stderr));
    proc.on("error", fail);
    proc.on("close", (code) => done(code ?? 1));
  });
}

type Row = Record<string, unknown>;

/** One statement on a local D1 database through `wrangler d1 execute --json`. */
function query(binding: string, sql: string, persistTo: string | undefined): Row[] {
  const args = [WRANGLER, "d1", "execute", binding, "--local", "--json", "--command", sql];
  if (persistTo) args.push("--persist-to", persistTo);
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" },
  });
  if (result.status !== 0) throw new Error(`wrangler d1 execute ${binding} failed: ${result.stderr || result.stdout}`);
  const parsed: unknown = JSON.parse(result.stdout);
  const first = Array.isArray(parsed) ? (parsed[0] as { results?: unknown } | undefined) : undefined;
  return Array.isArray(first?.results) ? (first.results as Row[]) : [];
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** `SELECT … WHERE column IN (…)` in chunks, so a long run does not make one huge statement. */
function selectIn(binding: string, select: string, column: string, keys: string[], persistTo?: string): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < keys.length; i += 300) {
    const chunk = keys.slice(i, i + 300).map(quote);
    rows.push(...query(binding, `${select} WHERE ${column} IN (${chunk.join(",")})`, persistTo));
  }
  return rows;
}

type CitySummary = { run: { runId: string }; trips: { created: number; matched: number }; chat: { acked: number } };

/** Rows of each kind, and the keys they belong to (trip rooms, users): the hash spreads keys, and rows follow them. */
type ShardLoad = {
  binding: string;
  buckets: number;
  chat: number;
  rooms: number;
  notifications: number;
  users: number;
};

type CityLoad = {
  city: string;
  drivers: number;
  riders: number;
  trips: number;
  matched: number;
  messages: number;
  notifications: number;
};

export type Report = {
  shards: ShardLoad[];
  cities: CityLoad[];
  /** The largest gap, in percentage points, between a shard's share (of rows, of keys) and its share of buckets. */
  spread: { chat: number; rooms: number; notifications: number; users: number };
  checks: { name: string; ok: boolean; detail: string }[];
};

const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);

function spreadOf(shards: ShardLoad[], kind: "chat" | "rooms" | "notifications" | "users"): number {
  const total = shards.reduce((sum, s) => sum + s[kind], 0);
  if (total === 0) return 0;
  return Math.max(...shards.map((s) => Math.abs(percent(s[kind], total) - percent(s.buckets, BUCKETS))));
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)));
  return [line(headers).join("  "), ...rows.map((r) => line(r).join("  "))].join("\n");
}

export function formatReport(report: Report): string {
  const chatTotal = report.shards.reduce((s, x) => s + x.chat, 0);
  const noteTotal = report.shards.reduce((s, x) => s + x.notifications, 0);
  const roomTotal = report.shards.reduce((s, x) => s + x.rooms, 0);
  const userTotal = report.shards.reduce((s, x) => s + x.users, 0);
  const share = (n: number, total: number) => `${n} (${percent(n, total).toFixed(1)}%)`;
  const shardTable = table(
    ["shard", "buckets", "trip rooms", "chat archive rows", "users", "notification rows"],
    report.shards.map((s) => [
      s.binding,
      `${s.buckets} (${percent(s.buckets, BUCKETS).toFixed(1)}%)`,
      share(s.rooms, roomTotal),
      share(s.chat, chatTotal),
      share(s.users, userTotal),
      share(s.notifications, noteTotal),
    ]),
  );
  const cityTable = table(
    ["city", "drivers", "riders", "trips", "matched", "messages", "notifications"],
    report.cities.map((c) => [
      c.city,
      String(c.drivers),
      String(c.riders),
      String(c.trips),
      String(c.matched),
      String(c.messages),
      String(c.notifications),
    ]),
  );
  const checks = report.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`).join("\n");
  return [
    "load per shard (rows this run wrote and the keys they belong to; each share vs the share of the buckets):",
    shardTable,
    `spread off the bucket shares: trip rooms ${report.spread.rooms.toFixed(1)} pts, ` +
      `chat rows ${report.spread.chat.toFixed(1)} pts, users ${report.spread.users.toFixed(1)} pts, ` +
      `notification rows ${report.spread.notifications.toFixed(1)} pts`,
    "",
    "load per city:",
    cityTable,
    "",
    "routing checks:",
    checks,
  ].join("\n");
}

const inBounds = (p: { lat: number; lng: number }, city: City) =>
  p.lat >= city.bounds.south && p.lat <= city.bounds.north && p.lng >= city.bounds.west && p.lng <= city.bounds.east;

/** Reads what the run wrote and checks where each row went. */
async function inspect(args: Args, summaries: Map<string, CitySummary>, map: ShardMap): Promise<Report> {
  const { persistTo } = args;
  const checks: Report["checks"] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // Accounts: the simulator names them sim-<runId>-<role>-<n>@…, one runId per city.
  const cityOfUser = new Map<string, { city: string; role: string }>();
  for (const city of args.cities) {
    const { runId } = (summaries.get(city.name) as CitySummary).run;
    const rows = query(
      "DB",
      `SELECT id, email, role FROM users WHERE email LIKE ${quote(`sim-${runId}-%`)}`,
      persistTo,
    );
    for (const r of rows) cityOfUser.set(String(r.id), { city: city.name, role: String(r.role) });
  }
  const userIds = [...cityOfUser.keys()];

  // Trips: each party's history row in their own shard (the rider's and the driver's), matched
  // to a driver of the rider's own city, and picked up inside it.
  const historyRows = map.bindings.flatMap((binding) =>
    selectIn(binding, "SELECT trip_id, user_id, role, data FROM trip_history", "user_id", userIds, persistTo).map(
      (r) => ({ binding, tripId: String(r.trip_id), userId: String(r.user_id), role: String(r.role), data: r.data }),
    ),
  );
  const historyAway = historyRows.filter((r) => map.byBucket[bucketOf(r.userId)] !== r.binding);
  const trips = historyRows
    .filter((r) => r.role === "rider")
    .map((r) => {
      const data = JSON.parse(String(r.data)) as { driverId: string | null };
      return { id: r.tripId, rider_id: r.userId, driver_id: data.driverId, data: r.data };
    });
  const driverRows = new Set(historyRows.filter((r) => r.role === "driver").map((r) => `${r.tripId}:${r.userId}`));
  const withoutDriverRow = trips.filter((t) => t.driver_id !== null && !driverRows.has(`${t.id}:${t.driver_id}`));
  check(
    "trip history in each party's shard",
    historyAway.length === 0 && withoutDriverRow.length === 0,
    `${historyRows.length} rows for ${trips.length} trips, ${historyAway.length} in another shard, ` +
      `${withoutDriverRow.length} matched trips without the driver's row`,
  );
  const cityOfTrip = new Map<string, string>();
  const crossCity: string[] = [];
  const outside: string[] = [];
  for (const t of trips) {
    const rider = cityOfUser.get(String(t.rider_id)) as { city: string };
    cityOfTrip.set(String(t.id), rider.city);
    if (t.driver_id !== null) {
      const driver = cityOfUser.get(String(t.driver_id));
      if (driver?.city !== rider.city)
        crossCity.push(`${t.id} (${rider.city} rider, ${driver?.city ?? "unknown"} driver)`);
    }
    const data = JSON.parse(String(t.data)) as { pickup?: { lat: number; lng: number } };
    if (data.pickup && !inBounds(data.pickup, CITIES[rider.city] as City)) outside.push(String(t.id));
  }
  const created = [...summaries.values()].reduce((s, c) => s + c.trips.created, 0);
  check(
    "trips recorded",
    trips.length === created,
    `${trips.length} in riders' history of ${created} the cities created`,
  );
  check(
    "matched within the city",
    crossCity.length === 0,
    crossCity.length === 0
      ? `${trips.filter((t) => t.driver_id !== null).length} trips with a driver, all of the rider's city`
      : `cross-city: ${crossCity.slice(0, 5).join(", ")}`,
  );
  check("pickups inside the city", outside.length === 0, `${outside.length} outside`);

  // The chat archive and the notification log, per shard; the archive may still be catching up.
  const tripIds = [...cityOfTrip.keys()];
  const acked = [...summaries.values()].reduce((s, c) => s + c.chat.acked, 0);
  const readShards = () =>
    map.bindings.map((binding) => ({
      binding,
      messages: selectIn(binding, "SELECT id, room_id FROM messages", "room_id", tripIds, persistTo),
      notifications: selectIn(binding, "SELECT id, user_id FROM notifications", "user_id", userIds, persistTo),
    }));
  let shards = readShards();
  const archived = () => shards.reduce((s, x) => s + x.messages.length, 0);
  const waitUntil = Date.now() + ARCHIVE_WAIT_MS;
  while (archived() < acked && Date.now() < waitUntil) {
    await new Promise((r) => setTimeout(r, 2_000));
    shards = readShards();
  }

  const misplaced: string[] = [];
  const seenMessages = new Map<string, number>();
  const seenNotifications = new Map<string, number>();
  const messagesPerCity = new Map<string, number>();
  const notificationsPerCity = new Map<string, number>();
  for (const shard of shards) {
    for (const m of shard.messages) {
      const room = String(m.room_id);
      if (map.byBucket[bucketOf(room)] !== shard.binding) misplaced.push(`message ${m.id} in ${shard.binding}`);
      seenMessages.set(String(m.id), (seenMessages.get(String(m.id)) ?? 0) + 1);
      const city = cityOfTrip.get(room) as string;
      messagesPerCity.set(city, (messagesPerCity.get(city) ?? 0) + 1);
    }
    for (const n of shard.notifications) {
      const user = String(n.user_id);
      if (map.byBucket[bucketOf(user)] !== shard.binding) misplaced.push(`notification ${n.id} in ${shard.binding}`);
      seenNotifications.set(String(n.id), (seenNotifications.get(String(n.id)) ?? 0) + 1);
      const city = (cityOfUser.get(user) as { city: string }).city;
      notificationsPerCity.set(city, (notificationsPerCity.get(city) ?? 0) + 1);
    }
  }
  const doubled = [...seenMessages, ...seenNotifications].filter(([, count]) => count > 1).map(([id]) => id);
  check(
    "rows in the shard their key hashes to",
    misplaced.length === 0,
    misplaced.length === 0 ? "every message and notification" : misplaced.slice(0, 5).join(", "),
  );
  check(
    "every acked message archived once",
    archived() === acked && seenMessages.size === archived(),
    `${archived()} archived of ${acked} acked`,
  );
  // Every simulated user signed in: their sessions are in their own shard, none in DB.
  const sessionRows = map.bindings.flatMap((binding) =>
    selectIn(binding, "SELECT id, user_id FROM auth_sessions", "user_id", userIds, persistTo).map((r) => ({
      binding,
      user: String(r.user_id),
    })),
  );
  const sessionsAway = sessionRows.filter((r) => map.byBucket[bucketOf(r.user)] !== r.binding);
  const withSession = new Set(sessionRows.map((r) => r.user));
  const inDirectory = selectIn("DB", "SELECT id FROM auth_sessions", "user_id", userIds, persistTo).length;
  check(
    "sessions in their user's shard",
    sessionsAway.length === 0 && inDirectory === 0 && withSession.size === userIds.length,
    `${sessionRows.length} sessions of ${withSession.size}/${userIds.length} users, ` +
      `${sessionsAway.length} in another shard, ${inDirectory} in DB`,
  );
  check(
    "no row in two shards",
    doubled.length === 0,
    doubled.length === 0 ? "no id twice" : doubled.slice(0, 5).join(", "),
  );

  const load: ShardLoad[] = shards.map((s) => ({
    binding: s.binding,
    buckets: map.byBucket.filter((b) => b === s.binding).length,
    chat: s.messages.length,
    rooms: new Set(s.messages.map((m) => String(m.room_id))).size,
    notifications: s.notifications.length,
    users: new Set(s.notifications.map((n) => String(n.user_id))).size,
  }));
  const cities: CityLoad[] = args.cities.map((city) => {
    const users = [...cityOfUser.values()].filter((u) => u.city === city.name);
    const own = trips.filter((t) => cityOfTrip.get(String(t.id)) === city.name);
    return {
      city: city.name,
      drivers: users.filter((u) => u.role === "driver").length,
      riders: users.filter((u) => u.role === "rider").length,
      trips: own.length,
      matched: own.filter((t) => t.driver_id !== null).length,
      messages: messagesPerCity.get(city.name) ?? 0,
      notifications: notificationsPerCity.get(city.name) ?? 0,
    };
  });
  return {
    shards: load,
    cities,
    spread: {
      chat: spreadOf(load, "chat"),
      rooms: spreadOf(load, "rooms"),
      notifications: spreadOf(load, "notifications"),
      users: spreadOf(load, "users"),
    },
    checks,
  };
}

async function main(): Promise<number> {
  let args: Args | null;
  try {
    args = parseCityArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`simulate-cities: ${err.message}\n(npm run simulate:cities -- --help lists the options)`);
    return 2;
  }
  if (!args) {
    console.log(USAGE);
    return 0;
  }
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const shardBindings = config.d1_databases.map((d: { binding: string }) => d.binding).filter((b) => b !== "DB");
  const map = parseShardMap(String((config.vars as Record<string, unknown>).SHARD_MAP ?? ""), (name) =>
    shardBindings.includes(name),
  );

  const scratch = mkdtempSync(join(tmpdir(), "ridewire-cities-"));
  try {
    const { cities, rest } = args;
    console.log(`simulate-cities: ${cities.map((c) => c.label).join(", ")} at once`);
    const codes = await Promise.all(cities.map((city) => runCity(city, join(scratch, `${city.name}.json`), rest)));
    const failed = cities.filter((_, i) => codes[i] !== 0).map((c) => c.name);
    if (failed.length > 0) {
      console.error(`simulate-cities: the simulator failed for ${failed.join(", ")}`);
      return 1;
    }
    const summaries = new Map(
      cities.map((c) => [c.name, JSON.parse(readFileSync(join(scratch, `${c.name}.json`), "utf8")) as CitySummary]),
    );
    console.log("\nsimulate-cities: reading the local databases");
    const report = await inspect(args, summaries, map);
    console.log(`\n${formatReport(report)}`);
    if (args.json) {
      writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`simulate-cities: report written to ${args.json}`);
    }
    return report.checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("simulate-cities: failed:", err);
    process.exit(1);
  },
);
