/**
 * The web app's delivery ticks, last seen and its privacy setting, in a real browser (Chromium
 * through playwright-core) against a real `wrangler dev`. The author's page shows one tick while
 * the recipient has no connection, two once a connection of theirs received the message, two
 * blue ones once they read it; a group shows "delivered to N · read by N". The other person's
 * page shows when the author was last seen in the conversation's header, until the author's
 * setting says nobody. The recipients are SDK clients where only their marks matter.
 * Screenshots at 1280 x 800 and 390 x 844 go to test-artifacts/web-chat-delivery/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { signedInPage } from "./helpers/web-page";
import { devServer, type DevServer } from "./helpers/server";
import { type Account, account, sharedRoom } from "./helpers/users";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-artifacts/web-chat-delivery`;
const SEEN_MS = 25_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(`${ROOT}public/build/app.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  server = await devServer("web-chat-delivery");
  await server.start();
  browser = (await launchChromium()).browser;
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

type ChatPage = Page & { errors: string[] };

async function chatPage(who: Account, viewport = DESKTOP): Promise<ChatPage> {
  const page = await signedInPage(browser, contexts, server.baseUrl, who, { viewport });
  await page.goto(`${server.baseUrl}/#/chat`);
  await page.locator(".rooms").first().waitFor();
  return page;
}

/** After a reload the room in the URL (#/chat/<id>) opens again by itself. */
async function reopened(page: Page, roomId: string): Promise<void> {
  await expect
    .poll(() => page.locator(`.rooms [data-room="${roomId}"][aria-current="true"]`).count(), { timeout: SEEN_MS })
    .toBe(1);
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png` });

async function shows(locator: Locator, pattern: RegExp | string): Promise<void> {
  await expect.poll(async () => (await locator.allTextContents()).join(" | "), { timeout: SEEN_MS }).toMatch(pattern);
}

async function hasAttribute(locator: Locator, name: string, value: string): Promise<void> {
  await expect.poll(() => locator.getAttribute(name), { timeout: SEEN_MS }).toBe(value);
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator(".room input[name=message]").fill(text);
  await page.locator(".room").getByRole("button", { name: "Send" }).click();
}

const ticksOf = (page: Page, text: string) =>
  page.locator(".room .messages li.mine", { hasText: text }).locator(".ticks");

describe("the web app's delivery state and last seen", () => {
  it("ticks a direct message sent, delivered, then read, and shows the other person's last seen", {
    timeout: 150_000,
  }, async () => {
    const ada = await account(server.baseUrl, "rider", "Ada Lovelace");
    const bob = await account(server.baseUrl, "rider", "Bob Babbage");
    const dm = await ada.api.directRoom(bob.user.id);
    const adaPage = await chatPage(ada);
    await adaPage.locator(`.rooms [data-room="${dm.id}"]`).click();
    await shows(adaPage.locator(".room h2"), "Bob Babbage");
    // Bob never connected: nothing to say of when he was seen.
    await shows(adaPage.locator("[data-testid=last-seen]"), /^$/);

    await send(adaPage, "are you up?");
    const ticks = ticksOf(adaPage, "are you up?");
    await hasAttribute(ticks, "aria-label", "Sent");
    expect(await ticks.textContent()).toBe("✓");

    // A connection of Bob's opens: the message reached a device of his.
    const bobRoom = bob.api.room(dm.id);
    await new Promise<void>((resolve) => bobRoom.on("welcome", () => resolve()));
    await hasAttribute(ticks, "aria-label", "Delivered");
    expect(await ticks.textContent()).toBe("✓✓");
    await shows(adaPage.locator("[data-testid=last-seen]"), "online");

    // Bob reads it; then he leaves, and his page shows Ada's last seen.
    const seq = Number(await adaPage.locator(".room .messages li.mine").last().getAttribute("data-seq"));
    await bob.api.markRead(dm.id, seq);
    await hasAttribute(ticks, "aria-label", "Read");
    await hasAttribute(ticks, "data-status", "read");
    await shot(adaPage, "1-dm-read-desktop");
    bobRoom.close();
    await shows(adaPage.locator("[data-testid=last-seen]"), /^last seen (just now|\d+ min ago)$/);

    // Reloaded, the page finds the same ticks in history's receipts.
    await adaPage.reload();
    await reopened(adaPage, dm.id);
    await hasAttribute(ticksOf(adaPage, "are you up?"), "aria-label", "Read");

    // Bob's page, on a phone: Ada is in the conversation ("online"), then leaves it.
    const bobPage = await chatPage(bob, PHONE);
    await bobPage.locator(`.rooms [data-room="${dm.id}"]`).click();
    await shows(bobPage.locator(".room h2"), "Ada Lovelace");
    await shows(bobPage.locator("[data-testid=last-seen]"), "online");
    await shot(bobPage, "2-dm-phone");
    await adaPage.goto(`${server.baseUrl}/#/rider`);
    await shows(bobPage.locator("[data-testid=last-seen]"), /^last seen (just now|\d+ min ago)$/);

    // Ada says nobody may see it, in her settings: Bob's page, opened again, shows nothing.
    await adaPage.goto(`${server.baseUrl}/#/chat`);
    const setting = adaPage.getByLabel("Who sees when I was last online");
    await expect.poll(() => setting.isEnabled(), { timeout: SEEN_MS }).toBe(true);
    expect(await setting.inputValue()).toBe("everyone");
    await setting.selectOption("nobody");
    await shows(adaPage.locator(".settings [role=status]"), "Saved: nobody can see when you were last online.");
    await shot(adaPage, "3-settings-desktop");
    await adaPage.goto(`${server.baseUrl}/#/rider`);
    expect((await ada.api.privacy()).lastSeen).toBe("nobody");
    await bobPage.reload();
    await reopened(bobPage, dm.id);
    await shows(bobPage.locator(".room h2"), "Ada Lovelace");
    await expect.poll(() => bob.api.lastSeen(ada.user.id), { timeout: SEEN_MS }).toBeNull();
    await shows(bobPage.locator("[data-testid=last-seen]"), /^$/);
    // Back to contacts: Bob shares a direct conversation with her, so he sees it again.
    await adaPage.goto(`${server.baseUrl}/#/chat`);
    await expect.poll(() => setting.isEnabled(), { timeout: SEEN_MS }).toBe(true);
    await expect.poll(() => setting.inputValue(), { timeout: SEEN_MS }).toBe("nobody");
    await setting.selectOption("contacts");
    await shows(adaPage.locator(".settings [role=status]"), "only your contacts");
    await adaPage.goto(`${server.baseUrl}/#/rider`);
    await bobPage.reload();
    await reopened(bobPage, dm.id);
    await shows(bobPage.locator("[data-testid=last-seen]"), /^last seen /);

    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("counts a group message delivered to and read by its members", { timeout: 120_000 }, async () => {
    const ada = await account(server.baseUrl, "rider", "Ada Group");
    const bob = await account(server.baseUrl, "rider", "Bob Group");
    const cy = await account(server.baseUrl, "rider", "Cy Group");
    const room = await sharedRoom(ada, bob, cy);
    const adaPage = await chatPage(ada, PHONE);
    await adaPage.locator(`.rooms [data-room="${room.id}"]`).click();
    await shows(adaPage.locator(".room h2"), room.name);
    await send(adaPage, "meeting at noon");
    const ticks = ticksOf(adaPage, "meeting at noon");
    await hasAttribute(ticks, "aria-label", "Sent");

    const bobRoom = bob.api.room(room.id);
    await new Promise<void>((resolve) => bobRoom.on("welcome", () => resolve()));
    await hasAttribute(ticks, "aria-label", "Delivered to 1, read by 0");
    await shows(ticks, "delivered to 1 · read by 0");

    const seq = Number(await adaPage.locator(".room .messages li.mine").last().getAttribute("data-seq"));
    await cy.api.markRead(room.id, seq);
    await hasAttribute(ticks, "aria-label", "Delivered to 2, read by 1");
    await hasAttribute(ticks, "data-status", "read");
    await shot(adaPage, "4-group-phone");
    bobRoom.close();
    // Reloaded: history's receipts say the same (Bob's connection closed, his mark stays).
    await adaPage.reload();
    await reopened(adaPage, room.id);
    await hasAttribute(ticksOf(adaPage, "meeting at noon"), "aria-label", "Delivered to 2, read by 1");
    expect(adaPage.errors).toEqual([]);
  });
});
