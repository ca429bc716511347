/**
 * The multi-city simulator (`npm run simulate:cities`) against a real `wrangler dev` with its two
 * local shards: two cities at once, small and dense so rides finish within a short run. Its report
 * must show every routing check passing (trips matched within their city, each party's trip history
 * and every other row in the shard its key hashes to, every acked message archived once) and rows of
 * both kinds in both shards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { devServer, type DevServer } from "./helpers/server";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let server: DevServer;
let child: ChildProcess | null = null;
const scratch = mkdtempSync(join(tmpdir(), "ridewire-simulator-cities-"));

beforeAll(async () => {
  server = await devServer("simulator-cities");
  await server.start();
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function simulateCities(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["scripts/run-ts.mjs", "scripts/simulate-cities.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let output = "";
    proc.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    proc.on("error", reject);
    proc.on("close", (code) => {
      child = null;
      resolve({ code, output });
    });
  });
}

type Report = {
  shards: { binding: string; buckets: number; chat: number; notifications: number }[];
  cities: { city: string; drivers: number; riders: number; trips: number; matched: number; messages: number }[];
  spread: { chat: number; notifications: number };
  checks: { name: string; ok: boolean; detail: string }[];
};

it("runs two cities at once: trips stay in their city, rows land in their shard, both shards get rows", async () => {
  const json = join(scratch, "report.json");
  const { code, output } = await simulateCities([
    "--cities",
    "sf,nyc",
    "--persist-to",
    server.persistTo,
    "--json",
    json,
    "--url",
    server.baseUrl,
    "--drivers",
    "5",
    "--riders",
    "4",
    "--minutes",
    "0.2",
    "--accept",
    "1",
    "--radius",
    "0.6",
    "--kmh",
    "40-45",
    "--speedup",
    "5",
    "--trip-km",
    "0.3-0.6",
    "--idle",
    "1-2",
    "--drain",
    "8",
    "--scheduled",
    "0",
  ]);
  expect(code, output).toBe(0);
  // Each city's own simulator output, tagged, and the report's tables.
  expect(output).toContain("[sf] simulate: San Francisco");
  expect(output).toContain("[nyc] simulate: New York");
  expect(output).toContain("load per shard");

  const report = JSON.parse(readFileSync(json, "utf8")) as Report;
  expect(
    report.checks.filter((c) => !c.ok),
    output,
  ).toEqual([]);
  expect(report.checks.map((c) => c.name)).toEqual([
    "trip history in each party's shard",
    "trips recorded",
    "matched within the city",
    "pickups inside the city",
    "rows in the shard their key hashes to",
    "every acked message archived once",
    "sessions in their user's shard",
    "no row in two shards",
  ]);
  expect(report.cities.map((c) => [c.city, c.drivers, c.riders])).toEqual([
    ["sf", 5, 4],
    ["nyc", 5, 4],
  ]);
  for (const city of report.cities) expect(city.matched, output).toBeGreaterThan(0);
  expect(report.shards.map((s) => [s.binding, s.buckets])).toEqual([
    ["SHARD_0", 512],
    ["SHARD_1", 512],
  ]);
  // Both shards got rows: with a dozen-odd trip rooms and eighteen users, one shard holding all of
  // either kind would be a routing fault (odds under 1 in 2,000 for an even hash).
  for (const shard of report.shards) {
    expect(shard.chat + shard.notifications, output).toBeGreaterThan(0);
  }
  expect(report.shards.reduce((s, x) => s + x.notifications, 0)).toBeGreaterThan(0);
}, 150_000);
