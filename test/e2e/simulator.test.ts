/**
 * The city simulator (`npm run simulate`) as someone runs it: a child process on the project's
 * Node, through scripts/run-ts.mjs, against a real `wrangler dev`. A small, dense area and short
 * rides let rides finish within a half-minute run. Its `--json` figures must show rides going
 * all the way through (matched, driven, completed, chatted about and rated both ways), fixes
 * reaching riders, every driver signed off, and no errors at all.
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
const scratch = mkdtempSync(join(tmpdir(), "ridewire-simulator-"));

beforeAll(async () => {
  server = await devServer("simulator");
  await server.start();
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function simulate(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["scripts/run-ts.mjs", "scripts/simulate.ts", ...args], {
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

type Summary = {
  trips: {
    requested: number;
    created: number;
    matched: number;
    completed: number;
    noDriver: number;
    cancelled: number;
    cancelledAtEnd: number;
  };
  requestsByTier: Record<string, number>;
  matchTimeMs: { count: number; p50: number | null; p99: number | null };
  locationToRiderMs: { count: number; p50: number | null; p99: number | null };
  offers: { received: number; accepted: number; declined: number; expired: number };
  fixes: { sent: number; notSent: number; refused: number; onTrip: number };
  chat: { sent: number; acked: number; closed: number; received: number };
  ratings: number;
  errors: Record<string, { count: number; where: Record<string, number>; sample: string }>;
  errorCount: number;
};

it("drives a small city for half a minute: rides matched, " +
  "driven, completed, chatted about and rated, with no errors", async () => {
  const json = join(scratch, "summary.json");
  // 8 drivers within 0.6 km of the centre at 200-225 km/h on the wire (40-45 km/h x5): pickups
  // and 0.2-0.5 km rides take seconds. Riders wait 1-3 s between rides; 15 s to finish the last.
  const { code, output } = await simulate([
    "--url",
    server.baseUrl,
    "--drivers",
    "8",
    "--riders",
    "4",
    "--minutes",
    "0.5",
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
    "1-3",
    "--drain",
    "15",
    "--json",
    json,
  ]);
  expect(code, output).toBe(0);
  // Not a terminal: a plain progress line every 5 s, then the table.
  expect(output).toMatch(
    /\[0:\d\d\] drivers online 8\/8 \| trips requested \d+ matched \d+ completed \d+ no_driver \d+ \| errors \d+/,
  );
  expect(output).toContain("errors by code");

  const summary = JSON.parse(readFileSync(json, "utf8")) as Summary;
  const { trips } = summary;
  expect(summary.errors, output).toEqual({});
  expect(trips.completed, output).toBeGreaterThanOrEqual(1);
  expect(trips.noDriver).toBeLessThanOrEqual(1);
  expect(trips.created).toBe(trips.requested);
  // Approval is off here: no driver has a car, so only the default tier is quoted with an ETA and requested.
  expect(summary.requestsByTier).toEqual({ economy: trips.requested });
  expect(trips.matched).toBeGreaterThanOrEqual(trips.completed);
  // Every trip ended one way or another: the simulator cancels what is still open at the end.
  expect(trips.completed + trips.noDriver + trips.cancelled).toBe(trips.created);
  expect(trips.cancelled).toBe(trips.cancelledAtEnd);
  expect(summary.matchTimeMs.count).toBe(trips.matched);
  expect(summary.offers.accepted).toBeGreaterThanOrEqual(trips.completed);
  expect(summary.offers.declined).toBe(0);
  // Fixes taken on trips reached the riders' trip sockets, none refused by the server.
  expect(summary.fixes.refused).toBe(0);
  expect(summary.locationToRiderMs.count).toBeGreaterThan(0);
  // Every message acked, but those that raced their trip's end into its closed chat.
  expect(summary.chat.acked + summary.chat.closed).toBe(summary.chat.sent);
  expect(summary.chat.received).toBeGreaterThan(0);
  expect(summary.ratings).toBe(2 * trips.completed);
}, 100_000);
