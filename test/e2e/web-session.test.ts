/**
 * The web app's session in a real browser against a `wrangler dev` whose access tokens live
 * 10 s: the tab refreshes by itself (a chat room's socket and HTTP calls keep working past the
 * token's expiry, at desktop then at phone size, and the stored refresh token moves on), and when its session is ended
 * elsewhere (logout of every session) the tab lands on the sign-in page by itself, says why, and once signed in again
 * goes back to the page it was on: a chat room, kept in the URL across reloads (at desktop size), and a private
 * chat room (at phone size) into which its owner invited someone she chats with and someone by the user id he shared.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RidewireClient } from "@ridewire/client";
import { launchChromium } from "./helpers/browser";
import { devServer, type DevServer } from "./helpers/server";
import { account, sharedRoom } from "./helpers/users";
import { expectAccessible } from "./helpers/web-page";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TTL_SECONDS = 10;
const SEEN_MS = 20_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server: DevServer;
let browser: Browser;
// Closed after all the tests: the npm Chromium runs as one process, which closing its last context would end.
const contexts: BrowserContext[] = [];

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
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

type Stored = { token: string; refreshToken: string; expiresAt: number };
const stored = (page: Page) =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("ridewire.session") ?? "null") as Stored | null);

describe("the web app's session", () => {
  it("refreshes by itself, and shows the sign-in page once the session is ended elsewhere", async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${server.baseUrl}/`);
    await page.getByRole("button", { name: "New here? Create an account" }).click();
    const email = `tab-${Date.now()}@web.example`;
    await page.getByLabel("Email").fill(email);
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
    // The tab at phone size (the same session, refreshed): an HTTP call works there too.
    await page.setViewportSize(PHONE);
    // (On a phone the open room takes the screen: the list, with its form, is one tap back.)
    await page.getByRole("button", { name: "← All chats" }).click();
    await page.getByLabel("New room name").fill("Day shift");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Day shift");
    const later = await stored(page);
    expect(later?.refreshToken).not.toBe(first?.refreshToken);
    expect(await page.getByRole("button", { name: "Sign in" }).count()).toBe(0);

    // Back at desktop size, a reload stays in the room (the next test has it at phone size).
    await page.setViewportSize(DESKTOP);
    const roomHash = await page.evaluate<string>("location.hash");
    expect(roomHash).toMatch(/^#\/chat\/room_/);
    await page.reload();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Day shift");

    // Every session ends (say, from another device): the tab finds out and asks to sign in, saying why; signed in
    // again, it is back in the room.
    const elsewhere = new RidewireClient({ baseUrl: server.baseUrl, session: (await stored(page))! });
    await elsewhere.logout({ all: true });
    await expect
      .poll(() => page.getByRole("button", { name: "Sign in" }).count(), { timeout: TTL_SECONDS * 1000 + SEEN_MS })
      .toBe(1);
    expect(await stored(page)).toBeNull();
    await expect
      .poll(() => page.locator("form.auth [role=status]").textContent(), { timeout: SEEN_MS })
      .toBe("Your session has ended. Sign in again to go back to where you were.");
    await expectAccessible(page, "the sign-in page after the session ended, at desktop size");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Day shift");
    expect(await page.evaluate<string>("location.hash")).toBe(roomHash);
    expect(errors).toEqual([]);
  }, 120_000);

  it("keeps the open room in the URL, invites into a private room, and after the session ends signs in back there", {
    timeout: 150_000,
  }, async () => {
    const owner = await account(server.baseUrl, "rider", "Pia Private");
    const friend = await account(server.baseUrl, "driver", "Finn Friend");
    const stranger = await account(server.baseUrl, "rider", "Sid Stranger");
    // Pia and Finn share a public room: Finn is someone Pia chats with, whom the invite form offers.
    await sharedRoom(owner, friend);
    const context = await browser.newContext({ viewport: PHONE });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    const signIn = async () => {
      await page.getByLabel("Email").fill(owner.email);
      await page.getByLabel("Password").fill(owner.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.locator("nav .who").textContent(), { timeout: SEEN_MS }).toContain("Pia");
    };
    await page.goto(`${server.baseUrl}/#/chat`);
    await signIn();
    await page.getByLabel("New room name").fill("Secret garden");
    await page.getByLabel("private").check();
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Secret garden");
    await expect.poll(() => page.evaluate<string>("location.hash"), { timeout: SEEN_MS }).toMatch(/^#\/chat\/room_/);
    const roomHash = await page.evaluate<string>("location.hash");
    const roomId = decodeURIComponent(roomHash.replace("#/chat/", ""));

    // Invite: Finn from the list of people Pia chats with; Sid by the user id he shared.
    await page.getByText("Invite people").click();
    const picker = page.getByLabel("Someone you chat with");
    await expect.poll(() => picker.locator("option").allTextContents(), { timeout: SEEN_MS }).toContain("Finn Friend");
    await picker.selectOption({ label: "Finn Friend" });
    await page.getByRole("button", { name: "Add to room" }).click();
    await expect
      .poll(() => page.locator(".invite [role=status]").textContent(), { timeout: SEEN_MS })
      .toBe("Finn Friend can now see Secret garden and write in it.");
    await page.getByLabel("User id to invite").fill(stranger.user.id);
    await page.getByRole("button", { name: "Add to room" }).click();
    await expect
      .poll(() => page.locator(".invite [role=status]").textContent(), { timeout: SEEN_MS })
      .toBe("They can now see Secret garden and write in it.");
    // An id that is nobody's is refused in a sentence.
    await page.getByLabel("User id to invite").fill("usr_nobody_at_all");
    await page.getByRole("button", { name: "Add to room" }).click();
    // The line held a sentence already (the last invite's): the refusal is told by its kind, then by its words.
    await expect
      .poll(() => page.locator(".invite [role=status]").getAttribute("data-kind"), { timeout: SEEN_MS })
      .toBe("error");
    const refusal = await page.locator(".invite [role=status]").textContent();
    expect(refusal).toMatch(/^[A-Z][^_{}]*\.$/);
    expect(refusal).not.toMatch(/can now see/);
    const members = (await owner.api.members(roomId)).map((m) => m.userId).sort();
    expect(members).toEqual([owner.user.id, friend.user.id, stranger.user.id].sort());
    expect((await friend.api.roomList()).rooms.map((r) => r.id)).toContain(roomId);
    await expectAccessible(page, "the chat's invite form, at phone size");
    await page.screenshot({ path: `${ROOT}test-artifacts/web-session-invite-phone.png`, fullPage: true });

    // A reload stays in the room.
    await page.reload();
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Secret garden");

    // The session ends elsewhere: the sign-in page says so (no "missing or invalid token"), and signing in again
    // goes back to the room.
    const elsewhere = new RidewireClient({ baseUrl: server.baseUrl, session: (await stored(page))! });
    await elsewhere.logout({ all: true });
    await expect
      .poll(() => page.getByRole("button", { name: "Sign in" }).count(), { timeout: TTL_SECONDS * 1000 + SEEN_MS })
      .toBe(1);
    await expect
      .poll(() => page.locator("form.auth [role=status]").textContent(), { timeout: SEEN_MS })
      .toBe("Your session has ended. Sign in again to go back to where you were.");
    expect(await page.locator("body").textContent()).not.toMatch(/missing or invalid token/);
    await expectAccessible(page, "the sign-in page after the session ended, at phone size");
    await page.screenshot({ path: `${ROOT}test-artifacts/web-session-ended-phone.png`, fullPage: true });
    await signIn();
    expect(await page.evaluate<string>("location.hash")).toBe(roomHash);
    await expect.poll(() => page.locator(".room h2").textContent(), { timeout: SEEN_MS }).toContain("Secret garden");
    expect(errors).toEqual([]);
  });
});
