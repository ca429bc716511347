/**
 * Price clarity, refusals in words, trip history and the operator's trip actions in the web app, in a real browser
 * (Chromium through playwright-core) against a real `wrangler dev` that takes rides in San Francisco only
 * (SERVICE_AREAS) and writes trip history within a second. The quote lists its parts and says surge in words, and
 * from 1.5x "Request ride" waits for the rider to accept the surge; a pickup in the sea and pickup = dropoff are
 * refused in sentences (at both sizes); the receipt says how the charge compares with the quote (the same, or less for
 * a ride that ended before its dropoff, and why); the Trips view pages the history with Load more, dates each trip
 * when it was requested, in the browser's time zone, opens a receipt, and shows a driver their drives; an operator
 * cancels a trip from the operations view and its driver is back online in one tap.
 * Screenshots at 1280 x 800 and 390 x 844 go to test-artifacts/web-screens/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Trip } from "@ridewire/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { type AppPage, clickRequestRide, expectAccessible, signedInPage } from "./helpers/web-page";
import { devServer, type DevServer } from "./helpers/server";
import { type Account, account, waitFor, operator, acceptWhenOffered } from "./helpers/users";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-artifacts/web-screens`;
const SEEN_MS = 25_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/**
 * The browsers' time zone: UTC+14 all year, its clock 14 hours ahead of UTC's and its date a day ahead from 10:00 UTC
 * on; a history that dated trips in UTC would show another hour (and often day) than the rider's.
 */
