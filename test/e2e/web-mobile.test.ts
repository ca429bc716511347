/**
 * The web app's every view at a desktop's 1280 x 800 and a phone's 390 x 844, in a real browser (Chromium through
 * playwright-core) against a real `wrangler dev`: each view (sign-in, sign-up; rider idle, quote, matching, trip,
 * cancel confirm, arrived, in progress, receipt, trips; driver idle, online, offer, trip, arrived, in progress,
 * completed; chat list and room; operations, and the page a rider finds there; the page a share link opens, live and
 * ended; the surge confirm, which says the multiplier and the fare accepted; the place search, which with no
 * geocoder configured finds the city's own places without asking the service) scrolls sideways nowhere, keeps the
 * map's names apart and has no serious or critical axe-core violation; focus is seen; on the phone the quote, the
 * surge confirm and "Request ride" are above the fold. The rider's and driver's screenshots for the README go to
 * docs/ only when UPDATE_DOCS_SCREENSHOTS=1 asks (so that `npm test` leaves the tree clean); screenshots of each view
 * go to test-artifacts/web-mobile/. The app as an installed app (manifest, service worker, notifications prompt) is
 * web-installed.test.ts's.
 */
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite } from "./helpers/suite";
import { account, operator, sharedRoom } from "./helpers/users";
import {
  SEEN_MS,
  blankPage,
  clickRequestRide,
  expectAccessible,
  expectNoSideScroll,
  getQuote,
  goOnline,
  shows,
  signedInPage,
} from "./helpers/web-page";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-artifacts/web-mobile`;
/** The README's pictures are rewritten only on request; an ordinary run must not dirty the git tree. */
const DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === "1" ? `${ROOT}docs` : SHOTS;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SIZES = [
  { name: "desktop", viewport: DESKTOP },
  { name: "phone", viewport: PHONE },
] as const;
/**
 * Places of the web app's city (web/places.ts) far from Union Square and Civic Center, where the other tests' drivers
 * wait: those drivers are offered nothing of these tests'.
 */
const PLACES = {
  presidio: { lat: 37.7989, lng: -122.4662 },
  twinPeaks: { lat: 37.7544, lng: -122.4477 },
  goldenGatePark: { lat: 37.7694, lng: -122.4862 },
};

/**
 * The trip history written within a second (15 s by default): the rider's Trips view, opened right after the ride,
 * reads it once: with the axe scans quicker, it could come before the write and show no trip (seen once at phone size).
 */
const suite = browserSuite("web-mobile", { vars: { TRIP_HISTORY_FLUSH_MS: "1000" } });

/** No place name shown on the SVG city map covers another, or the operations view's count in a cell. */
async function expectLabelsApart(page: Page, view: string): Promise<void> {
  // After the map's next frames: it places its names once per frame (web/map.ts).
  await page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))");
  const overlapping = await page.evaluate<string[]>(`(() => {
    const named = ".city-map .place-label:not(.crowded), .city-map .cell-label:not(.crowded)";
    const labels = [...document.querySelectorAll(named)]
      .filter((el) => el.textContent)
      .map((el) => ({ name: el.textContent, box: el.getBoundingClientRect() }));
    // Where each marker stays (a moving one glides there): its circle's size around its transform's point.
    const markers = [...document.querySelectorAll(".city-map .marker")].map((el) => {
      const at = el.transform.baseVal.consolidate().matrix;
      const c = new DOMPoint(at.e, at.f).matrixTransform(el.ownerSVGElement.getScreenCTM());
      const size = el.querySelector("circle").getBoundingClientRect();
      const [w, h] = [size.width / 2, size.height / 2];
      const box = { left: c.x - w, right: c.x + w, top: c.y - h, bottom: c.y + h };
      return { name: el.getAttribute("data-marker") + " marker", box };
    });
    const out = [];
    labels.forEach((a, i) => [...labels.slice(i + 1), ...markers].forEach((b) => {
      const x = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const y = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (x > 1 && y > 1) out.push(a.name + " / " + b.name);
    }));
    return out;
  })()`);
  expect.soft(overlapping, `${view}: names on the map cover each other or a marker`).toEqual([]);
}

/** The checks and a screenshot of what they ran on. */
async function checkView(page: Page, size: string, view: string): Promise<void> {
  await expectNoSideScroll(page, `${view} at ${size}`);
  await expectLabelsApart(page, `${view} at ${size}`);
  await expectAccessible(page, `${view} at ${size}`);
  await suite.shot(page, `${size}-${view}`);
}

/** `locator`'s box lies inside the first screenful, with the page scrolled to its top. */
async function aboveTheFold(page: Page, selector: string): Promise<void> {
  await page.evaluate("window.scrollTo(0, 0)");
  const box = await page.locator(selector).first().boundingBox();
  expect(box, `${selector} is not shown`).not.toBeNull();
  if (box) expect(box.y + box.height, `${selector} ends at ${box.y + box.height}`).toBeLessThanOrEqual(PHONE.height);
}

describe("the web app at every size", () => {
  for (const { name: size, viewport } of SIZES) {
    it(`shows every view at ${size} with no sideways scroll and no serious axe violation`, {
      timeout: 240_000,
    }, async () => {
      const signIn = await suite.browser.newContext({ viewport });
      suite.contexts.push(signIn);
      const blank = await signIn.newPage();
      await blank.goto(`${suite.server.baseUrl}/`);
      await blank.getByLabel("Email").waitFor();
      await checkView(blank, size, "sign-in");
      // Focus is seen: the keyboard's next stop gets a thick outline.
      await blank.keyboard.press("Tab");
      const outline = await blank.evaluate<{ style: string; width: number }>(
        "(() => { const s = getComputedStyle(document.activeElement); " +
          "return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; })()",
      );
      expect(outline.style).toBe("solid");
      expect(outline.width).toBeGreaterThanOrEqual(2);
      // The sign-up form, from the sign-in page's link.
      await blank.getByRole("button", { name: "New here? Create an account" }).click();
      await blank.getByLabel("Name").waitFor();
      await checkView(blank, size, "sign-up");

      const riderAccount = await account(suite.server.baseUrl, "rider", `Rhea ${size}`);
      const driverAccount = await account(suite.server.baseUrl, "driver", `Dario ${size}`);
      const rider = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, riderAccount, { viewport });
      const driver = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, driverAccount, {
        viewport,
      });
      await shows(rider, ".wallet-text", /available/);
      await checkView(rider, size, "rider-idle");
      await checkView(driver, size, "driver-idle");
      // Map labels are legible at either size: at least 11 screen pixels (font size in user units times the scale).
      const labelPx = await rider.evaluate<number[]>(
        "[...document.querySelectorAll('svg.city-map .place-label')].map((t) => " +
          "parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a)",
      );
      expect(labelPx.length).toBeGreaterThan(0);
      expect(Math.min(...labelPx)).toBeGreaterThanOrEqual(11);
      // On a phone the header is one row.
      const header = await rider.locator("header").boundingBox();
      if (size === "phone") expect(header?.height ?? 0).toBeLessThan(60);

      // Place search with no geocoder configured (this server has none): the city's own places answer, and the
      // service is never asked (counted until the end of the test, well past the search's pause in typing).
      let geocoderAsked = 0;
      rider.on("request", (req) => {
        if (new URL(req.url()).pathname === "/v1/places/search") geocoderAsked++;
      });
      const search = rider.getByLabel("Search for a place");
      await search.fill("zzzz");
      await shows(rider, ".place-note", "No place found.");
      await search.fill("square");
      await rider.getByRole("button", { name: "Pickup: Union Square" }).waitFor({ timeout: SEEN_MS });
      expect(await rider.locator(".place-note").textContent()).toBe("");
      await checkView(rider, size, "rider-place-search");
      await rider.getByRole("button", { name: "Pickup: Union Square" }).click();
      await shows(rider, "[data-testid=points]", /^Pickup: Union Square/);

      await getQuote(rider, "Union Square", "Ferry Building");
      if (size === "phone") {
        // The price and the button to take it, without scrolling.
        await aboveTheFold(rider, ".tier-fare");
        await aboveTheFold(rider, "button:has-text('Request ride')");
      }
      await checkView(rider, size, "rider-quote");

      await goOnline(driver, "Union Square");
      await checkView(driver, size, "driver-online");
      await clickRequestRide(rider);
      await shows(rider, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
      await checkView(rider, size, "rider-matching");
      await shows(driver, "[data-testid=offer-countdown]", /\d+ s left/);
      // The offer names the places, not coordinates (web-map.test.ts names a place off the city's list too).
      await shows(driver, "[data-testid=offer-route]", /^Union Square → Ferry Building$/);
      await checkView(driver, size, "driver-offer");
      const docShot = { path: "", fullPage: false };
      const suffix = size === "phone" ? "-mobile" : "";
      await driver.screenshot({ ...docShot, path: `${DOCS}/web-driver${suffix}.png` });

      await driver.getByRole("button", { name: "Accept" }).click();
      await shows(driver, "[data-testid=trip-status]", "Driver on the way");
      await shows(rider, "[data-testid=trip-status]", "Driver on the way");
      await rider.locator(".chat input[name=message]").fill("I'm by the flower stand");
      await rider.locator(".chat").getByRole("button", { name: "Send" }).click();
      await shows(driver, ".chat .messages", "I'm by the flower stand");
      await checkView(rider, size, "rider-trip");
      await checkView(driver, size, "driver-trip");
      await rider.screenshot({ ...docShot, path: `${DOCS}/web-rider${suffix}.png` });

      // The rest of the trip, each state on both sides: the cancel confirm (kept), arrived, in progress, the receipt.
      await rider.getByRole("button", { name: "Cancel ride" }).click();
      await shows(rider, "[data-testid=fee-notice]", /./);
      await checkView(rider, size, "rider-cancel-confirm");
      await rider.getByRole("button", { name: "Keep my ride" }).click();
      await driver.getByRole("button", { name: "Arrived" }).click();
      await shows(rider, "[data-testid=trip-pin]", /PIN \d{4}/);
      await checkView(rider, size, "rider-arrived");
      await checkView(driver, size, "driver-arrived");
      const pin = /PIN (\d{4})/.exec((await rider.locator("[data-testid=trip-pin]").textContent()) ?? "")?.[1];
      await driver.getByLabel("Rider's PIN").fill(pin ?? "");
      await driver.getByRole("button", { name: "Start ride" }).click();
      await shows(rider, "[data-testid=trip-status]", "On the way to the dropoff");
      await checkView(rider, size, "rider-in-progress");
      await checkView(driver, size, "driver-in-progress");
      await driver.getByRole("button", { name: "Complete ride" }).click();
      await shows(rider, "[data-testid=receipt]", /Total\s*\$\d+\.\d\d/);
      await shows(driver, "[data-testid=trip-status]", "Trip completed");
      await checkView(rider, size, "rider-receipt");
      await checkView(driver, size, "driver-completed");
      await rider.goto(`${suite.server.baseUrl}/#/trips`);
      await rider.locator(".history-trip").first().waitFor({ timeout: SEEN_MS });
      await checkView(rider, size, "rider-trips");

      // Chat rooms: the list, then a room.
      const other = await account(suite.server.baseUrl, "rider", `Cleo ${size}`);
      const room = await sharedRoom(other, riderAccount);
      await other.api.postMessage(room.id, "See you at the meetup");
      await rider.goto(`${suite.server.baseUrl}/#/chat`);
      await rider.locator(`.room-link[data-room="${room.id}"]`).waitFor({ timeout: SEEN_MS });
      await checkView(rider, size, "chat-list");
      await rider.locator(`.room-link[data-room="${room.id}"]`).click();
      await rider.locator(".room .messages").waitFor({ timeout: SEEN_MS });
      await checkView(rider, size, "chat-room");

      // Operations are an operator's: a rider has no link to them, and the address typed by hand says whose they are.
      expect(await rider.locator("nav a[href='#/ops']").count()).toBe(0);
      await rider.goto(`${suite.server.baseUrl}/#/ops`);
      await shows(rider, "[data-testid=operators-only]", /Operators only/);
      await checkView(rider, size, "operators-only");

      // Operations, as an operator.
      const opsAccount = await account(suite.server.baseUrl, "rider", `Olga ${size}`);
      await operator(suite.server.persistTo, opsAccount);
      const ops = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, opsAccount, { viewport });
      await shows(ops, "[data-testid=total-drivers]", /^[0-9]/);
      await checkView(ops, size, "operations");

      expect(geocoderAsked).toBe(0);
      expect([...rider.errors, ...driver.errors, ...ops.errors]).toEqual([]);
    });
  }
});

