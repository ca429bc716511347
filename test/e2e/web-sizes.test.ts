/**
 * Web-app features that the other browser files check at one size only, here at the other one (issue 24: each
 * feature at a desktop's 1280 x 800 and a phone's 390 x 844), in a real browser (Chromium through playwright-core)
 * against one real `wrangler dev` with the dev city's street map (scripts/dev-tiles.mjs):
 * - at phone size, the rider's trip screen: the card of the driver (first name, rating, car and plate, photo), "Share
 *   my trip" (a link that opens the trip for someone with no account, until sharing stops) and SOS (web.test.ts and
 *   web-rides.test.ts have them at desktop size);
 * - at phone size, the operations view's search of trips and drivers, with no sideways scroll (web-screens.test.ts
 *   has it at desktop size);
 * - at phone size, unread counts that clear as each conversation is opened, and stay cleared after a reload
 *   (web-chat.test.ts has them at desktop size);
 * - at desktop size, invites into a private room: someone the owner chats with, someone by user id, a refused id
 *   (web-session.test.ts has them at phone size);
 * - at desktop size, the cars nearby on the rider's map before a request, on the street map and on the SVG city
 *   (web-map.test.ts has them at phone size).
 * Screenshots go to test-artifacts/web-sizes/.
 */
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite } from "./helpers/suite";
import { stripedPng } from "./helpers/png";
import { type Account, acceptWhenOffered, account, approvedCar, operator, sharedRoom, waitFor } from "./helpers/users";
import { type AppPage, blankPage, clickRequestRide, expectAccessible, SEEN_MS, signedInPage } from "./helpers/web-page";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const UNION_SQUARE = { lat: 37.788, lng: -122.4075 };
const FERRY_BUILDING = { lat: 37.7955, lng: -122.3937 };

// The street map, as web-map.test.ts has it (the nearby cars there are on it); trip history within a second, for
// the operations search.
const suite = browserSuite("web-sizes", {
  vars: { MAP_TILES_ARCHIVE: "dev-city", TRIP_HISTORY_FLUSH_MS: "1000" },
  devTiles: true,
});

/** One operator for the file: it approves cars, reads SOS alerts and searches. */
let operatorAccount: Promise<Account> | undefined;
const theOperator = () =>
  (operatorAccount ??= (async () => {
    const ops = await account(suite.server.baseUrl, "rider", "Opal Ops");
    await operator(suite.server.persistTo, ops);
    return ops;
  })());

const signedIn = (who: Account, viewport: { width: number; height: number }, prepare?: (page: AppPage) => unknown) =>
  signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, who, { viewport }, prepare);

const shot = (page: Page, name: string) => suite.shot(page, name);

/** Waits until `locator`'s text (all of its matches) matches `pattern`. */
async function shows(locator: Locator, pattern: RegExp | string): Promise<void> {
  await expect.poll(async () => (await locator.allTextContents()).join(" | "), { timeout: SEEN_MS }).toMatch(pattern);
}

/** `locator` is shown, and whole on the screen's width: nothing of it is cut off at the sides. */
async function onScreen(locator: Locator): Promise<void> {
  await expect.poll(() => locator.isVisible(), { timeout: SEEN_MS }).toBe(true);
  const box = await locator.boundingBox();
  const width = locator.page().viewportSize()?.width ?? 0;
  expect(box, "no box").not.toBeNull();
  if (!box) return;
  expect(box.width).toBeGreaterThan(0);
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(width + 0.5);
}

/** The page does not scroll sideways. */
async function noSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
    "({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })",
  );
  expect(scrollWidth, `${scrollWidth} px wide in ${clientWidth}`).toBeLessThanOrEqual(clientWidth);
}

async function requestRide(page: Page, from: string, to: string): Promise<void> {
  await page.getByLabel("Pickup", { exact: true }).selectOption({ label: from });
  await page.getByLabel("Dropoff", { exact: true }).selectOption({ label: to });
  await page.getByRole("button", { name: "Get a quote" }).click();
  await shows(page.getByTestId("quote-fare"), /\$\d+\.\d\d/);
  await clickRequestRide(page);
  await shows(page.getByTestId("trip-status"), /Finding a driver|Driver on the way/);
}

