// The runtime's floor servers, shared by bench/runtime-floor.mjs (one null object per socket)
// and bench/run.mjs (a null chat room): a fixture of bench/floor/ copied into a fresh temporary
// directory, and the command that serves it under `wrangler dev` or plain `workerd serve`.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { devServerArgs } from "./lib.mjs";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const FIXTURES = join(ROOT, "bench/floor");

/** The Node that runs wrangler: the npm `node` package's (>= 22.12) when installed. */
export const NODE = existsSync(join(ROOT, "node_modules/node/bin/node"))
  ? join(ROOT, "node_modules/node/bin/node")
  : process.execPath;
export const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** The workerd binary wrangler dev itself runs (wrangler → its miniflare → workerd), so both runtimes are one build. */
export function workerdBinary() {
  try {
    const fromWrangler = createRequire(join(ROOT, "node_modules/wrangler/package.json"));
    const fromMiniflare = createRequire(fromWrangler.resolve("miniflare"));
    const fromWorkerd = createRequire(fromMiniflare.resolve("workerd/package.json"));
    const bin = fromWorkerd.resolve(
      `@cloudflare/workerd-${process.platform}-${process.arch === "x64" ? "64" : process.arch}/bin/workerd`,
    );
    if (existsSync(bin)) return bin;
  } catch {
    // fall through
  }
  for (const p of [
    "node_modules/wrangler/node_modules/@cloudflare/workerd-linux-64/bin/workerd",
    "node_modules/@cloudflare/workerd-linux-64/bin/workerd",
  ]) {
    if (existsSync(join(ROOT, p))) return join(ROOT, p);
  }
  throw new Error("no workerd binary found under node_modules (npm install)");
}

/**
 * Copies the fixture `hub` (a file of bench/floor/ exporting a Durable Object class `Hub`, or of
 * `fixtures`, another directory with its own wrangler.toml template) into a fresh temporary
 * directory and returns how to serve it on `port`:
 *   runtime "wrangler": `wrangler dev` (its entry proxy and the Worker's workerd), with wrangler's
 *     local observability on or off (`observability`; `npm run dev` runs ridewire with it off);
 *   runtime "workerd": plain `workerd serve` from a generated capnp, no entry proxy.
 * Both keep Durable Object storage in SQLite under the directory. `nodeModules` links the
 * repository's node_modules into it, for a fixture that imports a package (bench/peers/partyserver);
 * `base` is where the directory is made (bench/run.mjs passes its --state-dir, tmpfs by default).
 * `assets` (wrangler only) gives the Worker static assets in front of it as ridewire's wrangler.toml
 * does ([assets] with run_worker_first), so that wrangler dev puts its asset router before the
 * Worker: every request and every socket then passes through that router, as ridewire's do.
 * `workerFirst` lists the paths the router hands to the Worker unread (ridewire's /v1/* and /health).
 * The caller removes `dir`.
 */
export function prepareFloorServer({
  hub,
  runtime,
  port,
  inspectorPort,
  observability = false,
  prefix = "ridewire-floor-",
  fixtures = FIXTURES,
  nodeModules = false,
  assets = false,
  workerFirst = ["/rooms/*", "/health"],
  base = tmpdir(),
}) {
  if (!existsSync(join(fixtures, hub))) throw new Error(`no fixture ${join(fixtures, hub)}`);
  if (runtime !== "wrangler" && runtime !== "workerd") throw new Error(`unknown runtime ${runtime}`);
  if (runtime === "wrangler" && !existsSync(WRANGLER)) throw new Error(`no wrangler at ${WRANGLER} (npm install)`);
  const bin = runtime === "workerd" ? workerdBinary() : NODE;
  const dir = mkdtempSync(join(base, prefix));
  copyFileSync(join(fixtures, hub), join(dir, hub));
  if (nodeModules) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  if (runtime === "workerd") {
    const doDir = join(dir, "do");
    mkdirSync(doDir);
    const capnp = readFileSync(join(FIXTURES, "workerd.capnp"), "utf8")
      .replaceAll("@DO_DIR@", doDir)
      .replaceAll("@ADDRESS@", `127.0.0.1:${port}`)
      .replaceAll("@MAIN@", hub);
    writeFileSync(join(dir, "config.capnp"), capnp);
    return { dir, cmd: bin, args: ["serve", join(dir, "config.capnp")], env: {} };
  }
  let config = readFileSync(join(fixtures, "wrangler.toml"), "utf8").replaceAll("@MAIN@", hub);
  if (assets) {
    mkdirSync(join(dir, "public"));
    writeFileSync(join(dir, "public/index.html"), "<!doctype html><title>floor</title>\n");
    config += `\n[assets]\ndirectory = "./public"\nrun_worker_first = ${JSON.stringify(workerFirst)}\n`;
  }
  writeFileSync(join(dir, "wrangler.toml"), config);
  return {
    dir,
    cmd: bin,
    env: { X_LOCAL_OBSERVABILITY: observability ? "true" : "false" },
    args: [
      WRANGLER,
      "dev",
      "--config",
      join(dir, "wrangler.toml"),
      ...devServerArgs(port, join(dir, "state")),
      ...(inspectorPort ? ["--inspector-port", String(inspectorPort)] : []),
    ],
  };
}
