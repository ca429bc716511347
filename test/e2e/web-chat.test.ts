/**
 * The web app's chat in a real browser (Chromium through playwright-core) against a real
 * `wrangler dev`: two users, each in a browser context of their own, message each other
 * directly and see the unread badges come and go; edit, delete, answer and react to messages
 * and see each other's changes live; and send an image (shown inline to the other) and a file
 * (a download link), with refused files explained in words. The chat is checked at a desktop's
 * 1280 x 800 and a phone's 390 x 844 (no sideways scrolling). The delivery ticks, last seen and
 * its privacy setting: the author's page shows one tick while the recipient has no connection,
 * two once a connection of theirs received the message, two blue ones once they read it; a group
 * shows "delivered to N · read by N"; the other person's page shows when the author was last seen
 * in the conversation's header, until the author's setting says nobody (the recipients there are
 * SDK clients, where only their marks matter). A burst of messages is marked read at once and then
 * at most once a second, through the newest: not a mark per message, which the room would send to
 * every member. A room that opens while messages are sent shows every one of them, those stored
between its first history page and its socket's welcome included. Screenshots go to
test-artifacts/web-chat/.
 */
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { stripedPng } from "./helpers/png";
import { browserSuite } from "./helpers/suite";
import { type Account, account, sharedRoom } from "./helpers/users";
import { type AppPage, expectAccessible, SEEN_MS, signedInPage } from "./helpers/web-page";

/** Small, so that "too large" can be shown with a small file. */
const MAX_BYTES = 64 * 1024;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const suite = browserSuite("web-chat", { vars: { ATTACHMENT_MAX_BYTES: String(MAX_BYTES) } });

/** `who` signed in through the form in a fresh browser context, on the chat view. */
async function chatPage(who: Account, viewport = DESKTOP): Promise<AppPage> {
  // Deleting asks first; the tests say yes.
  const page = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, who, { viewport }, (p) =>
    p.on("dialog", (dialog) => void dialog.accept()),
  );
  await page.goto(`${suite.server.baseUrl}/#/chat`);
  await page.locator(".rooms").first().waitFor();
  return page;
}

/** Waits until `locator`'s text (all of its matches) matches `pattern`. */
async function shows(locator: Locator, pattern: RegExp | string): Promise<void> {
  await expect.poll(async () => (await locator.allTextContents()).join(" | "), { timeout: SEEN_MS }).toMatch(pattern);
}

const messageWith = (page: Page, text: string | RegExp) => page.locator(".room .messages li", { hasText: text });

async function openRoom(page: Page, name: string): Promise<void> {
  // Exactly this name: "e2e 1" is not "e2e 12".
  const named = page.locator(".room-name").getByText(name, { exact: true });
  await page.locator(".rooms .room-link").filter({ has: named }).click();
  await shows(page.locator(".room h2"), name);
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator(".room input[name=message]").fill(text);
  await page.locator(".room").getByRole("button", { name: "Send" }).click();
}

/** Opens a message's menu and presses one of its buttons. */
async function act(message: Locator, action: string): Promise<void> {
  await message.locator("summary").click();
  await message.locator(".action-list").getByRole("button", { name: action, exact: true }).click();
}

type Img = { complete: boolean; naturalWidth: number };
/** The width of the picture an `img` shows once loaded (0 before). */
const loadedWidth = (image: Locator) =>
  image.evaluate((img) => ((img as unknown as Img).complete ? (img as unknown as Img).naturalWidth : 0));

/** Waits until `locator`'s attribute has `value`. */
async function hasAttribute(locator: Locator, name: string, value: string): Promise<void> {
  await expect.poll(() => locator.getAttribute(name), { timeout: SEEN_MS }).toBe(value);
}

/** Waits until `locator` is hidden (or gone), or shown. */
async function isShown(locator: Locator, shown: boolean): Promise<void> {
  await expect.poll(() => locator.isVisible(), { timeout: SEEN_MS }).toBe(shown);
}

