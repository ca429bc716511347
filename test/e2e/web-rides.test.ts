/**
 * The rider's scheduled rides and tips, and the driver's earnings and payouts, in the web app in
 * a real browser (Chromium through playwright-core) against a real `wrangler dev`. A rider
 * schedules a ride from the request form (times out of the window explained before anything is
 * sent, the server's refusals in words), sees it among the upcoming rides after a reload and
 * cancels it; a rider tips after a ride a driver (an SDK client) completed, and the receipt
 * shows the tip; that driver's page shows the earnings, takes a payout account and pays out.
 * Earnings are payable at once here (PAYOUT_HOLD_MS 0) and the minimum is $1, so one short
 * ride is enough. The quote lists each tier offered as a radio group: with a comfort driver
 * (car approved by an operator through the admin API) the rider picks comfort, the request is
 * comfort's and, from acceptance, the page shows the driver's name, rating and car (name and
 * rating alone for a driver without one, approval being off in these servers). Screenshots at
 * 1280 x 800 and 390 x 844 go to test-artifacts/web-rides/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { stripedPng } from "./helpers/png";
import { clickRequestRide, expectAccessible, signedInPage } from "./helpers/web-page";
import { devServer, type DevServer } from "./helpers/server";
import { type Account, account, waitFor, operator, approvedCar, acceptWhenOffered } from "./helpers/users";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-artifacts/web-rides`;
const SEEN_MS = 25_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const MINUTE = 60_000;
const UNION_SQUARE = { lat: 37.788, lng: -122.4075 };

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(`${ROOT}public/build/app.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  server = await devServer("web-rides", { vars: { PAYOUT_HOLD_MS: "0", PAYOUT_MIN_MINOR: "100" } });
  await server.start();
  browser = (await launchChromium()).browser;
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

type AppPage = Page & { errors: string[] };

/** `who` signed in through the form, in UTC (so the test can write the picker's local time). */
async function signedIn(who: Account, viewport = DESKTOP): Promise<AppPage> {
  const page = await signedInPage(browser, contexts, server.baseUrl, who, { viewport, timezoneId: "UTC" });
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

async function shows(page: Page, selector: string, pattern: RegExp | string): Promise<void> {
  await expect
    .poll(async () => (await page.locator(selector).allTextContents()).join(" | "), { timeout: SEEN_MS })
    .toMatch(pattern);
}

/** The `datetime-local` value of `at` in UTC (the page's time zone here). */
const pickerValue = (at: number) => new Date(at).toISOString().slice(0, 16);

async function quote(page: Page, from: string, to: string): Promise<void> {
  await page.getByLabel("Pickup", { exact: true }).selectOption({ label: from });
  await page.getByLabel("Dropoff", { exact: true }).selectOption({ label: to });
  await page.getByRole("button", { name: "Get a quote" }).click();
  await shows(page, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
}

async function schedule(page: Page, at: number): Promise<void> {
  await page.getByLabel("Pickup time").fill(pickerValue(at));
  await page.getByRole("button", { name: "Schedule ride" }).click();
}

describe("the web app's rides", () => {
  it("schedules a ride, refusing times out of the window in words, lists it and cancels it", {
    timeout: 150_000,
  }, async () => {
    const rider = await account(server.baseUrl, "rider", "Sam Scheduler");
    const page = await signedIn(rider);
    await quote(page, "Union Square", "Ferry Building");

    // Nothing picked, too soon, too far: each said, and nothing sent.
    await page.getByRole("button", { name: "Schedule ride" }).click();
    await shows(page, ".field-error", "Choose a pickup date and time first.");
    await schedule(page, Date.now() + 5 * MINUTE);
    await shows(page, ".field-error", /at least 15 minutes from now/);
    expect(await page.getByLabel("Pickup time").getAttribute("aria-invalid")).toBe("true");
    await schedule(page, Date.now() + 40 * 24 * 60 * MINUTE);
    await shows(page, ".field-error", /at most 30 days ahead/);
    await shot(page, "1-schedule-error-desktop");
    expect(await rider.api.scheduledTrips()).toEqual([]);

    const at = Date.now() + 3 * 60 * MINUTE;
    await schedule(page, at);
    await shows(page, ".status[role=status]", /^Ride scheduled for /);
    await shows(page, ".upcoming-list", /Union Square → Ferry Building · \$\d+\.\d\d/);
    // The quote is spent: the picker goes with it until the next one.
    expect(await page.getByLabel("Pickup time").isVisible()).toBe(false);
    await expectAccessible(page, "the upcoming rides, at desktop size");
    await shot(page, "1b-upcoming-desktop");
    const [trip] = await rider.api.scheduledTrips();
    expect(trip?.status).toBe("scheduled");
    // The picker's minute: the page sends what was picked, to the minute.
    expect(trip?.scheduledAt).toBe(Math.floor(at / MINUTE) * MINUTE);

    // A second ride 10 minutes after the first: the server refuses it, and the page says why in words.
    await quote(page, "Mission Dolores", "Civic Center");
    await schedule(page, at + 10 * MINUTE);
    await shows(page, ".field-error", /\w+ \w+/);
    const refusal = (await page.locator(".field-error").textContent()) ?? "";
    expect(refusal).not.toMatch(/schedule_overlap|\{|\d{3} /);
    expect(await rider.api.scheduledTrips()).toHaveLength(1);

    // On a phone, after a reload: the upcoming ride is still listed; cancelled, it is gone.
    await page.setViewportSize(PHONE);
    await page.reload();
    await shows(page, ".upcoming-list", /Union Square → Ferry Building/);
    await expectAccessible(page, "the upcoming rides, at phone size");
    await shot(page, "2-upcoming-phone");
    await page
      .locator(".upcoming-list")
      .getByRole("button", { name: /^Cancel the ride at / })
      .click();
    await shows(page, ".status[role=status]", /^The ride at .* is cancelled\.$/);
    await expect.poll(() => page.locator(".upcoming").isVisible(), { timeout: SEEN_MS }).toBe(false);
    expect(await rider.api.scheduledTrips()).toEqual([]);
    expect((await rider.api.trip(trip?.id ?? "")).status).toBe("cancelled");
    expect(page.errors).toEqual([]);
  });

  it("lets the rider tip after a ride, on the receipt, and the driver pay the earnings out", {
    timeout: 180_000,
  }, async () => {
    const rider = await account(server.baseUrl, "rider", "Tia Tipper");
    const driver = await account(server.baseUrl, "driver", "Dev Driver");
    await driver.api.goOnline(UNION_SQUARE);
    const riderPage = await signedIn(rider, PHONE);
    await waitFor(
      "the quote to see the driver",
      async () => {
        await quote(riderPage, "Union Square", "Ferry Building");
        return (await riderPage.locator(".quote").textContent())?.includes("no driver nearby") ? undefined : true;
      },
      SEEN_MS,
    );
    // The tiers offered, as a radio group: here economy alone (no driver has a car of another tier), checked,
    // with its fare and pickup ETA; on a phone the list and the request fit without sideways scroll.
    const tiers = riderPage.getByRole("group", { name: "Ride type" });
    await expect.poll(() => tiers.getByRole("radio").count(), { timeout: SEEN_MS }).toBe(1);
    expect(await tiers.getByRole("radio", { name: /Economy/ }).isChecked()).toBe(true);
    expect(await tiers.textContent()).toMatch(/Economy\s*\$\d+\.\d\d\s*pickup in \d+ (s|min)/);
    expect(await riderPage.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    await shot(riderPage, "2a-quote-tiers-phone");
    await clickRequestRide(riderPage);
    await shows(riderPage, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);

    // The driver, over the SDK: accept, arrive, start with the rider's PIN, complete.
    const current = await rider.api.currentTrip();
    if (!current) throw new Error("no trip");
    await acceptWhenOffered(driver, current.id, SEEN_MS);
    // From acceptance: the driver's first name, rating and car (none here: approval is off in these servers).
    await shows(riderPage, "[data-testid=trip-driver]", /^Dev · new driver$/);
    await driver.api.arrived(current.id);
    await driver.api.startTrip(current.id, { pin: current.pin ?? "" });
    await driver.api.completeTrip(current.id);
    await shows(riderPage, "[data-testid=trip-status]", "Trip completed");
    await shows(riderPage, "[data-testid=receipt]", /Total\s*\$\d+\.\d\d/);

    // A typed amount that is no amount is explained; $2.00 is sent and lands on the receipt.
    await riderPage.getByLabel("Tip amount").fill("0");
    await riderPage.locator(".tip").getByRole("button", { name: "Tip", exact: true }).click();
    await shows(riderPage, ".tip [role=status]", "Enter a tip of at least $0.01.");
    await riderPage.getByRole("button", { name: "Tip $2.00" }).click();
    await shows(riderPage, ".tip [role=status]", "Thank you: your driver gets all of the $2.00 tip.");
    await shows(riderPage, "[data-testid=receipt-tips]", "$2.00");
    // Beyond the bound (50 % of the fare, at most $100): refused, in words.
    await riderPage.getByLabel("Tip amount").fill("500");
    await riderPage.locator(".tip").getByRole("button", { name: "Tip", exact: true }).click();
    // 50 % of the fare less the $2.00 already given, as money (the API's message counts cents).
    await shows(riderPage, ".tip [role=status]", /^This trip's tips can add at most \$\d+\.\d\d more\.$/);
    await expect
      .poll(() => riderPage.locator(".tip [role=status]").getAttribute("data-kind"), { timeout: SEEN_MS })
      .toBe("error");
    expect(await riderPage.locator(".tip [role=status]").textContent()).not.toMatch(/tip_limit_exceeded|\{/);
    expect((await rider.api.receipt(current.id)).tips).toEqual({ amount: 200, currency: "USD" });
    await shot(riderPage, "3-tip-phone");
    await riderPage.setViewportSize(DESKTOP);
    await shot(riderPage, "3b-tip-desktop");

    // The driver's page: the ride's share and the tip are available (no hold here).
    const driverPage = await signedIn(driver);
    await shows(
      driverPage,
      "[data-testid=earnings-week]",
      /Last 7 days: \$\d+\.\d\d from 1 trip, tips \$2\.00 included/,
    );
    await shows(driverPage, "[data-testid=payout-available]", /^\$(?!0\.00)\d+\.\d\d$/);
    const available = (await driverPage.locator("[data-testid=payout-available]").textContent()) ?? "";
    await shows(driverPage, "[data-testid=payout-account]", /No payout account yet/);
    expect(await driverPage.getByRole("button", { name: "Pay out now" }).isVisible()).toBe(false);

    await driverPage.getByLabel("Payout account").fill("acct_x");
    await driverPage.getByRole("button", { name: "Save account" }).click();
    await shows(driverPage, ".earnings [role=status]", "A payout account id looks like acct_ followed by 8 to 64");
    await driverPage.getByLabel("Payout account").fill("acct_1WebRides0000");
    await driverPage.getByRole("button", { name: "Save account" }).click();
    await shows(driverPage, "[data-testid=payout-account]", "Payouts go to acct_1WebRides0000.");
    expect((await driver.api.payoutAccount())?.accountId).toBe("acct_1WebRides0000");

    await driverPage.getByRole("button", { name: "Pay out now" }).click();
    await shows(driverPage, ".earnings [role=status]", `Payout of ${available} sent.`);
    await shows(driverPage, ".payouts", new RegExp(`\\${available} paid`));
    await shows(driverPage, "[data-testid=payout-available]", "$0.00");
    await expectAccessible(driverPage, "the driver's earnings and payouts, at desktop size");
    await shot(driverPage, "4-payouts-desktop");
    // Nothing left: the server's refusal, in words.
    await driverPage.getByRole("button", { name: "Pay out now" }).click();
    await expect
      .poll(() => driverPage.locator(".earnings [role=status]").getAttribute("data-kind"), { timeout: SEEN_MS })
      .toBe("error");
    expect(await driverPage.locator(".earnings [role=status]").textContent()).not.toMatch(/nothing_to_pay_out|\{/);
    const payouts = await driver.api.payouts();
    expect(payouts.payouts.map((p) => p.status)).toEqual(["paid"]);
    await driverPage.setViewportSize(PHONE);
    await expectAccessible(driverPage, "the driver's earnings and payouts, at phone size");
    await shot(driverPage, "5-payouts-phone");

    for (const page of [riderPage, driverPage]) expect(page.errors).toEqual([]);
  });

  it("lists each tier offered in the quote, requests the one picked, and shows the driver's car from acceptance", {
    timeout: 150_000,
  }, async () => {
    const ops = await account(server.baseUrl, "rider", "Opal Ops");
    await operator(server.persistTo, ops);
    const driver = await account(server.baseUrl, "driver", "Cora Comfort");
    await approvedCar(driver, ops, "comfort");
    // And a photo of the driver, approved: the rider's card shows it from acceptance.
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
    // Comfort alone (no lower tiers): an offer reaching this driver is a comfort request.
    await driver.api.goOnline(UNION_SQUARE, { acceptLowerTiers: false });
    const rider = await account(server.baseUrl, "rider", "Tomas Tiers");
    const page = await signedIn(rider);
    const tiers = page.getByRole("group", { name: "Ride type" });
    await waitFor(
      "the quote to offer comfort",
      async () => {
        await quote(page, "Union Square", "Ferry Building");
        return (await tiers.getByRole("radio", { name: /Comfort/ }).count()) > 0 ? true : undefined;
      },
      SEEN_MS,
    );
    // The default tier first and chosen; comfort (×1.4, at least $10.00) with the driver's ETA.
    const radios = tiers.getByRole("radio");
    expect(await radios.count()).toBeGreaterThanOrEqual(2);
    expect(await radios.first().getAttribute("value")).toBe("economy");
    expect(await radios.first().isChecked()).toBe(true);
    const economyFare = (await page.locator("[data-testid=quote-fare]").textContent()) ?? "";
    const comfort = tiers.locator("label", { hasText: "Comfort" });
    expect(await comfort.textContent()).toMatch(/Comfort\s*\$\d+\.\d\d\s*pickup in \d+ (s|min)/);
    await tiers.getByRole("radio", { name: /Comfort/ }).check();
    await shows(page, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
    const comfortFare = (await page.locator("[data-testid=quote-fare]").textContent()) ?? "";
    expect(comfortFare).not.toBe(economyFare);
    expect(await comfort.textContent()).toContain(comfortFare);
    await shot(page, "6-quote-tiers-desktop");
    await page.setViewportSize(PHONE);
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    await shot(page, "6b-quote-tiers-phone");

    await clickRequestRide(page);
    await shows(page, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
    const trip = await rider.api.currentTrip();
    if (!trip) throw new Error("no trip");
    expect(trip.quote.tier).toBe("comfort");
    expect(`$${(trip.quote.fare.amount / 100).toFixed(2)}`).toBe(comfortFare);
    await acceptWhenOffered(driver, trip.id, SEEN_MS);
    // From acceptance: first name, rating (none yet) and the approved car.
    await shows(page, "[data-testid=trip-driver]", /^Cora · new driver · White Skoda Octavia · TU \d{5}$/);
    const picture = page.locator("[data-testid=driver-photo]");
    await expect.poll(() => picture.isVisible(), { timeout: SEEN_MS }).toBe(true);
    expect(await picture.getAttribute("alt")).toBe("Photo of Cora");
    // Decoded: the image the driver uploaded, 64 pixels wide.
    await expect
      .poll(() => page.evaluate<number>('document.querySelector("[data-testid=driver-photo]").naturalWidth'))
      .toBe(64);
    await shot(page, "6c-driver-car-phone");
    // The same card at desktop size: name, car and plate, the photo, and the safety buttons beside them.
    await page.setViewportSize(DESKTOP);
    await shows(page, "[data-testid=trip-driver]", /^Cora · new driver · White Skoda Octavia · TU \d{5}$/);
    for (const shown of [
      picture,
      page.getByRole("button", { name: "Share my trip" }),
      page.getByRole("button", { name: "SOS" }),
    ])
      await expect.poll(() => shown.isVisible(), { timeout: SEEN_MS }).toBe(true);
    await shot(page, "6d-driver-car-desktop");
    await rider.api.cancelTrip(trip.id);
    expect(page.errors).toEqual([]);
  });
});