/** `driver` (online) takes a trip of a rider of their own from Union Square, completes it and is rated `stars`. */
async function ratedRide(driver: Account, stars: number): Promise<void> {
  const rider = await account(suite.server.baseUrl, "rider", "Pat Past");
  const requested = await rider.api.requestTrip({ pickup: UNION_SQUARE, dropoff: FERRY_BUILDING });
  await acceptWhenOffered(driver, requested.id);
  const { pin } = await rider.api.trip(requested.id);
  await driver.api.arrived(requested.id);
  await driver.api.startTrip(requested.id, { pin: pin ?? "" });
  await driver.api.completeTrip(requested.id);
  await rider.api.rateTrip(requested.id, { stars });
}

async function chatPage(who: Account, viewport: { width: number; height: number }): Promise<AppPage> {
  const page = await signedIn(who, viewport);
  await page.goto(`${suite.server.baseUrl}/#/chat`);
  await page.locator(".rooms").first().waitFor();
  return page;
}

describe("at phone size (390 x 844)", () => {
  it("shows the rider the driver's card, shares the trip and raises an SOS", { timeout: 150_000 }, async () => {
    const ops = await theOperator();
    const driver = await account(suite.server.baseUrl, "driver", "Cora Card");
    const car = await approvedCar(driver, ops, "economy");
    const photo = await driver.api.uploadDocument({
      kind: "photo",
      filename: "cora.png",
      contentType: "image/png",
      data: new Uint8Array(
        stripedPng(64, 64, [
          [200, 120, 40],
          [40, 90, 160],
        ]),
      ),
    });
    await ops.api.reviewDocument(photo.id, { decision: "approve" });
    await driver.api.goOnline(UNION_SQUARE);
    // A ride before, rated 4 stars: the card shows a rating, not "new driver".
    await ratedRide(driver, 4);
    try {
      const rider = await account(suite.server.baseUrl, "rider", "Rosa Phone");
      const page = await signedIn(rider, PHONE);
      await requestRide(page, "Union Square", "Ferry Building");
      const trip = await rider.api.currentTrip();
      if (!trip) throw new Error("no trip");
      await acceptWhenOffered(driver, trip.id);
      await shows(page.getByTestId("trip-status"), "Driver on the way");

      // The card: first name, rating, car and plate, on one line that the phone shows whole; and the photo.
      const card = page.getByTestId("trip-driver");
      await shows(card, `Cora · ★ 4.0 · White Skoda Octavia · ${car.plate}`);
      await onScreen(card);
      const picture = page.getByTestId("driver-photo");
      await onScreen(picture);
      expect(await picture.getAttribute("alt")).toBe("Photo of Cora");
      await expect
        .poll(() => picture.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
        .toBe(64);

      // Share my trip: a link, shown whole, that opens the trip on a phone with no account.
      const share = page.getByRole("button", { name: "Share my trip" });
      await onScreen(share);
      await share.click();
      const link = page.getByLabel("Share link");
      await expect.poll(() => link.inputValue(), { timeout: SEEN_MS }).toMatch(/\/#\/shared\/trip_/);
      await onScreen(link);
      await shows(page.locator(".side > [role=status]"), "Share link ready: send it to someone you trust.");
      const friend = await blankPage(suite.browser, suite.contexts, { viewport: PHONE });
      await friend.goto(await link.inputValue());
      await shows(friend.getByTestId("shared-status"), "Driver on the way");
      await shows(friend.getByTestId("shared-driver"), `Driver: Cora · White Skoda Octavia · ${car.plate}`);
      await onScreen(friend.getByTestId("shared-status"));
      expect(await friend.locator("body").textContent()).not.toContain("Rosa");
      await noSidewaysScroll(friend);
      await shot(friend, "shared-trip-phone");

      // SOS: one tap raises an alert that operators see; the rider is told so.
      const sos = page.getByRole("button", { name: "SOS" });
      await onScreen(sos);
      await sos.click();
      await shows(page.locator(".side > [role=status]"), "SOS sent: operators have been alerted.");
      await onScreen(page.locator(".side > [role=status]"));
      const alerts = await ops.api.opsAlerts();
      expect(alerts.filter((a) => a.tripId === trip.id).map((a) => a.role)).toEqual(["rider"]);
      await noSidewaysScroll(page);
      await shot(page, "rider-trip-share-sos-phone");

      // Sharing stops from the phone too: the link is gone there, and the friend's page says it no longer works.
      const stop = page.getByRole("button", { name: "Stop sharing" });
      await onScreen(stop);
      await stop.click();
      await shows(page.locator(".side > [role=status]"), "Sharing stopped: the links no longer work.");
      expect(await link.isVisible()).toBe(false);
      await shows(friend.getByTestId("shared-status"), /does not work \(any more\)/);

      await rider.api.cancelTrip(trip.id, { reasonCode: "changed_plans" });
      for (const p of [page, friend]) expect(p.errors).toEqual([]);
    } finally {
      await driver.api.goOffline().catch(() => undefined);
    }
  });

  it("finds trips and drivers in the operations view, with no sideways scroll", { timeout: 120_000 }, async () => {
    const ops = await theOperator();
    const driver = await account(suite.server.baseUrl, "driver", "Dina Searchable");
    const rider = await account(suite.server.baseUrl, "rider", "Cai Searchable");
    await driver.api.goOnline(UNION_SQUARE);
    const trip = await rider.api.requestTrip({ pickup: UNION_SQUARE, dropoff: FERRY_BUILDING });
    try {
      await acceptWhenOffered(driver, trip.id);
      const page = await signedIn(ops, PHONE);
      await shows(page.getByTestId("total-drivers"), /^\d/);

      // Trips by the rider's name. The search reads the trips' history, which lags the trip by a moment: search
      // again until it has the acceptance.
      await page.getByLabel("Search words").fill("cai searchable");
      const found = page.locator(`.found[data-trip="${trip.id}"]`);
      await waitFor(
        "the search to find the trip with its driver on the way",
        async () => {
          await page.getByRole("button", { name: "Search", exact: true }).click();
          await page.waitForTimeout(300);
          if ((await found.count()) !== 1) return undefined;
          return /Union Square → Ferry Building · Driver on the way/.test((await found.textContent()) ?? "")
            ? true
            : undefined;
        },
        SEEN_MS,
      );
      await shows(found, /Rider Cai Searchable · driver Dina Searchable/);
      await onScreen(found);
      await noSidewaysScroll(page);
      await expectAccessible(page, "the operations view's search of trips, at phone size");
      await shot(page, "ops-search-trips-phone");
      // Its "Actions" takes it to the card of trips that need a hand.
      await found.getByRole("button", { name: "Actions" }).click();
      await onScreen(page.locator(`.stuck[data-trip="${trip.id}"]`));

      // Drivers by part of the name, with their email (long, unbroken) and when they were last online.
      await page.getByLabel("Search in").selectOption("drivers");
      await page.getByLabel("Search words").fill("dina s");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      const row = page.locator(`.found[data-driver="${driver.user.id}"]`);
      await shows(row, /Dina Searchable · .*@e2e\.example · last online/);
      expect(await page.locator(".search-results .found").count()).toBe(1);
      await onScreen(row);
      await noSidewaysScroll(page);
      await row.scrollIntoViewIfNeeded();
      await expectAccessible(page, "the operations view's search of drivers, at phone size");
      await shot(page, "ops-search-drivers-phone");
      expect(page.errors).toEqual([]);
    } finally {
      await rider.api.cancelTrip(trip.id, { reasonCode: "changed_plans" }).catch(() => undefined);
      await driver.api.goOffline().catch(() => undefined);
    }
  });

  it("clears each conversation's unread count as it is opened, and keeps it cleared", {
    timeout: 120_000,
  }, async () => {
    const ada = await account(suite.server.baseUrl, "rider", "Ada Lovelace");
    const bob = await account(suite.server.baseUrl, "rider", "Bob Babbage");
    const room = await sharedRoom(ada, bob);
    const direct = await ada.api.directRoom(bob.user.id);
    await ada.api.postMessage(direct.id, "psst, Bob");
    await ada.api.postMessage(direct.id, "are you there?");
    await ada.api.postMessage(room.id, "meeting at noon");
    const page = await chatPage(bob, PHONE);

    // The list takes the phone's screen: each conversation with its count, the total, and the tab's title.
    const list = page.locator(".chat-layout > .side");
    const dm = page.locator(`.room-link[data-room="${direct.id}"]`);
    const group = page.locator(`.room-link[data-room="${room.id}"]`);
    const total = page.locator("h2 .total .badge");
    await shows(dm, /Ada Lovelace\s*2$/);
    await shows(group, new RegExp(`${room.name}\\s*1$`));
    expect(await dm.locator(".badge").getAttribute("aria-label")).toBe("2 unread");
    await shows(total, "3");
    await onScreen(dm.locator(".badge"));
    await onScreen(group.locator(".badge"));
    await onScreen(total);
    expect(await page.title()).toMatch(/^\(3\) /);
    await noSidewaysScroll(page);
    await shot(page, "chat-unread-phone");

    // The conversation takes the screen in the list's place; back on the list, its count is gone.
    await dm.click();
    await shows(page.locator(".room h2"), "Ada Lovelace");
    await shows(page.locator(".room .messages"), /psst, Bob.*are you there\?/);
    expect(await list.isVisible()).toBe(false);
    await page.getByRole("button", { name: "← All chats" }).click();
    await expect.poll(() => list.isVisible(), { timeout: SEEN_MS }).toBe(true);
    await expect.poll(() => dm.locator(".badge").count(), { timeout: SEEN_MS }).toBe(0);
    await shows(total, "1");
    await expect.poll(() => page.title(), { timeout: SEEN_MS }).toMatch(/^\(1\) /);

    // The room too. With it open, the conversation's count is the server's: its read mark was kept.
    await group.click();
    await shows(page.locator(".room .messages"), /meeting at noon/);
    await page.getByRole("button", { name: "← All chats" }).click();
    await expect.poll(() => group.locator(".badge").count(), { timeout: SEEN_MS }).toBe(0);
    await expect.poll(() => total.count(), { timeout: SEEN_MS }).toBe(0);
    expect(await dm.locator(".badge").count()).toBe(0);
    await expect.poll(() => page.title(), { timeout: SEEN_MS }).toMatch(/^ridewire/);

    // A reload reads every count from the server: none.
    await page.reload();
    await dm.waitFor({ timeout: SEEN_MS });
    await group.waitFor({ timeout: SEEN_MS });
    await page.waitForTimeout(500);
    expect(await page.locator(".rooms .badge").count()).toBe(0);
    expect(await total.count()).toBe(0);
    expect((await bob.api.roomList()).unreadTotal).toBe(0);
    await shot(page, "chat-read-phone");
    expect(page.errors).toEqual([]);
  });
});

describe("at desktop size (1280 x 800)", () => {
  it("invites someone the owner chats with and someone by user id into a private room", {
    timeout: 120_000,
  }, async () => {
    const owner = await account(suite.server.baseUrl, "rider", "Pia Private");
    const friend = await account(suite.server.baseUrl, "driver", "Finn Friend");
    const stranger = await account(suite.server.baseUrl, "rider", "Sid Stranger");
    // Pia and Finn share a public room: Finn is someone Pia chats with, whom the invite form offers.
    await sharedRoom(owner, friend);
    const page = await chatPage(owner, DESKTOP);
    const friendPage = await chatPage(friend, DESKTOP);

    await page.getByLabel("New room name").fill("Secret garden");
    await page.getByLabel("private").check();
    await page.getByRole("button", { name: "Create" }).click();
    await shows(page.locator(".room h2"), "Secret garden");
    const roomId = decodeURIComponent((await page.evaluate<string>("location.hash")).replace("#/chat/", ""));
    expect(roomId).toMatch(/^room_/);
    // Side by side with the list at this size.
    expect(await page.locator(".chat-layout > .side").isVisible()).toBe(true);
    const secret = (p: Page) => p.locator(`.room-link[data-room="${roomId}"]`);
    expect(await secret(friendPage).count()).toBe(0);

    await page.getByText("Invite people").click();
    const picker = page.getByLabel("Someone you chat with");
    await expect.poll(() => picker.locator("option").allTextContents(), { timeout: SEEN_MS }).toContain("Finn Friend");
    await onScreen(picker);
    await picker.selectOption({ label: "Finn Friend" });
    await page.getByRole("button", { name: "Add to room" }).click();
    const said = page.locator(".invite [role=status]");
    await shows(said, /^Finn Friend can now see Secret garden and write in it\.$/);
    await onScreen(said);
    await page.getByLabel("User id to invite").fill(stranger.user.id);
    await page.getByRole("button", { name: "Add to room" }).click();
    await shows(said, /^They can now see Secret garden and write in it\.$/);
    // An id that is nobody's is refused in a sentence.
    await page.getByLabel("User id to invite").fill("usr_nobody_at_all");
    await page.getByRole("button", { name: "Add to room" }).click();
    // (The line said a sentence already: the refusal is told by its kind, then its words.)
    await expect.poll(() => said.getAttribute("data-kind"), { timeout: SEEN_MS }).toBe("error");
    expect(await said.textContent()).toMatch(/^[A-Z][^_{}]*\.$/);
    expect(await said.textContent()).not.toMatch(/can now see/);
    await noSidewaysScroll(page);
    await expectAccessible(page, "the chat's invite form, at desktop size");
    await shot(page, "chat-invite-desktop");

    // Finn's list (asked again every few seconds) shows the private room, which opens for him.
    await shows(secret(friendPage), /Secret garden 🔒/);
    await secret(friendPage).click();
    await shows(friendPage.locator(".room h2"), "Secret garden");
    const members = (await owner.api.members(roomId)).map((m) => m.userId).sort();
    expect(members).toEqual([owner.user.id, friend.user.id, stranger.user.id].sort());
    expect((await stranger.api.roomList()).rooms.map((r) => r.id)).toContain(roomId);
    await shot(friendPage, "chat-invited-desktop");
    for (const p of [page, friendPage]) expect(p.errors).toEqual([]);
  });

  it("shows the cars nearby on the rider's map before a request, on the street map and the SVG city", {
    timeout: 120_000,
  }, async () => {
    const driver = await account(suite.server.baseUrl, "driver", "Nico Nearby");
    const exact = { lat: 37.7881, lng: -122.4074 };
    await driver.api.goOnline(exact);
    try {
      const rider = await account(suite.server.baseUrl, "rider", "Nell Nearby");
      let answer = "";
      const page = await signedIn(rider, DESKTOP, (p) =>
        p.on("response", async (res) => {
          if (new URL(res.url()).pathname === "/v1/cars/nearby") answer = await res.text().catch(() => "");
        }),
      );
      const map = page.locator(".street-map");
      await expect.poll(() => map.getAttribute("data-loaded"), { timeout: SEEN_MS }).toBe("true");
      const cars = page.locator("[data-marker^=car-]");
      await expect.poll(() => cars.count(), { timeout: SEEN_MS }).toBeGreaterThan(0);
      // Each dot is drawn inside the map's box, where the rider sees it.
      const mapBox = await map.boundingBox();
      if (!mapBox) throw new Error("no map on the page");
      for (const car of await cars.all()) {
        expect(await car.isVisible()).toBe(true);
        const box = await car.boundingBox();
        if (!box) throw new Error("a car dot with no box");
        expect(box.x).toBeGreaterThanOrEqual(mapBox.x);
        expect(box.y).toBeGreaterThanOrEqual(mapBox.y);
        expect(box.x + box.width).toBeLessThanOrEqual(mapBox.x + mapBox.width);
        expect(box.y + box.height).toBeLessThanOrEqual(mapBox.y + mapBox.height);
      }
      // Coarse dots: no driver id, no exact position.
      await expect.poll(() => answer, { timeout: SEEN_MS }).toContain("precisionM");
      expect(answer).not.toContain(driver.user.id);
      expect(answer).not.toContain(String(exact.lng));
      await shot(page, "rider-nearby-cars-desktop");

      // A browser without WebGL keeps the SVG city, with the same dots.
      const svgPage = await signedIn(rider, DESKTOP, (p) =>
        p.addInitScript(`{
          const original = HTMLCanvasElement.prototype.getContext;
          HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
            return kind === "webgl" || kind === "webgl2" ? null : original.call(this, kind, ...rest);
          };
        }`),
      );
      const svgCars = svgPage.locator("svg.city-map [data-marker^=car-]");
      await expect.poll(() => svgCars.count(), { timeout: SEEN_MS }).toBeGreaterThan(0);
      expect(await svgCars.first().isVisible()).toBe(true);
      expect(await svgPage.locator(".street-map").count()).toBe(0);
      await shot(svgPage, "rider-nearby-cars-svg-desktop");

      // Once the ride is requested, the dots go: the trip's own driver is what the map shows then.
      await requestRide(page, "Union Square", "Ferry Building");
      await expect.poll(() => cars.count(), { timeout: SEEN_MS }).toBe(0);
      const trip = await rider.api.currentTrip();
      if (trip) await rider.api.cancelTrip(trip.id, { reasonCode: "changed_plans" });
      for (const p of [page, svgPage]) expect(p.errors).toEqual([]);
    } finally {
      await driver.api.goOffline().catch(() => undefined);
    }
  });
});