/** The page is no wider than its viewport: nothing scrolls sideways (the failure names what sticks out). */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const wider = await page.evaluate(() => {
    // Runs in the page; this file is typed for Node, without the DOM's types.
    type Box = { right: number };
    type El = { tagName: string; className: string; getBoundingClientRect(): Box };
    const doc = (
      globalThis as unknown as {
        document: { documentElement: { clientWidth: number }; querySelectorAll(s: string): Iterable<El> };
      }
    ).document;
    const width = doc.documentElement.clientWidth;
    return [...doc.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.getBoundingClientRect().right}`);
  });
  expect(wider).toEqual([]);
}

/** After a reload the room in the URL (#/chat/<id>) opens again by itself. */
async function reopened(page: Page, roomId: string): Promise<void> {
  await expect
    .poll(() => page.locator(`.rooms [data-room="${roomId}"][aria-current="true"]`).count(), { timeout: SEEN_MS })
    .toBe(1);
}

const ticksOf = (page: Page, text: string) =>
  page.locator(".room .messages li.mine", { hasText: text }).locator(".ticks");

describe("the web app's chat", () => {
  it("starts a direct conversation from a room's members, with unread badges that clear once read", {
    timeout: 150_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada Lovelace");
    const bob = await account(suite.server.baseUrl, "rider", "Bob Babbage");
    const room = await sharedRoom(ada, bob);
    const adaPage = await chatPage(ada);
    const bobPage = await chatPage(bob);

    // Bob's keyboard is on the room's entry: the list's redraws leave it there.
    await bobPage.locator(`.rooms [data-room="${room.id}"]`).focus();
    await openRoom(adaPage, room.name);
    await adaPage.locator(".members summary").click();
    await isShown(adaPage.getByRole("button", { name: "Message Bob Babbage" }), true);
    await expectAccessible(adaPage, "the chat's members menu, at desktop size");
    await adaPage.getByRole("button", { name: "Message Bob Babbage" }).click();
    await shows(adaPage.locator(".room h2"), "Bob Babbage");
    await send(adaPage, "psst, Bob");
    await send(adaPage, "are you there?");
    await shows(adaPage.locator(".room .messages"), /You psst, Bob.*You are you there\?/);

    // Bob, on the list, sees the conversation named after Ada with its count, and the total.
    const dm = bobPage.locator("[aria-label='Direct messages'] .room-link", { hasText: "Ada Lovelace" });
    await shows(dm.locator(".badge"), "2");
    await hasAttribute(dm.locator(".badge"), "aria-label", "2 unread");
    await shows(bobPage.locator("h2 .total .badge"), "2");
    expect(await bobPage.title()).toMatch(/^\(2\) /);
    expect(await bobPage.locator(":focus").getAttribute("data-room")).toBe(room.id);
    await suite.shot(bobPage, "1-unread-desktop");

    await dm.click();
    await shows(bobPage.locator(".room h2"), "Ada Lovelace");
    await shows(bobPage.locator(".room .messages"), /Ada Lovelace psst, Bob.*Ada Lovelace are you there\?/);
    await send(bobPage, "here!");
    await shows(adaPage.locator(".room .messages"), /Bob Babbage here!/);
    // The server has the read mark: the count stays gone once Bob is in another room.
    await openRoom(bobPage, room.name);
    await expect.poll(() => dm.locator(".badge").count(), { timeout: SEEN_MS }).toBe(0);
    await expect.poll(() => bobPage.locator("h2 .total .badge").count(), { timeout: SEEN_MS }).toBe(0);
    // A direct conversation has no members to message: the list is not shown there.
    await dm.click();
    await isShown(bobPage.locator(".room .members"), false);
    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("shows edits, deletes, replies and reactions to the other member live", { timeout: 150_000 }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const adaPage = await chatPage(ada);
    const bobPage = await chatPage(bob);
    await openRoom(adaPage, room.name);
    await openRoom(bobPage, room.name);

    await send(adaPage, "meet at the statoin");
    await shows(messageWith(bobPage, "meet at the statoin"), /Ada meet at the statoin/);
    await act(messageWith(adaPage, "statoin"), "Edit");
    const edit = adaPage.getByLabel("Edit message");
    await edit.fill("meet at the station");
    await edit.press("Enter");
    await shows(messageWith(bobPage, "meet at the station"), /Ada meet at the station \(edited\)/);

    // Bob answers it: both see the quote.
    await act(messageWith(bobPage, "station"), "Reply");
    await shows(bobPage.locator(".replying"), "Replying to Ada: meet at the station");
    await send(bobPage, "on my way");
    // The quote names the author of the message answered: Ada herself, on her page.
    await shows(messageWith(adaPage, "on my way").locator(".quote"), "You: meet at the station");
    await isShown(bobPage.locator(".replying"), false);

    // A reaction each: the counts and who pressed them show on both sides.
    await act(messageWith(bobPage, "station").first(), "React 👍");
    const adaThumbs = messageWith(adaPage, "meet at the station").first().locator(".reaction", { hasText: "👍" });
    await shows(adaThumbs, "👍 1");
    await hasAttribute(adaThumbs, "aria-pressed", "false");
    await adaThumbs.click();
    const bobThumbs = messageWith(bobPage, "meet at the station").first().locator(".reaction", { hasText: "👍" });
    await shows(bobThumbs, "👍 2");
    await hasAttribute(bobThumbs, "aria-pressed", "true");
    // Pressing it again takes Bob's back.
    await bobThumbs.click();
    await shows(adaThumbs, "👍 1");
    await suite.shot(adaPage, "2-changes-desktop");

    // Bob may not delete Ada's message; Ada deletes it, and both see the tombstone.
    const adasOnBob = messageWith(bobPage, "meet at the station").first();
    await adasOnBob.locator("summary").click();
    await isShown(adasOnBob.getByRole("button", { name: "Reply" }), true);
    await expectAccessible(bobPage, "the chat's message menu, at desktop size");
    expect(await adasOnBob.getByRole("button", { name: "Delete" }).count()).toBe(0);
    await act(messageWith(adaPage, "meet at the station").first(), "Delete");
    await shows(bobPage.locator(".room .messages li.deleted"), "Ada This message was deleted");
    await shows(messageWith(bobPage, "on my way").locator(".quote"), "a deleted message");
    // The owner of the room is its moderator: Ada may delete Bob's message too.
    await act(messageWith(adaPage, "on my way"), "Delete");
    await shows(bobPage.locator(".room .messages li.deleted"), /You This message was deleted/);

    // A reload finds the same state in history.
    await bobPage.reload();
    await openRoom(bobPage, room.name);
    await shows(bobPage.locator(".room .messages"), /Ada This message was deleted.*You This message was deleted/);
    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("shows a message as sending until the server has it, across a lost connection", { timeout: 150_000 }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const adaPage = await chatPage(ada);
    const bobPage = await chatPage(bob);
    await openRoom(adaPage, room.name);
    await openRoom(bobPage, room.name);
    await send(adaPage, "first");
    await shows(messageWith(bobPage, "first"), /Ada first/);
    // Bob may see it before Ada's page has read its ack; an ack lost with the connection would leave
    // "first" sending too (rightly: the outbox sends it again on reconnect), so wait for it.
    await expect.poll(() => adaPage.locator(".room .messages li.pending").count(), { timeout: SEEN_MS }).toBe(0);

    // The socket drops (as on a train); the message waits in the SDK's outbox, shown as sending.
    await adaPage.context().setOffline(true);
    await send(adaPage, "through the tunnel");
    await shows(adaPage.locator(".room .messages li.pending"), /You through the tunnel Sending…/);
    // Still waiting a while later: nothing reached the server.
    await adaPage.waitForTimeout(2_000);
    expect(await adaPage.locator(".room .messages li.pending").count()).toBe(1);
    expect(await messageWith(bobPage, "through the tunnel").count()).toBe(0);
    await adaPage.context().setOffline(false);
    await shows(messageWith(bobPage, "through the tunnel"), /Ada through the tunnel/);
    await expect.poll(() => adaPage.locator(".room .messages li.pending").count(), { timeout: SEEN_MS }).toBe(0);
    await shows(messageWith(adaPage, "through the tunnel"), /You through the tunnel/);
    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("shows a message stored after the room's history was read and before its socket was welcomed", {
    timeout: 150_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const adaPage = await chatPage(ada);
    await openRoom(adaPage, room.name);
    const bobPage = await chatPage(bob);
    // Bob's socket to the room reaches the server only once Ada's message is stored: his history
    // page is read before it, and his socket, which opens without a cursor, starts after it.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await bobPage.routeWebSocket(new RegExp(`/v1/rooms/${room.id}/ws`), async (ws) => {
      await held;
      ws.connectToServer();
    });
    const history = bobPage.waitForResponse((r) => r.url().includes(`/v1/rooms/${room.id}/messages`));
    await openRoom(bobPage, room.name);
    await history;
    await send(adaPage, "between the two");
    await expect.poll(() => adaPage.locator(".room .messages li.pending").count(), { timeout: SEEN_MS }).toBe(0);
    release();
    await shows(messageWith(bobPage, "between the two"), /Ada between the two/);
    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("sends an image the other sees inline and a file as a link, and says why a file is refused", {
    timeout: 150_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const adaPage = await chatPage(ada, PHONE);
    const bobPage = await chatPage(bob);
    await openRoom(adaPage, room.name);
    await openRoom(bobPage, room.name);
    // On a phone the open room takes the screen, with a way back to the list.
    await isShown(adaPage.locator(".side"), false);
    await isShown(adaPage.getByRole("button", { name: "← All chats" }), true);

    const picker = adaPage.locator(".room input[type=file]");
    const png = stripedPng(240, 160, [
      [31, 111, 235],
      [26, 127, 55],
      [207, 34, 46],
    ]);
    await picker.setInputFiles({ name: "stripes.png", mimeType: "image/png", buffer: png });
    await shows(adaPage.locator(".attached"), /Attached: stripes\.png \(\d+(\.\d)? (B|KB)\)/);
    await send(adaPage, "the flag");
    const image = messageWith(bobPage, "the flag").locator("img[alt='stripes.png']");
    await image.waitFor({ timeout: SEEN_MS });
    await expect.poll(() => loadedWidth(image), { timeout: SEEN_MS }).toBe(240);
    expect(await image.getAttribute("src")).toMatch(/^blob:/);

    // A file of another type goes as a download link with its name and size, and no text is needed.
    await picker.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("pickup at 9\n") });
    await shows(adaPage.locator(".attached"), "Attached: notes.txt (12 B)");
    await adaPage.locator(".room").getByRole("button", { name: "Send" }).click();
    const link = bobPage.getByRole("button", { name: "Download notes.txt (12 B)" });
    await link.waitFor({ timeout: SEEN_MS });
    const download = bobPage.waitForEvent("download");
    await link.click();
    expect((await download).suggestedFilename()).toBe("notes.txt");

    // Refusals, in words: a type the service does not take, too large, and contents that lie.
    await picker.setInputFiles({ name: "app.zip", mimeType: "application/zip", buffer: Buffer.from("PK") });
    await shows(adaPage.locator(".attached[data-kind=error]"), /“app\.zip” cannot be sent: only PNG, JPEG/);
    const big = Buffer.alloc(MAX_BYTES + 1, "a");
    await picker.setInputFiles({ name: "big.txt", mimeType: "text/plain", buffer: big });
    await shows(
      adaPage.locator(".attached[data-kind=error]"),
      "“big.txt” is too large (64 KB): files may be up to 64 KB.",
    );
    await picker.setInputFiles({ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("not a picture") });
    await shows(
      adaPage.locator(".attached[data-kind=error]"),
      "“fake.png” was refused: its contents are not a PNG image.",
    );
    await adaPage.locator(".attached").getByRole("button", { name: "Dismiss" }).click();
    await isShown(adaPage.locator(".attached"), false);

    await suite.shot(adaPage, "3-files-phone");
    await suite.shot(bobPage, "3-files-desktop");
    await expectNoSidewaysScroll(adaPage);
    await expectNoSidewaysScroll(bobPage);
    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("fits a phone's screen: the list, then a room with every kind of message", { timeout: 150_000 }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada with a rather long name");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const dm = await bob.api.directRoom(ada.user.id);
    await bob.api.postMessage(dm.id, "a direct hello");
    const first = await bob.api.postMessage(room.id, `a long word: ${"x".repeat(120)}`);
    await ada.api.reply(room.id, first.seq, "answered");
    await ada.api.react(room.id, first.seq, "🎉");
    const upload = await bob.api.uploadAttachment(room.id, {
      filename: "wide.png",
      contentType: "image/png",
      data: new Uint8Array(stripedPng(1200, 300, [[130, 80, 223]])),
    });
    await bob.api.postMessage(room.id, "wide picture", { attachments: [upload] });

    const phone = await chatPage(ada, PHONE);
    await shows(phone.locator("h2 .total .badge"), /[1-9]/);
    await suite.shot(phone, "4-list-phone");
    // The list alone: no empty "Choose or create a room" card under it on a phone.
    await expect.poll(() => phone.locator(".chat-layout > .room").isVisible()).toBe(false);
    await expectNoSidewaysScroll(phone);
    await openRoom(phone, room.name);
    const image = messageWith(phone, "wide picture").locator("img");
    await expect.poll(() => loadedWidth(image), { timeout: SEEN_MS }).toBe(1200);
    await act(messageWith(phone, "answered"), "Edit");
    await suite.shot(phone, "5-room-phone");
    await expectNoSidewaysScroll(phone);
    await phone.keyboard.press("Escape");

    // Everything in a message's menu is reachable by keyboard.
    const summary = messageWith(phone, "wide picture").locator("summary");
    await summary.focus();
    await phone.keyboard.press("Enter");
    await phone.keyboard.press("Tab");
    await hasAttribute(phone.locator(":focus"), "aria-label", "React 👍");
    await phone.keyboard.press("Enter");
    await shows(messageWith(phone, "wide picture").locator(".reaction"), "👍 1");
    // An open menu fits too.
    await messageWith(phone, "answered").locator("summary").click();
    await expectAccessible(phone, "the chat's message menu, at phone size");
    await suite.shot(phone, "6-menu-phone");
    await expectNoSidewaysScroll(phone);

    const desktop = await chatPage(bob);
    await openRoom(desktop, room.name);
    await shows(messageWith(desktop, "wide picture").locator(".reaction"), "👍 1");
    await suite.shot(desktop, "5-room-desktop");
    await expectNoSidewaysScroll(desktop);
    for (const page of [phone, desktop]) expect(page.errors).toEqual([]);
  });
});

describe("the web app's delivery state and last seen", () => {
  it("ticks a direct message sent, delivered, then read, and shows the other person's last seen", {
    timeout: 150_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada Lovelace");
    const bob = await account(suite.server.baseUrl, "rider", "Bob Babbage");
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
    await suite.shot(adaPage, "delivery-1-dm-read-desktop");
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
    await suite.shot(bobPage, "delivery-2-dm-phone");
    await adaPage.goto(`${suite.server.baseUrl}/#/rider`);
    await shows(bobPage.locator("[data-testid=last-seen]"), /^last seen (just now|\d+ min ago)$/);

    // Ada says nobody may see it, in her settings: Bob's page, opened again, shows nothing.
    await adaPage.goto(`${suite.server.baseUrl}/#/chat`);
    const setting = adaPage.getByLabel("Who sees when I was last online");
    await expect.poll(() => setting.isEnabled(), { timeout: SEEN_MS }).toBe(true);
    expect(await setting.inputValue()).toBe("everyone");
    await setting.selectOption("nobody");
    await shows(adaPage.locator(".settings [role=status]"), "Saved: nobody can see when you were last online.");
    await suite.shot(adaPage, "delivery-3-settings-desktop");
    await adaPage.goto(`${suite.server.baseUrl}/#/rider`);
    expect((await ada.api.privacy()).lastSeen).toBe("nobody");
    await bobPage.reload();
    await reopened(bobPage, dm.id);
    await shows(bobPage.locator(".room h2"), "Ada Lovelace");
    await expect.poll(() => bob.api.lastSeen(ada.user.id), { timeout: SEEN_MS }).toBeNull();
    await shows(bobPage.locator("[data-testid=last-seen]"), /^$/);
    // Back to contacts: Bob shares a direct conversation with her, so he sees it again.
    await adaPage.goto(`${suite.server.baseUrl}/#/chat`);
    await expect.poll(() => setting.isEnabled(), { timeout: SEEN_MS }).toBe(true);
    await expect.poll(() => setting.inputValue(), { timeout: SEEN_MS }).toBe("nobody");
    await setting.selectOption("contacts");
    await shows(adaPage.locator(".settings [role=status]"), "only your contacts");
    await adaPage.goto(`${suite.server.baseUrl}/#/rider`);
    await bobPage.reload();
    await reopened(bobPage, dm.id);
    await shows(bobPage.locator("[data-testid=last-seen]"), /^last seen /);

    for (const page of [adaPage, bobPage]) expect(page.errors).toEqual([]);
  });

  it("counts a group message delivered to and read by its members", { timeout: 120_000 }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada Group");
    const bob = await account(suite.server.baseUrl, "rider", "Bob Group");
    const cy = await account(suite.server.baseUrl, "rider", "Cy Group");
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
    await suite.shot(adaPage, "delivery-4-group-phone");
    bobRoom.close();
    // Reloaded: history's receipts say the same (Bob's connection closed, his mark stays).
    await adaPage.reload();
    await reopened(adaPage, room.id);
    await hasAttribute(ticksOf(adaPage, "meeting at noon"), "aria-label", "Delivered to 2, read by 1");
    expect(adaPage.errors).toEqual([]);
  });
  it("marks a burst of messages read once, then at most once a second, through the newest", {
    timeout: 90_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const bobPage = await chatPage(bob);
    const marks: number[] = [];
    bobPage.on("websocket", (socket) =>
      socket.on("framesent", ({ payload }) => {
        if (typeof payload !== "string" || !payload.startsWith('{"type":"read"')) return;
        marks.push((JSON.parse(payload) as { seq: number }).seq);
      }),
    );
    await openRoom(bobPage, room.name);
    // The room is live (history read, socket welcomed) before the burst: its opening is another test's.
    const warmUp = await ada.api.postMessage(room.id, "warming up");
    await shows(messageWith(bobPage, "warming up"), /warming up/);
    await expect.poll(() => marks.at(-1), { timeout: SEEN_MS }).toBe(warmUp.seq);
    // Past the once-a-second window of that mark: the burst's first mark goes at once.
    await bobPage.waitForTimeout(1_200);
    marks.length = 0;

    const started = Date.now();
    const posted = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ada.api.postMessage(room.id, `burst ${i + 1}`)),
    );
    const sent = posted.map((m) => m.seq).sort((a, b) => a - b);
    await expect.poll(() => messageWith(bobPage, /burst \d+/).count(), { timeout: SEEN_MS }).toBe(10);
    // The newest is marked in the end, whatever came between.
    await expect.poll(() => marks.at(-1), { timeout: SEEN_MS }).toBe(sent.at(-1));
    const seconds = (Date.now() - started) / 1000;
    // A mark per message would be 10; one at once, then at most one a second.
    expect(marks.length, JSON.stringify(marks)).toBeLessThanOrEqual(2 + Math.ceil(seconds));
    expect(marks.length, JSON.stringify(marks)).toBeLessThan(sent.length);
    expect(bobPage.errors).toEqual([]);
  });

  it("shows the messages sent between the history's read and the socket's welcome, with those that came live", {
    timeout: 90_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada");
    const bob = await account(suite.server.baseUrl, "rider", "Bob");
    const room = await sharedRoom(ada, bob);
    const bobPage = await chatPage(bob);
    const post = async (texts: string[]) => {
      for (const text of texts) await ada.api.postMessage(room.id, text);
    };
    const between = ["between 1", "between 2", "between 3"];
    const live = ["live 1", "live 2", "live 3"];

    // The room opens as on a slow network, in this order: the first history page is read, three
    // messages are stored, the socket is welcomed (at their seq, no replay), three more come live,
    // and only then does the page arrive.
    let pageRead!: () => void;
    const historyRead = new Promise<void>((resolve) => (pageRead = resolve));
    let deliverPage!: () => void;
    const pageHeld = new Promise<void>((resolve) => (deliverPage = resolve));
    let welcomed!: () => void;
    const welcome = new Promise<void>((resolve) => (welcomed = resolve));
    let firstPage = true;
    await bobPage.route(`**/v1/rooms/${room.id}/messages*`, async (route) => {
      if (!firstPage) return route.continue();
      firstPage = false;
      const response = await route.fetch();
      pageRead();
      await pageHeld;
      await route.fulfill({ response });
    });
    await bobPage.routeWebSocket(new RegExp(`/v1/rooms/${room.id}/ws`), async (client) => {
      await historyRead;
      await post(between);
      const server = client.connectToServer();
      server.onMessage((frame) => {
        client.send(frame);
        if (typeof frame === "string" && frame.startsWith('{"type":"welcome"')) welcomed();
      });
    });

    await openRoom(bobPage, room.name);
    await welcome;
    await post(live);
    await expect.poll(() => messageWith(bobPage, /live \d/).count(), { timeout: SEEN_MS }).toBe(3);
    deliverPage();
    await shows(bobPage.locator(".room .messages"), /between 1.*between 2.*between 3.*live 1.*live 2.*live 3/);
    expect(bobPage.errors).toEqual([]);
  });
});
