/**
 * A real `wrangler dev` for the end-to-end tests: a fresh `--persist-to` directory with the D1
 * migrations applied, a free port on 127.0.0.1, and a JWT secret of its own. `kill()` SIGKILLs
 * the whole process group (wrangler and its workerd children) the way a crash would; `start()`
 * brings it back on the same port and the same state. Logs go to test-artifacts/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { applyMigrations, ROOT, wranglerArgs, wranglerEnv as env } from "./wrangler";

const READY_TIMEOUT_MS = 60_000;
/** Starts of wrangler dev that may find an address in use before the start fails. */
const START_ATTEMPTS = 3;

export type DevServer = {
  port: number;
  baseUrl: string;
  persistTo: string;
  /** Starts (again) on the same port and state; resolves once /health answers. */
  start(): Promise<void>;
  /** SIGKILL to the whole process group: no shutdown, as in a crash. */
  kill(): Promise<void>;
  /** SIGTERM (then SIGKILL) and removes the state directory. */
  stop(): Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * `vars` override wrangler.toml's [vars] for this server (`--var NAME:VALUE`), e.g. a short ACCESS_TOKEN_TTL_SECONDS.
 */
export async function devServer(name: string, options: { vars?: Record<string, string> } = {}): Promise<DevServer> {
  const persistTo = mkdtempSync(join(tmpdir(), `ridewire-e2e-${name}-`));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logDir = join(ROOT, "test-artifacts");
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `e2e-${name}.log`);

  // A copy of the state the global setup migrated (helpers/migrated-state.ts); migrated here when
  // there is none (a file run on its own outside the e2e project).
  const migrated = inject("migratedState");
  if (migrated) cpSync(migrated, persistTo, { recursive: true, filter: (path) => !path.endsWith(".complete") });
  else await applyMigrations(persistTo);

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;

  const signalGroup = (signal: NodeJS.Signals) => {
    if (child?.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  /** One try at starting; `portTaken` when wrangler found an address in use (its log says so) and exited. */
  const startOnce = async (): Promise<"up" | "portTaken"> => {
    starts++;
    const log = openSync(logPath, starts === 1 ? "w" : "a");
    const [cmd, args] = wranglerArgs([
      "dev",
      "--port",
      String(server.port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      persistTo,
      "--var",
      "JWT_SECRET:e2e-secret-not-for-production-0123456789",
      // The tests register webhooks on 127.0.0.1 (README, "Security": loopback is off by default).
      "--var",
      "ALLOW_LOOPBACK_WEBHOOKS:true",
      // The tests' drivers go online unapproved, as with `npm run dev` (README, "Drivers and vehicles").
      "--var",
      "DRIVER_APPROVAL_REQUIRED:false",
      ...Object.entries(options.vars ?? {}).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ]);
    // detached: its own process group, so one signal reaches wrangler and every workerd it started.
    const proc = spawn(cmd, args, { cwd: ROOT, env: env(), detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    child = proc;
    exited = new Promise((done) => proc.once("exit", () => done()));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (proc.exitCode !== null) {
        if (readFileSync(logPath, "utf8").includes("Address already in use")) return "portTaken";
        throw new Error(`wrangler dev exited with ${proc.exitCode}; see ${logPath}`);
      }
      try {
        const res = await fetch(`${server.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) return "up";
      } catch {
        // not up yet
      }
      if (Date.now() > deadline)
        throw new Error(`wrangler dev did not answer /health within ${READY_TIMEOUT_MS} ms; see ${logPath}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const server: DevServer = {
    port,
    baseUrl,
    persistTo,
    /**
     * With test files side by side, another process can take a port between `freePort` answering and wrangler binding
     * it (ours, or one wrangler picks for itself): wrangler then exits with "Address already in use", and it is started
     * again, on a new port the first time (nobody knows the old one yet), on the same one after a kill.
     */
    async start() {
      const first = starts === 0;
      for (let attempt = 1; ; attempt++) {
        if ((await startOnce()) === "up") return;
        if (attempt === START_ATTEMPTS) throw new Error(`wrangler dev found its address in use ${attempt} times`);
        await exited;
        if (first) {
          server.port = await freePort();
          server.baseUrl = `http://127.0.0.1:${server.port}`;
        } else await new Promise((r) => setTimeout(r, 500));
      }
    },
    async kill() {
      signalGroup("SIGKILL");
      await exited;
      child = null;
    },
    async stop() {
      signalGroup("SIGTERM");
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5_000));
      if ((await Promise.race([exited, timeout])) === "timeout") signalGroup("SIGKILL");
      // The group may hold workerd children that outlive wrangler's exit on SIGTERM.
      signalGroup("SIGKILL");
      await exited;
      child = null;
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
  return server;
}
