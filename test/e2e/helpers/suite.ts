/**
 * What a browser test file starts from: the web app built, a `wrangler dev` of its own (with `vars` over
 * wrangler.toml's), Chromium, and a folder for its screenshots; the file's beforeAll and afterAll are registered
 * here, so a file says only what its server needs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium } from "./browser";
import { devServer, type DevServer } from "./server";
import { ROOT } from "./wrangler";

export type BrowserSuite = {
  /** The file's server and browser, once its beforeAll has run. */
  readonly server: DevServer;
  readonly browser: Browser;
  /** Contexts the file opens (signedInPage, blankPage): closed after all its tests. */
  readonly contexts: BrowserContext[];
  /** A full-page screenshot into test-artifacts/<name>/. */
  shot(page: Page, name: string): Promise<Buffer>;
};

/**
 * The dev city's street-map archive (scripts/dev-tiles.mjs) made and put in the local R2 bucket of the server whose
 * state is in `persistTo`, before it starts: what a server with `MAP_TILES_ARCHIVE: "dev-city"` serves.
 */
export function putDevTiles(persistTo: string): void {
  const archive = join(mkdtempSync(join(tmpdir(), "ridewire-tiles-")), "dev-city.pmtiles");
  const tiles = spawnSync(
    process.execPath,
    ["scripts/dev-tiles.mjs", "--out", archive, "--put", "--persist-to", persistTo],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (tiles.status !== 0) throw new Error(`dev tiles failed: ${tiles.stdout}\n${tiles.stderr}`);
}

/**
 * `vars` may be a function, called in the beforeAll: for a value known only once an earlier beforeAll of the file has
 * run (a stand-in's address). `devTiles`: the street map's archive is put in the server's bucket first (`putDevTiles`).
 */
export function browserSuite(
  name: string,
  options: { vars?: Record<string, string> | (() => Record<string, string>); devTiles?: boolean } = {},
): BrowserSuite {
  const shots = join(ROOT, "test-artifacts", name);
  let server: DevServer | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    // A run of the file alone builds the app (`npm test` builds it first).
    if (!existsSync(join(ROOT, "public/build/app.js"))) {
      const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
      if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
    }
    mkdirSync(shots, { recursive: true });
    const vars = typeof options.vars === "function" ? options.vars() : (options.vars ?? {});
    server = await devServer(name, { vars });
    if (options.devTiles) putDevTiles(server.persistTo);
    // Chromium starts while the server does: it waits most of its start on wrangler's.
    const launched = launchChromium();
    await server.start().catch(async (err) => {
      await (await launched).browser.close();
      throw err;
    });
    browser = (await launched).browser;
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: use it inside a test`);
    return value;
  };
  return {
    get server() {
      return started(server, "the server");
    },
    get browser() {
      return started(browser, "the browser");
    },
    contexts,
    shot: (page, file) => page.screenshot({ path: join(shots, `${file}.png`), fullPage: true }),
  };
}