describe("the web app's other views at both sizes", () => {
  it("shows the shared trip page (live, then ended) with no sideways scroll and no serious axe violation", {
    timeout: 120_000,
  }, async () => {
    const riderAccount = await account(suite.server.baseUrl, "rider", "Sasha Shares");
    const driverAccount = await account(suite.server.baseUrl, "driver", "Gil Golden");
    // The driver in the app: it drives to the pickup and reports where it is, which the shared page shows.
    const driver = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, driverAccount, {
      viewport: DESKTOP,
    });
    await goOnline(driver, "Haight-Ashbury");
    const trip = await riderAccount.api.requestTrip({ pickup: PLACES.goldenGatePark, dropoff: PLACES.twinPeaks });
    try {
      await shows(driver, "[data-testid=offer-countdown]", /\d+ s left/);
      await driver.getByRole("button", { name: "Accept" }).click();
      await shows(driver, "[data-testid=trip-status]", "Driver on the way");
      const link = await riderAccount.api.shareTrip(trip.id);
      expect(link.url).toMatch(new RegExp(`^${suite.server.baseUrl}/#/shared/trip_`));
      // The link, opened with no account at either size: the trip's status, the driver's first name and the ETA.
      const friends = [];
      for (const { name: size, viewport } of SIZES) {
        const friend = await blankPage(suite.browser, suite.contexts, { viewport });
        await friend.goto(link.url);
        await shows(friend, "[data-testid=shared-status]", /^Driver on the way$/);
        await shows(friend, "[data-testid=shared-driver]", /^Driver: Gil$/);
        await shows(friend, "[data-testid=shared-eta]", /^Pickup in \d+ (s|min)$/);
        await expect.poll(() => friend.locator('[data-marker="driver"]').count(), { timeout: SEEN_MS }).toBe(1);
        // Times as the browser's locale writes them ("11:25 PM" here).
        await shows(friend, ".card.trip .hint", /^Updated \d\d?:\d\d( [AP]M)? · link valid until \d\d?:\d\d( [AP]M)?$/);
        expect(await friend.title()).toBe("ridewire: a shared trip");
        // Nothing of the rider's, nor the signed-in app's links.
        expect(await friend.locator("body").textContent()).not.toContain("Sasha");
        expect(await friend.locator("nav a").count()).toBe(0);
        await checkView(friend, size, "shared-trip");
        friends.push({ size, friend });
      }
      // The phone's page widened to a desktop's (a tablet turned, a window widened) draws the map as the desktop's
      // page does, in the city's shape, not in the shape of the band the phone's screen gave it.
      const [wide, narrow] = friends.map(({ friend }) => friend);
      const mapHeight = async (page: Page) => (await page.locator("svg.city-map").boundingBox())?.height ?? 0;
      const desktopHeight = await mapHeight(wide as Page);
      await narrow?.setViewportSize(DESKTOP);
      await expect.poll(() => mapHeight(narrow as Page), { timeout: SEEN_MS }).toBeCloseTo(desktopHeight, 0);
      await narrow?.setViewportSize(PHONE);
      // The trip over (called off), the page says the link works no more: that page too.
      await riderAccount.api.cancelTrip(trip.id, { reasonCode: "changed_plans" });
      for (const { size, friend } of friends) {
        await shows(friend, "[data-testid=shared-status]", /^This link does not work \(any more\)/);
        expect(await friend.locator("[data-testid=shared-driver]").textContent()).toBe("");
        expect(await friend.locator(".card.trip").textContent()).not.toMatch(/valid until|Pickup in/);
        await checkView(friend, size, "shared-trip-ended");
        expect(friend.errors).toEqual([]);
      }
      expect(driver.errors).toEqual([]);
    } finally {
      await riderAccount.api.cancelTrip(trip.id, { reasonCode: "changed_plans" }).catch(() => undefined);
      // Off the road, so that no later test's request is offered to this driver.
      await driver.context().close();
      await driverAccount.api.goOffline().catch(() => undefined);
    }
  });

  it("shows the surge confirm step, in words, with no sideways scroll and no serious axe violation", {
    timeout: 120_000,
  }, async () => {
    // A request nobody can serve leaves the Presidio's cell with demand and no driver: surge at its cap, 3.0x.
    const waiting = await account(suite.server.baseUrl, "rider", "Wes Waiting");
    const first = await waiting.api.requestTrip({ pickup: PLACES.presidio, dropoff: PLACES.twinPeaks });
    try {
      const riderAccount = await account(suite.server.baseUrl, "rider", "Sue Surge");
      for (const { name: size, viewport } of SIZES) {
        const rider = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, riderAccount, {
          viewport,
        });
        await getQuote(rider, "Presidio", "Union Square");
        const fare = (await rider.locator("[data-testid=quote-fare]").textContent()) ?? "";
        await shows(
          rider,
          "[data-testid=surge-notice]",
          /^Fares are 3\.0× higher right now because demand is high near your pickup\. Surge adds \$\d+\.\d\d to /,
        );
        // The multiplier in the quote's parts, and a box to tick that names the fare the rider is asked to accept.
        await shows(rider, "[data-testid=quote-breakdown]", /Surge multiplier\s*3\.0×/);
        const accept = rider.getByRole("checkbox", { name: `I accept the 3.0× fare of ${fare}` });
        expect(await accept.isVisible()).toBe(true);
        expect(await accept.isChecked()).toBe(false);
        const request = rider.getByRole("button", { name: "Request ride" });
        expect(await request.isDisabled()).toBe(true);
        await checkView(rider, size, "rider-surge-confirm");
        if (size === "phone") {
          // What the rider is asked, the box and the button, without scrolling; the box not under the button, which
          // sticks to the screen's bottom.
          await aboveTheFold(rider, "[data-testid=surge-notice]");
          await aboveTheFold(rider, "button:has-text('Request ride')");
          const [box, button] = [await accept.boundingBox(), await request.boundingBox()];
          expect(box && button && box.y + box.height <= button.y, `box ${box?.y}, button ${button?.y}`).toBe(true);
          // Disabled, it is still opaque: the quote scrolling under it does not show through its words.
          const opacity = "getComputedStyle(document.querySelector('.quote + button.primary')).opacity";
          expect(await rider.evaluate(opacity)).toBe("1");
        }
        await accept.check();
        expect(await request.isEnabled()).toBe(true);
        // Nothing was requested: the confirm is a step before the request.
        expect(await riderAccount.api.currentTrip()).toBeNull();
        expect(rider.errors).toEqual([]);
      }
    } finally {
      await waiting.api.cancelTrip(first.id, { reasonCode: "changed_plans" });
    }
  });
});
