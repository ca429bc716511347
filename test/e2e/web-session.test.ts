/**
 * The web app's session in a real browser against a `wrangler dev` whose access tokens live
 * 10 s: the tab refreshes by itself (a chat room's socket and HTTP calls keep working past the
 * token's expiry, and the stored refresh token moves on), and when its session is ended
 * elsewhere (logout of every session) the tab lands on the sign-in page by itself.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RidewireClient } from "@ridewire/client";
import { launchChromium } from "./helpers/browser";
import { devServer, type DevServer } from "./helpers/server";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TTL_SECONDS = 10;
const SEEN_MS = 20_000;

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  // A run of this file alone builds the app (`npm test` builds it first).
  if (!existsSync(`${ROOT}public/build/app.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  server = await devServer("web-session", { vars: { ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) } });
  await server.start();
  browser = (await launchChromium()).browser;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

type Stored = { token: string; refreshToken: string; expiresAt: number };
const stored = (page: Page) =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("ridewire.session") ?? "null") as Stored | null);

describe("the web app's session", () => {
  it("refreshes by itself, and shows the sign-in page once the session is ended elsewhere", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${server.baseUrl}/`);
    await page.getByRole("button", { name: "New here? Create an account" }).click();
    await page.getByLabel("Email").fill(`tab-${Date.now()}@web.example`);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByLabel("Name").fill("Tabby");
    await page.getByLabel("I am a").selectOption("rider");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => page.locator("nav .who").textContent(), { timeout: SEEN_MS }).toContain("Tabby (rider)");
    const first = await stored(page);
    expect(first?.refreshToken).toEqual(expect.any(String));

    await page.goto(`${server.baseUrl}/#/chat`);
    await page.getByLabel("New room name").fill("Night shift");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Night shift");

    // Past the first token's life: the open room and a new HTTP call both still work.
    await page.waitForTimeout(TTL_SECONDS * 1000 + 2_000);
    await page.locator(".room input[name=message]").fill("still signed in");
    await page.locator(".room").getByRole("button", { name: "Send" }).click();
    await expect
      .poll(() => page.locator(".room .messages").textContent(), { timeout: SEEN_MS })
      .toMatch(/still signed in/);
    await page.getByLabel("New room name").fill("Day shift");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Day shift");
    const later = await stored(page);
    expect(later?.refreshToken).not.toBe(first?.refreshToken);
    expect(await page.getByRole("button", { name: "Sign in" }).count()).toBe(0);

    // Every session ends (say, from another device): the tab finds out and asks to sign in.
    const elsewhere = new RidewireClient({ baseUrl: server.baseUrl, session: (await stored(page))! });
    await elsewhere.logout({ all: true });
    await expect
      .poll(() => page.getByRole("button", { name: "Sign in" }).count(), { timeout: TTL_SECONDS * 1000 + SEEN_MS })
      .toBe(1);
    expect(await stored(page)).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
