/**
 * The trip screen of each side in a real browser (Chromium through playwright-core) against a
 * real `wrangler dev`: the trip comes back at once on a reload of either side (from the trip,
 * not the lagging history); the driver's status card follows the trip (no "Go offline" in the
 * middle of one); both sides keep the trip chat across reloads, and it closes when the trip
 * ends; cancelling after the driver arrived asks for a reason and says the fee first; a driver
 * whose trip was handed back gets back to offers in one tap while the rider sees matching go on; after rides rated
 * both ways, each side sees the other's rating (the average of the stars given) on the offer and the trip; a tab left
 * open past its session lands on the sign-in page, and signing in goes back to the page it was on. Screenshots at
 * 1280 x 800 and 390 x 844 go to test-artifacts/web-trip-screen/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { clickRequestRide, expectAccessible, signedInPage } from "./helpers/web-page";
import { devServer, type DevServer } from "./helpers/server";
import { type Account, account, acceptWhenOffered } from "./helpers/users";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-artifacts/web-trip-screen`;
const SEEN_MS = 25_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** Far from Union Square and the Ferry Building, where the other tests' drivers stay online. */
const GOLDEN_GATE_PARK = { lat: 37.7694, lng: -122.4862 };
const HAIGHT_ASHBURY = { lat: 37.7692, lng: -122.4481 };

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(`${ROOT}public/build/app.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  server = await devServer("web-trip-screen");
  await server.start();
  browser = (await launchChromium()).browser;
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

type AppPage = Page & { errors: string[] };

async function signedIn(who: Account, viewport = DESKTOP): Promise<AppPage> {
  const page = await signedInPage(browser, contexts, server.baseUrl, who, { viewport });
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

async function shows(page: Page, selector: string, pattern: RegExp | string): Promise<void> {
  await expect
    .poll(async () => (await page.locator(selector).allTextContents()).join(" | "), { timeout: SEEN_MS })
    .toMatch(pattern);
}

async function goOnline(driver: Page, at: string): Promise<void> {
  await driver.getByLabel("Start at").selectOption({ label: at });
  await driver.getByRole("button", { name: "Go online" }).click();
  await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
}

async function requestRide(rider: Page, from: string, to: string): Promise<void> {
  await rider.getByLabel("Pickup", { exact: true }).selectOption({ label: from });
  await rider.getByLabel("Dropoff", { exact: true }).selectOption({ label: to });
  await rider.getByRole("button", { name: "Get a quote" }).click();
  await shows(rider, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
  await clickRequestRide(rider);
  await shows(rider, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
}

async function accept(driver: Page): Promise<void> {
  await shows(driver, "[data-testid=offer-countdown]", /\d+ s left/);
  await driver.getByRole("button", { name: "Accept" }).click();
  await shows(driver, "[data-testid=trip-status]", "Driver on the way");
}

const sendChat = async (page: Page, text: string) => {
  await page.locator(".chat input[name=message]").fill(text);
  await page.locator(".chat").getByRole("button", { name: "Send" }).click();
};

describe("the web app's trip screen", () => {
  it("keeps the trip, the driver's card and the chat across reloads, and cancels after arrival with a confirm step", {
    timeout: 180_000,
  }, async () => {
    const riderAccount = await account(server.baseUrl, "rider", "Rosa Reload");
    const driverAccount = await account(server.baseUrl, "driver", "Dev Reload");
    const driver = await signedIn(driverAccount, DESKTOP);
    const rider = await signedIn(riderAccount, PHONE);
    await goOnline(driver, "Union Square");
    await requestRide(rider, "Union Square", "Ferry Building");
    // A reload at once: the trip, not the "Where to?" form with the money on hold.
    await rider.reload();
    await shows(rider, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
    expect(await rider.getByRole("heading", { name: "Where to?" }).isVisible()).toBe(false);

    await accept(driver);
    // The card follows the trip: no "Go offline" (which the server would refuse) mid-trip.
    await shows(driver, "[data-testid=driver-status]", "On a trip: Driver on the way");
    expect(await driver.getByRole("button", { name: "Go offline" }).isVisible()).toBe(false);
    await shows(rider, "[data-testid=trip-status]", "Driver on the way");
    // The status line says the trip's state, not the request made before it.
    await shows(rider, ".side > [role=status]", /^Driver on the way\.$/);

    await sendChat(rider, "Blue jacket by the door");
    await shows(driver, ".chat .messages", "Rider Blue jacket by the door");
    await sendChat(driver, "Grey car, one minute");
    await shows(rider, ".chat .messages", "Driver Grey car, one minute");

    // Reloads on both sides mid-trip: trip, card and both messages come back.
    await driver.reload();
    await shows(driver, "[data-testid=trip-status]", "Driver on the way");
    await shows(driver, "[data-testid=driver-status]", "On a trip: Driver on the way");
    await shows(driver, ".chat .messages", /Rider Blue jacket by the door.*You Grey car, one minute/);
    await rider.reload();
    await shows(rider, "[data-testid=trip-status]", "Driver on the way");
    await shows(rider, ".chat .messages", /You Blue jacket by the door.*Driver Grey car, one minute/);
    await shot(driver, "1-driver-on-trip-desktop");
    await shot(rider, "1-rider-on-trip-phone");

    await driver.getByRole("button", { name: "Arrived" }).click();
    await shows(rider, "[data-testid=trip-status]", "Driver has arrived");
    await shows(driver, "[data-testid=driver-status]", "On a trip: Driver has arrived");

    // Cancelling is two steps: the first only asks, with the reason and the fee notice.
    await rider.getByRole("button", { name: "Cancel ride" }).click();
    await shows(rider, "[data-testid=fee-notice]", /Your driver is at the pickup\..*costs \$5\.00/);
    await shot(rider, "2-rider-cancel-confirm-phone");
    await rider.getByRole("button", { name: "Keep my ride" }).click();
    expect(await rider.locator(".cancel-confirm").count()).toBe(0);
    await shows(rider, "[data-testid=trip-status]", "Driver has arrived");
    const arrived = await riderAccount.api.currentTrip();
    expect(arrived?.status).toBe("arrived");

    await rider.getByRole("button", { name: "Cancel ride" }).click();
    // "Other" needs words: nothing is sent without them.
    await rider.getByLabel("Reason for cancelling").selectOption("other");
    await rider.getByRole("button", { name: "Cancel the ride" }).click();
    await shows(rider, ".side > [role=status]", "Say why you are cancelling.");
    expect((await riderAccount.api.currentTrip())?.status).toBe("arrived");
    await rider.getByLabel("Reason for cancelling").selectOption("changed_plans");
    await rider.getByRole("button", { name: "Cancel the ride" }).click();
    await shows(rider, "[data-testid=trip-status]", "Trip cancelled");
    await shows(rider, ".side > [role=status]", /^Trip cancelled\.$/);

    // The reason reached the trip.
    const cancelled = await riderAccount.api.trip(arrived?.id ?? "");
    expect(cancelled?.cancellation?.reasonCode).toBe("changed_plans");

    // Trip chat is closed on both sides, saying why.
    await shows(rider, "[data-testid=chat-closed]", "The trip was cancelled: the chat is closed.");
    expect(await rider.locator(".chat input[name=message]").isDisabled()).toBe(true);
    await shows(driver, "[data-testid=trip-status]", "Trip cancelled");
    await shows(driver, "[data-testid=chat-closed]", "The trip was cancelled: the chat is closed.");
    expect(await driver.locator(".chat input[name=message]").isDisabled()).toBe(true);
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
    // The hold is released, and the wallet says so without a reload.
    await shows(rider, ".wallet-text", /^Balance \$\d+\.\d\d · available \$\d+\.\d\d$/);
    await expectAccessible(rider, "the rider's cancelled trip, at phone size");
    await shot(rider, "3-rider-cancelled-phone");
    await expectAccessible(driver, "the driver's cancelled trip with Back to offers, at desktop size");
    await shot(driver, "3-driver-cancelled-desktop");
    // Each side at the other size too.
    await rider.setViewportSize(DESKTOP);
    await expectAccessible(rider, "the rider's cancelled trip, at desktop size");
    await driver.setViewportSize(PHONE);
    await expectAccessible(driver, "the driver's cancelled trip with Back to offers, at phone size");
    // The one tap at desktop size (web-screens.test.ts has it at phone size, after an operator's cancel).
    await driver.setViewportSize(DESKTOP);
    await driver.getByRole("button", { name: "Back to offers" }).click();
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
    expect(await driver.getByRole("button", { name: "Go offline" }).isVisible()).toBe(true);
    await expectAccessible(driver, "the driver back to offers after a cancellation, at desktop size");
    await driver.setViewportSize(PHONE);
    await expectAccessible(driver, "the driver back to offers after a cancellation, at phone size");

    for (const page of [driver, rider]) expect(page.errors).toEqual([]);
  });

  it("gets a driver whose trip went back to matching back to offers, while the rider sees matching go on", {
    timeout: 150_000,
  }, async () => {
    const riderAccount = await account(server.baseUrl, "rider", "Hana Handback");
    const driverAccount = await account(server.baseUrl, "driver", "Hugo Handback");
    const driver = await signedIn(driverAccount, PHONE);
    const rider = await signedIn(riderAccount, DESKTOP);
    await goOnline(driver, "Ferry Building");
    await requestRide(rider, "Ferry Building", "Union Square");
    await accept(driver);
    await driver.getByRole("button", { name: "Hand back" }).click();
    await shows(driver, "[aria-label='Trip ended']", "The trip is no longer yours.");
    await expectAccessible(driver, "the driver's handed-back trip, at phone size");
    await shot(driver, "4-driver-handed-back-phone");
    await driver.setViewportSize(DESKTOP);
    await expectAccessible(driver, "the driver's handed-back trip, at desktop size");
    // Back to offers at phone size (the cancelled trip's tap above is at desktop size).
    await driver.setViewportSize(PHONE);
    await driver.getByRole("button", { name: "Back to offers" }).click();
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
    await shows(driver, ".side > [role=status]", "Waiting for offers.");
    expect(await driver.locator("[aria-label='Trip ended']").isVisible()).toBe(false);

    // Matching again, with the time it has taken so far.
    await shows(rider, "[data-testid=trip-status]", "Finding a driver…");
    await shows(rider, ".trip-detail", /^Still looking for a driver · \d+:\d\d elapsed$/);
    await shot(rider, "4-rider-still-looking-desktop");
    // Before any acceptance: the notice says cancelling is free.
    await rider.getByRole("button", { name: "Cancel ride" }).click();
    await shows(rider, "[data-testid=fee-notice]", "No driver has accepted yet: cancelling is free.");
    // No reason, nothing sent.
    await rider.getByRole("button", { name: "Cancel the ride" }).click();
    await shows(rider, ".side > [role=status]", "Choose a reason first.");
    expect((await riderAccount.api.currentTrip())?.status).toBe("matching");
    await rider.getByLabel("Reason for cancelling").selectOption("wait_too_long");
    await rider.getByRole("button", { name: "Cancel the ride" }).click();
    await shows(rider, "[data-testid=trip-status]", "Trip cancelled");

    for (const page of [driver, rider]) expect(page.errors).toEqual([]);
  });
});

describe("the web app's ratings on the trip screen", () => {
  it("shows the rider the driver's rating and the driver the rider's, the averages of the stars given", {
    timeout: 180_000,
  }, async () => {
    const riderAccount = await account(server.baseUrl, "rider", "Rhea Rated");
    const driverAccount = await account(server.baseUrl, "driver", "Dario Rated");
    // Two rides over the SDK, each rated both ways: the driver gets 5 and 4 stars, the rider 4 and 3.
    await driverAccount.api.goOnline(GOLDEN_GATE_PARK);
    for (const [driverStars, riderStars] of [
      [5, 4],
      [4, 3],
    ] as const) {
      const trip = await riderAccount.api.requestTrip({ pickup: GOLDEN_GATE_PARK, dropoff: HAIGHT_ASHBURY });
      await acceptWhenOffered(driverAccount, trip.id, SEEN_MS);
      await driverAccount.api.arrived(trip.id);
      await driverAccount.api.startTrip(trip.id, { pin: trip.pin ?? "" });
      await driverAccount.api.completeTrip(trip.id);
      await riderAccount.api.rateTrip(trip.id, { stars: driverStars });
      await driverAccount.api.rateTrip(trip.id, { stars: riderStars });
    }
    // The service's averages: 4.5 for the driver, 3.5 for the rider (not the same, so a swap would show).
    expect((await driverAccount.api.me()).rating).toEqual({ average: 4.5, count: 2 });
    expect((await riderAccount.api.me()).rating).toEqual({ average: 3.5, count: 2 });

    // A third ride, in the app: each side sees the other's rating, on the offer and on the trip screen.
    const driver = await signedIn(driverAccount, DESKTOP);
    const rider = await signedIn(riderAccount, PHONE);
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
    await requestRide(rider, "Golden Gate Park", "Haight-Ashbury");
    const trip = await riderAccount.api.currentTrip();
    try {
      await shows(driver, "[data-testid=offer-rider]", /^Rhea · ★ 3\.5$/);
      await accept(driver);
      await shows(driver, "[data-testid=trip-rider]", /^Rhea · ★ 3\.5$/);
      await shows(rider, "[data-testid=trip-status]", "Driver on the way");
      await shows(rider, "[data-testid=trip-driver]", /^Dario · ★ 4\.5$/);
      await shot(rider, "6-rider-sees-rating-phone");
      await shot(driver, "6-driver-sees-rating-desktop");
      // And after a reload of either side.
      await rider.reload();
      await driver.reload();
      await shows(rider, "[data-testid=trip-driver]", /^Dario · ★ 4\.5$/);
      await shows(driver, "[data-testid=trip-rider]", /^Rhea · ★ 3\.5$/);
      // Each side at the other size too: the driver's phone, the rider's desktop.
      await driver.setViewportSize(PHONE);
      await rider.setViewportSize(DESKTOP);
      await shows(driver, "[data-testid=trip-rider]", /^Rhea · ★ 3\.5$/);
      await shows(rider, "[data-testid=trip-driver]", /^Dario · ★ 4\.5$/);
      await expect.poll(() => driver.getByTestId("trip-rider").isVisible(), { timeout: SEEN_MS }).toBe(true);
      await expect.poll(() => rider.getByTestId("trip-driver").isVisible(), { timeout: SEEN_MS }).toBe(true);
      await shot(driver, "6-driver-sees-rating-phone");
      for (const page of [driver, rider]) expect(page.errors).toEqual([]);
    } finally {
      if (trip) await riderAccount.api.cancelTrip(trip.id, { reasonCode: "changed_plans" }).catch(() => undefined);
      await driverAccount.api.goOffline().catch(() => undefined);
    }
  });
});

describe("the web app's ended session", () => {
  it("lands on the sign-in page, not on the API's 'missing or invalid token'", { timeout: 60_000 }, async () => {
    const who = await account(server.baseUrl, "rider", "Ezra Expired");
    const context = await browser.newContext({ viewport: PHONE });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/`);
    // A tab left open past its session: an access token the server refuses and a refresh token that no longer works.
    const leaveExpiredSession = () =>
      page.evaluate(
        (user) =>
          sessionStorage.setItem(
            "ridewire.session",
            JSON.stringify({
              token: "expired.token.value",
              refreshToken: "gone",
              expiresAt: Date.now() + 600_000,
              user,
            }),
          ),
        who.user,
      );
    await leaveExpiredSession();
    await page.goto(`${server.baseUrl}/#/rider`);
    await expect.poll(() => page.getByRole("button", { name: "Sign in" }).count(), { timeout: SEEN_MS }).toBe(1);
    expect(await page.locator("body").textContent()).not.toContain("missing or invalid token");
    await expectAccessible(page, "the sign-in page after the session expired, at phone size");
    await shot(page, "5-expired-session-phone");

    // At desktop size, on another page of the app (the trips): the sign-in page, and signing in goes back there.
    await page.setViewportSize(DESKTOP);
    await leaveExpiredSession();
    await page.goto(`${server.baseUrl}/#/trips`);
    await expect.poll(() => page.getByRole("button", { name: "Sign in" }).count(), { timeout: SEEN_MS }).toBe(1);
    expect(await page.locator("body").textContent()).not.toContain("missing or invalid token");
    await expectAccessible(page, "the sign-in page after the session expired, at desktop size");
    await page.getByLabel("Email").fill(who.email);
    await page.getByLabel("Password").fill(who.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator(".trips-page h2").textContent(), { timeout: SEEN_MS }).toBe("Your trips");
    expect(await page.evaluate<string>("location.hash")).toBe("#/trips");
    await shot(page, "5-expired-session-back-desktop");
  });
});
