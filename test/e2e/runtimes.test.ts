/**
 * The same SDK under Bun and Deno (the npm packages `bun` and `deno` carry their binaries):
 * smoke-client.ts signs two users up, connects both to a room, sends and sees a message,
 * against a real `wrangler dev`. Deno needs --sloppy-imports: the sources import without
 * file extensions, as the bundler-style tsconfig has them.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { devServer, type DevServer } from "./helpers/server";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = "test/e2e/smoke-client.ts";

let server: DevServer;

beforeAll(async () => {
  server = await devServer("runtimes");
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, timeout: 45_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
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

it("runs the room client under Bun and Deno", async () => {
  const [bun, deno] = await Promise.all([
    run(`${ROOT}node_modules/.bin/bun`, [SCRIPT, server.baseUrl]),
    run(`${ROOT}node_modules/.bin/deno`, ["run", "--allow-net", "--sloppy-imports", SCRIPT, server.baseUrl]),
  ]);
  expect({ code: bun.code, ...outcome(bun.stdout) }, bun.stderr).toMatchObject({ code: 0, ok: true, runtime: expect.stringMatching(/^bun /), seq: 1 });
  expect({ code: deno.code, ...outcome(deno.stdout) }, deno.stderr).toMatchObject({ code: 0, ok: true, runtime: expect.stringMatching(/^deno /), seq: 1 });
});