const TIME_ZONE = "Pacific/Kiritimati";
const PLACES = {
  unionSquare: { lat: 37.788, lng: -122.4075 },
  ferryBuilding: { lat: 37.7955, lng: -122.3937 },
  presidio: { lat: 37.7989, lng: -122.4662 },
  twinPeaks: { lat: 37.7544, lng: -122.4477 },
  dogpatch: { lat: 37.7587, lng: -122.388 },
};
/** San Francisco, as wrangler.toml's example has it: the sea west and north of it is outside. */
const SAN_FRANCISCO_AREA = [
  {
    name: "San Francisco",
    polygon: [
      [-122.515, 37.708],
      [-122.357, 37.708],
      [-122.385, 37.79],
      [-122.405, 37.812],
      [-122.478, 37.812],
      [-122.515, 37.785],
    ],
  },
];

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(`${ROOT}public/build/app.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  server = await devServer("web-screens", {
    vars: {
      SERVICE_AREAS: JSON.stringify(SAN_FRANCISCO_AREA),
      TRIP_HISTORY_FLUSH_MS: "1000",
      // The history test makes a few trips and calls them off at once.
      CANCEL_COOLDOWN_AFTER: "50",
      TRIP_REQUEST_LIMIT: "50",
    },
  });
  await server.start();
  browser = (await launchChromium()).browser;
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

const signedIn = (who: Account, viewport = DESKTOP) =>
  signedInPage(browser, contexts, server.baseUrl, who, { viewport, timezoneId: TIME_ZONE, locale: "en-US" });

/** When a trip was requested, as the history should write it for the browsers here ("Tue, Dec 8, 06:55 PM"). */
const requestedAt = (createdAt: number) =>
  new Intl.DateTimeFormat("en-US", {
    timeZone: TIME_ZONE,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  }).format(createdAt);

/** Spaces of any kind (ICU writes a narrow no-break space before "PM") as one plain space. */
const plainSpaces = (text: string) => text.replace(/\s+/gu, " ");

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

async function shows(page: Page, selector: string, pattern: RegExp | string): Promise<void> {
  await expect
    .poll(async () => (await page.locator(selector).allTextContents()).join(" | "), { timeout: SEEN_MS })
    .toMatch(pattern);
}

const noSidewaysScroll = async (page: Page) =>
  expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(
    page.viewportSize()?.width ?? 0,
  );

async function choose(page: Page, from: string, to: string): Promise<void> {
  await page.getByLabel("Pickup", { exact: true }).selectOption({ label: from });
  await page.getByLabel("Dropoff", { exact: true }).selectOption({ label: to });
}

/**
 * `rider` requests a ride from `from` to `to` on `page` once the quote sees `driver` (online near `from`), and the
 * driver, over the SDK, accepts, arrives and starts it with the rider's PIN: the trip as the request answered it.
 */
async function rideUnderWay(page: Page, rider: Account, driver: Account, from: string, to: string): Promise<Trip> {
  await choose(page, from, to);
  await waitFor(
    "the quote to see the driver",
    async () => {
      await page.getByRole("button", { name: "Get a quote" }).click();
      await shows(page, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
      return (await page.locator(".quote").textContent())?.includes("no driver nearby") ? undefined : true;
    },
    SEEN_MS,
  );
  await clickRequestRide(page);
  await shows(page, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
  const trip = await rider.api.currentTrip();
  if (!trip) throw new Error("no trip");
  await acceptWhenOffered(driver, trip.id);
  await driver.api.arrived(trip.id);
  await driver.api.startTrip(trip.id, { pin: trip.pin ?? "" });
  return trip;
}

describe("the web app's prices and refusals", () => {
  it("shows the quote's parts, explains surge and asks to accept it from 1.5x before requesting", {
    timeout: 150_000,
  }, async () => {
    // A request nobody can serve leaves the Presidio's cell with demand and no driver: surge at its cap, 3.0x.
    const waiting = await account(server.baseUrl, "rider", "Wes Waiting");
    const first = await waiting.api.requestTrip({ pickup: PLACES.presidio, dropoff: PLACES.twinPeaks });
    const rider = await account(server.baseUrl, "rider", "Sue Surge");
    for (const viewport of [DESKTOP, PHONE]) {
      const page = await signedIn(rider, viewport);
      await choose(page, "Presidio", "Union Square");
      await page.getByRole("button", { name: "Get a quote" }).click();
      await shows(page, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
      const parts = (await page.locator("[data-testid=quote-breakdown]").textContent()) ?? "";
      expect(parts).toMatch(/Base fare\s*\$\d+\.\d\d\s*Distance\s*\$\d+\.\d\d\s*Time\s*\$\d+\.\d\d\s*Surge\s*\$\d+/);
      await shows(
        page,
        "[data-testid=surge-notice]",
        /^Fares are 3\.0× higher right now because demand is high near your pickup\. Surge adds \$\d+\.\d\d/,
      );
      const request = page.getByRole("button", { name: "Request ride" });
      expect(await request.isDisabled()).toBe(true);
      const accept = page.getByRole("checkbox", { name: /I accept the 3\.0× fare of \$\d+\.\d\d/ });
      await accept.check();
      expect(await request.isEnabled()).toBe(true);
      await noSidewaysScroll(page);
      await shot(page, `1-surge-confirm-${viewport === PHONE ? "phone" : "desktop"}`);
      if (viewport === PHONE) {
        await request.click();
        await shows(page, "[data-testid=trip-status]", /Finding a driver/);
        const trip = await rider.api.currentTrip();
        // The surged fare is what was held: the quote the rider accepted.
        expect(trip?.quote.surge).toBe(3);
        await rider.api.cancelTrip(trip?.id ?? "", { reasonCode: "changed_plans" });
      }
      expect(page.errors).toEqual([]);
    }
    await waiting.api.cancelTrip(first.id, { reasonCode: "changed_plans" });
  });

  it("refuses a pickup in the sea and pickup = dropoff, in sentences", { timeout: 120_000 }, async () => {
    const rider = await account(server.baseUrl, "rider", "Otto Ocean");
    const page = await signedIn(rider, DESKTOP);
    // The same page at each size: each refusal's sentence replaces the other's, so each is seen anew.
    for (const [size, viewport] of [
      ["desktop", DESKTOP],
      ["phone", PHONE],
    ] as const) {
      await page.setViewportSize(viewport);
      await choose(page, "Union Square", "Union Square");
      await page.getByRole("button", { name: "Get a quote" }).click();
      await shows(
        page,
        ".side > [role=status]",
        "The pickup and dropoff are too close together: they must be at least 200 m apart.",
      );
      // The map's north-west corner is the sea off the Presidio.
      await page
        .locator(".map-pane svg")
        .first()
        .click({ position: { x: 4, y: 4 } });
      await page.getByLabel("Dropoff", { exact: true }).selectOption({ label: "Union Square" });
      await page.getByRole("button", { name: "Get a quote" }).click();
      await shows(
        page,
        ".side > [role=status]",
        "The pickup is outside the area we serve. Choose a place in the city.",
      );
      expect(await page.getByRole("button", { name: "Request ride" }).isVisible()).toBe(false);
      await noSidewaysScroll(page);
      await expectAccessible(page, `a refused quote, at ${size} size`);
      await shot(page, `2-outside-area-${size}`);
    }
    expect(page.errors).toEqual([]);
  });
});

describe("the web app's receipts and trip history", () => {
  it("explains the charge against the quote, and pages the history with its receipts", {
    timeout: 240_000,
  }, async () => {
    const rider = await account(server.baseUrl, "rider", "Hana History");
    const driver = await account(server.baseUrl, "driver", "Dario Drives");
    await driver.api.goOnline(PLACES.unionSquare);
    const page = await signedIn(rider, DESKTOP);
    const trip = await rideUnderWay(page, rider, driver, "Union Square", "Ferry Building");
    await driver.api.completeTrip(trip.id);
    await shows(page, "[data-testid=trip-status]", "Trip completed");
    // A ride as quoted: the receipt says so, with the parts it was charged.
    await shows(page, "[data-testid=charge-explained]", /^You paid the \$\d+\.\d\d you were quoted\.$/);
    await shows(page, "[data-testid=receipt]", /Base fare\s*\$\d+\.\d\d\s*Distance/);
    await shot(page, "3-receipt-desktop");

    // Five more trips, called off at once (pickups no driver is near): six in all, a page and a bit.
    const requested = new Map([[trip.id, trip.createdAt]]);
    for (const [from, to] of [
      [PLACES.presidio, PLACES.twinPeaks],
      [PLACES.twinPeaks, PLACES.dogpatch],
      [PLACES.dogpatch, PLACES.presidio],
      [PLACES.presidio, PLACES.dogpatch],
      [PLACES.twinPeaks, PLACES.presidio],
    ] as const) {
      const t = await rider.api.requestTrip({ pickup: from, dropoff: to });
      requested.set(t.id, t.createdAt);
      await rider.api.cancelTrip(t.id, { reasonCode: "changed_plans" });
    }
    await waitFor(
      "the history to have every trip",
      async () => {
        const all = await rider.api.tripHistory({ limit: 10 });
        return all.trips.length === 6 ? true : undefined;
      },
      SEEN_MS,
    );

    for (const viewport of [DESKTOP, PHONE]) {
      const phone = viewport === PHONE;
      const view = phone ? await signedIn(rider, PHONE) : page;
      await view.getByRole("link", { name: "Trips" }).click();
      await expect.poll(() => view.locator(".history-trip").count(), { timeout: SEEN_MS }).toBe(5);
      await shows(view, ".history-trip .route", /Twin Peaks → Presidio/);
      await view.getByRole("button", { name: "Load more" }).click();
      await expect.poll(() => view.locator(".history-trip").count(), { timeout: SEEN_MS }).toBe(6);
      expect(await view.getByRole("button", { name: "Load more" }).isVisible()).toBe(false);
      // Each trip dated when it was requested, in the browser's time zone (the machine-readable time too).
      const dates = [];
      for (const row of await view.locator(".history-trip").all()) {
        const time = row.locator("h3 time");
        dates.push([
          await row.getAttribute("data-trip"),
          await time.getAttribute("datetime"),
          await time.textContent(),
        ]);
      }
      expect(dates.length).toBe(requested.size);
      for (const [id, datetime, text] of dates) {
        const createdAt = requested.get(id ?? "");
        if (createdAt === undefined) throw new Error(`a trip in the history that was never requested: ${id}`);
        expect(datetime).toBe(new Date(createdAt).toISOString());
        expect(plainSpaces(text ?? "")).toBe(plainSpaces(requestedAt(createdAt)));
      }
      const ride = view.locator(".history-trip", { hasText: "Union Square → Ferry Building" });
      const facts = (await ride.textContent()) ?? "";
      expect(facts).toMatch(/Trip completed/);
      expect(facts).toMatch(/Distance\s*(about )?\d+\.\d km/);
      expect(facts).toMatch(/Duration\s*about \d+ min/);
      expect(facts).toMatch(/Driver\s*Dario/);
      expect(facts).toMatch(/Paid\s*\$\d+\.\d\d from your wallet/);
      await ride.getByRole("button", { name: "Show receipt" }).click();
      await shows(view, ".history-trip [data-testid=charge-explained]", /You paid the \$\d+\.\d\d you were quoted\./);
      // A trip called off for free charged nothing and has no receipt.
      const free = view.locator(".history-trip", { hasText: "Twin Peaks → Presidio" });
      expect(await free.textContent()).toMatch(
        /Trip cancelled\s*Planned\s*\d+\.\d km · about \d+ min\s*Paid\s*nothing/,
      );
      expect(await free.getByRole("button", { name: "Show receipt" }).count()).toBe(0);
      await noSidewaysScroll(view);
      await shot(view, `4-history-${phone ? "phone" : "desktop"}`);
      expect(view.errors).toEqual([]);
    }

    // The driver's drives: the one ride, with its fare.
    const driverPage = await signedIn(driver, DESKTOP);
    await driverPage.getByRole("link", { name: "Trips" }).click();
    await shows(driverPage, ".trips-page h2", "Your drives");
    await expect.poll(() => driverPage.locator(".history-trip").count(), { timeout: SEEN_MS }).toBe(1);
    await shows(driverPage, ".history-trip", /Union Square → Ferry Building.*Fare\s*\$\d+\.\d\d/s);
    await expectAccessible(driverPage, "the driver's trips, at desktop size");
    await driverPage.setViewportSize(PHONE);
    await expectAccessible(driverPage, "the driver's trips, at phone size");
    expect(driverPage.errors).toEqual([]);
  });
});

describe("the web app's receipt when the charge differs from the quote", () => {
  for (const [size, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const)
    it(`says by how much and why: a ride ended before the dropoff is priced as driven, at ${size} size`, {
      timeout: 180_000,
    }, async () => {
      const rider = await account(server.baseUrl, "rider", `Erin Early ${size}`);
      const driver = await account(server.baseUrl, "driver", `Drew Short ${size}`);
      await driver.api.goOnline(PLACES.presidio);
      const page = await signedIn(rider, viewport);
      // Across the city: a quote well above the minimum fare, so that a short ride is charged less.
      const trip = await rideUnderWay(page, rider, driver, "Presidio", "Dogpatch");
      // One fix at the pickup, then the end: the ride stops some 8 km short of the dropoff.
      const fix = await fetch(`${server.baseUrl}/v1/drivers/me/location`, {
        method: "POST",
        headers: { authorization: `Bearer ${driver.token}`, "content-type": "application/json" },
        body: JSON.stringify({ ...PLACES.presidio, at: Date.now() }),
      });
      expect(fix.status).toBe(200);
      await driver.api.completeTrip(trip.id);
      await shows(page, "[data-testid=trip-status]", "Trip completed");

      const receipt = await rider.api.receipt(trip.id);
      const quoted = trip.quote.fare.amount;
      expect(receipt.fare.amount).toBeLessThan(quoted);
      const dollars = (cents: number) => `\\$${(cents / 100).toFixed(2)}`;
      await shows(
        page,
        "[data-testid=charge-explained]",
        new RegExp(
          `^You paid ${dollars(receipt.fare.amount)}, ${dollars(quoted - receipt.fare.amount)} less than the ` +
            `${dollars(quoted)} you were quoted\\.` +
            "The ride ended before the dropoff, so it was priced as driven: 0\\.\\d km of the \\d+\\.\\d km quoted\\.",
        ),
      );
      await shows(page, "[data-testid=charge-explained]", /What changed: .*distance −\$\d+\.\d\d/);
      await noSidewaysScroll(page);
      await shot(page, `5-receipt-ended-early-${size}`);
      expect(page.errors).toEqual([]);
      // Off, so that the next size's ride is offered to its own driver.
      await driver.api.goOffline();
    });
});

describe("the operations view's trips", () => {
  it("names areas, lets an operator cancel a trip by its id, and its driver goes back online in one tap", {
    timeout: 180_000,
  }, async () => {
    const ops = await account(server.baseUrl, "rider", "Olga Ops");
    await operator(server.persistTo, ops);
    const rider = await account(server.baseUrl, "rider", "Cai Cancelled");
    const driverAccount = await account(server.baseUrl, "driver", "Dina Desk");
    const driver = await signedIn(driverAccount, PHONE);
    await driver.getByLabel("Start at").selectOption({ label: "Union Square" });
    await driver.getByRole("button", { name: "Go online" }).click();
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");

    const opsPage = await signedIn(ops, DESKTOP);
    // Busy cells by place name, not H3 id.
    await shows(opsPage, 'table[aria-label="Busy cells"] tbody', /Union Square/);
    expect(await opsPage.locator('table[aria-label="Busy cells"] tbody').textContent()).not.toMatch(
      /\b8[0-9a-f]{14}\b/,
    );

    const trip = await rider.api.requestTrip({ pickup: PLACES.unionSquare, dropoff: PLACES.ferryBuilding });
    await shows(driver, "[data-testid=offer-countdown]", /\d+ s left/);
    await driver.getByRole("button", { name: "Accept" }).click();
    await shows(driver, "[data-testid=trip-status]", "Driver on the way");

    // The trip found by its rider's name, then taken to the actions card. The search reads the
    // trips' history, which lags the trip by a moment: search again until it has the acceptance.
    await opsPage.getByLabel("Search words").fill("cai cancelled");
    const found = opsPage.locator(`.found[data-trip="${trip.id}"]`);
    await waitFor(
      "the search to find the trip with its driver on the way",
      async () => {
        await opsPage.getByRole("button", { name: "Search", exact: true }).click();
        await opsPage.waitForTimeout(300);
        if ((await found.count()) !== 1) return undefined;
        const text = (await found.textContent()) ?? "";
        return /Union Square → Ferry Building · Driver on the way/.test(text) ? true : undefined;
      },
      SEEN_MS,
    );
    await shows(opsPage, `.found[data-trip="${trip.id}"]`, /Rider Cai Cancelled · driver Dina Desk/);
    await expectAccessible(opsPage, "the operations view's search of trips, at desktop size");
    await opsPage.locator(`.found[data-trip="${trip.id}"]`).getByRole("button", { name: "Actions" }).click();
    const row = opsPage.locator(`.stuck[data-trip="${trip.id}"]`);
    // No reason, no action: it goes in the audit log.
    await row.getByRole("button", { name: "Cancel trip" }).click();
    await shows(opsPage, "[aria-label='Trips that need a hand'] [role=status]", /Give a reason/);
    await row.getByLabel(`Reason for trip ${trip.id}`).fill("rider called support: wrong pickup");
    await row.getByRole("button", { name: "Cancel trip" }).click();
    await shows(opsPage, `.stuck[data-trip="${trip.id}"]`, /now: Trip cancelled/);
    // Drivers by part of the name, with when they were last online.
    await opsPage.getByLabel("Search in").selectOption("drivers");
    await opsPage.getByLabel("Search words").fill("dina d");
    await opsPage.getByRole("button", { name: "Search", exact: true }).click();
    await shows(opsPage, `.found[data-driver="${driverAccount.user.id}"]`, /Dina Desk · .*@e2e\.example · last online/);
    await expectAccessible(opsPage, "the operations view's search of drivers, at desktop size");
    await shot(opsPage, "5-ops-cancelled-desktop");
    // The same cards on a phone, with no sideways scroll in them.
    await opsPage.setViewportSize(PHONE);
    await shows(opsPage, 'table[aria-label="Busy cells"] tbody', /Union Square/);
    await noSidewaysScroll(opsPage);
    await shot(opsPage, "5-ops-phone");
    expect((await rider.api.trip(trip.id))?.cancelledBy).toBe("admin");

    // The driver sees the cancel and is back to offers in one tap.
    await shows(driver, "[data-testid=trip-status]", "Trip cancelled");
    await driver.getByRole("button", { name: "Back to offers" }).click();
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
    expect((await driverAccount.api.driver()).status).toBe("available");
    await noSidewaysScroll(driver);
    await shot(driver, "5-driver-back-online-phone");
    for (const page of [driver, opsPage] as AppPage[]) expect(page.errors).toEqual([]);
  });
});
