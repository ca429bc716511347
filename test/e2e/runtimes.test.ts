/**
 * The published SDK under Node, Bun and Deno (the npm packages `bun` and `deno` carry their
 * binaries): the package is built first, and smoke-client.ts imports "@ridewire/client" as an
 * app would, which in these runtimes resolves through the workspace link to the package's
 * exports, i.e. its built dist/index.js (only this repository's tools ask for the source). It
 * signs two users up, connects both to a room, sends and sees a message, against a real
 * `wrangler dev`. Node runs the TypeScript file with its built-in type stripping.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { devServer, type DevServer } from "./helpers/server";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = "test/e2e/smoke-client.ts";

let server: DevServer;

beforeAll(async () => {
  const built = await run("npm", ["run", "build", "--workspace", "@ridewire/client"]);
  expect(built.code, built.stderr).toBe(0);
  server = await devServer("runtimes");
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: ROOT, timeout: 45_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The one JSON line the script prints. */
function outcome(stdout: string): { ok: boolean; runtime?: string; seq?: number; error?: string } {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, error: `no JSON line in: ${stdout.slice(0, 500)}` };
  }
}

it("runs the built room client under Node, Bun and Deno", async () => {
  const [node, bun, deno] = await Promise.all([
    run(process.execPath, [SCRIPT, server.baseUrl]),
    run(`${ROOT}node_modules/.bin/bun`, [SCRIPT, server.baseUrl]),
    run(`${ROOT}node_modules/.bin/deno`, ["run", "--allow-net", SCRIPT, server.baseUrl]),
  ]);
  expect({ code: node.code, ...outcome(node.stdout) }, node.stderr).toMatchObject({
    code: 0,
    ok: true,
    runtime: expect.stringMatching(/^node v22/),
    seq: 1,
  });
  expect({ code: bun.code, ...outcome(bun.stdout) }, bun.stderr).toMatchObject({
    code: 0,
    ok: true,
    runtime: expect.stringMatching(/^bun /),
    seq: 1,
  });
  expect({ code: deno.code, ...outcome(deno.stdout) }, deno.stderr).toMatchObject({
    code: 0,
    ok: true,
    runtime: expect.stringMatching(/^deno /),
    seq: 1,
  });
});
