/**
 * The web app on a phone and on a desktop, as an installable app, and to assistive technology, in a real browser
 * (Chromium through playwright-core) against a real `wrangler dev` with a VAPID pair of its own:
 * - every view (sign-in; rider idle, quote, trip; driver idle, offer, trip; chat list and room; operations; the
 *   page a share link opens, live and ended; the surge confirm, which says the multiplier and the fare accepted) at
 *   1280 x 800 and 390 x 844 scrolls sideways nowhere and has no serious or critical axe-core violation; on the
 *   phone the quote, the surge confirm and "Request ride" are above the fold; the rider's and driver's screenshots
 *   for the README go to docs/ only when UPDATE_DOCS_SCREENSHOTS=1 asks (so that `npm test` leaves the tree clean),
 *   otherwise to test-artifacts/web-mobile/;
 * - the manifest is served and linked, the service worker is registered with the app shell in a versioned cache
 *   (and no /v1/ answer in it), and the page loads offline from it; a push the worker receives is shown;
 * - the notifications prompt does not come on load, comes after the rider's first request (and when a driver goes
 *   online), and its button asks the browser and registers the push subscription with the service.
 * Screenshots of each view go to test-artifacts/web-mobile/.
 */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { devServer, type DevServer } from "./helpers/server";
import { account, sharedRoom, operator } from "./helpers/users";
import { SEEN_MS, blankPage, signedInPage, clickRequestRide, expectAccessible } from "./helpers/web-page";

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

const base64url = (bytes: Buffer) => bytes.toString("base64url");

/** A P-256 pair in the forms the service's config takes: the raw public point and the private scalar. */
function vapidPair(): { publicKey: string; privateKey: string } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.x || !jwk.y || !jwk.d) throw new Error("no P-256 JWK");
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  return { publicKey: base64url(point), privateKey: jwk.d };
}

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(`${ROOT}public/build/app.js`) || !existsSync(`${ROOT}public/build/shell-version.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  const vapid = vapidPair();
  server = await devServer("web-mobile", {
    vars: { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey },
  });
  await server.start();
  browser = (await launchChromium()).browser;
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

async function shows(page: Page, selector: string, pattern: RegExp | string): Promise<void> {
  await expect
    .poll(async () => (await page.locator(selector).allTextContents()).join(" | "), { timeout: SEEN_MS })
    .toMatch(pattern);
}

/** Nothing wider than the screen: the page never scrolls sideways. */
async function expectNoSideScroll(page: Page, view: string): Promise<void> {
  // A string: the test's own types have no DOM.
  // With the culprits: the innermost elements that end past the screen's right edge.
  const { scrollWidth, innerWidth, wide } = await page.evaluate<{
    scrollWidth: number;
    innerWidth: number;
    wide: string[];
  }>(`(() => {
    const past = [...document.body.querySelectorAll("*")].filter(
      (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5,
    );
    const innermost = past.filter((el) => !past.some((other) => other !== el && el.contains(other)));
    const name = (el) => {
      const own = typeof el.className === "string" ? el.className.trim() : "";
      const classes = own ? "." + own.replace(/ +/g, ".") : "";
      const label = el.getAttribute("aria-label") ? '[aria-label="' + el.getAttribute("aria-label") + '"]' : "";
      return el.tagName.toLowerCase() + classes + label + " to " + Math.round(el.getBoundingClientRect().right);
    };
    return {
      scrollWidth: document.scrollingElement.scrollWidth,
      innerWidth: window.innerWidth,
      wide: innermost.slice(0, 5).map(name),
    };
  })()`);
  // Soft: one run tells every view that fails, not the first.
  expect
    .soft(scrollWidth, `${view} scrolls sideways: ${scrollWidth} px wide in ${innerWidth}: ${wide.join(", ")}`)
    .toBeLessThanOrEqual(innerWidth);
}

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
  await page.screenshot({ path: `${SHOTS}/${size}-${view}.png`, fullPage: true });
}

/** `locator`'s box lies inside the first screenful, with the page scrolled to its top. */
async function aboveTheFold(page: Page, selector: string): Promise<void> {
  await page.evaluate("window.scrollTo(0, 0)");
  const box = await page.locator(selector).first().boundingBox();
  expect(box, `${selector} is not shown`).not.toBeNull();
  if (box) expect(box.y + box.height, `${selector} ends at ${box.y + box.height}`).toBeLessThanOrEqual(PHONE.height);
}

async function goOnline(driver: Page, at: string): Promise<void> {
  await driver.getByLabel("Start at").selectOption({ label: at });
  await driver.getByRole("button", { name: "Go online" }).click();
  await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
}

async function getQuote(rider: Page, from: string, to: string): Promise<void> {
  await rider.getByLabel("Pickup", { exact: true }).selectOption({ label: from });
  await rider.getByLabel("Dropoff", { exact: true }).selectOption({ label: to });
  await rider.getByRole("button", { name: "Get a quote" }).click();
  await shows(rider, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
}

describe("the web app at every size", () => {
  for (const { name: size, viewport } of SIZES) {
    it(`shows every view at ${size} with no sideways scroll and no serious axe violation`, {
      timeout: 240_000,
    }, async () => {
      const signIn = await browser.newContext({ viewport });
      contexts.push(signIn);
      const blank = await signIn.newPage();
      await blank.goto(`${server.baseUrl}/`);
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

      const riderAccount = await account(server.baseUrl, "rider", `Rhea ${size}`);
      const driverAccount = await account(server.baseUrl, "driver", `Dario ${size}`);
      const rider = await signedInPage(browser, contexts, server.baseUrl, riderAccount, { viewport });
      const driver = await signedInPage(browser, contexts, server.baseUrl, driverAccount, { viewport });
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
      await rider.goto(`${server.baseUrl}/#/trips`);
      await rider.locator(".history-trip").first().waitFor({ timeout: SEEN_MS });
      await checkView(rider, size, "rider-trips");

      // Chat rooms: the list, then a room.
      const other = await account(server.baseUrl, "rider", `Cleo ${size}`);
      const room = await sharedRoom(other, riderAccount);
      await other.api.postMessage(room.id, "See you at the meetup");
      await rider.goto(`${server.baseUrl}/#/chat`);
      await rider.locator(`.room-link[data-room="${room.id}"]`).waitFor({ timeout: SEEN_MS });
      await checkView(rider, size, "chat-list");
      await rider.locator(`.room-link[data-room="${room.id}"]`).click();
      await rider.locator(".room .messages").waitFor({ timeout: SEEN_MS });
      await checkView(rider, size, "chat-room");

      // Operations, as an operator.
      const opsAccount = await account(server.baseUrl, "rider", `Olga ${size}`);
      await operator(server.persistTo, opsAccount);
      const ops = await signedInPage(browser, contexts, server.baseUrl, opsAccount, { viewport });
      await shows(ops, "[data-testid=total-drivers]", /^[0-9]/);
      await checkView(ops, size, "operations");

      expect([...rider.errors, ...driver.errors, ...ops.errors]).toEqual([]);
    });
  }
});

describe("the web app's other views at both sizes", () => {
  it("shows the shared trip page (live, then ended) with no sideways scroll and no serious axe violation", {
    timeout: 120_000,
  }, async () => {
    const riderAccount = await account(server.baseUrl, "rider", "Sasha Shares");
    const driverAccount = await account(server.baseUrl, "driver", "Gil Golden");
    // The driver in the app: it drives to the pickup and reports where it is, which the shared page shows.
    const driver = await signedInPage(browser, contexts, server.baseUrl, driverAccount, { viewport: DESKTOP });
    await goOnline(driver, "Haight-Ashbury");
    const trip = await riderAccount.api.requestTrip({ pickup: PLACES.goldenGatePark, dropoff: PLACES.twinPeaks });
    try {
      await shows(driver, "[data-testid=offer-countdown]", /\d+ s left/);
      await driver.getByRole("button", { name: "Accept" }).click();
      await shows(driver, "[data-testid=trip-status]", "Driver on the way");
      const link = await riderAccount.api.shareTrip(trip.id);
      expect(link.url).toMatch(new RegExp(`^${server.baseUrl}/#/shared/trip_`));
      // The link, opened with no account at either size: the trip's status, the driver's first name and the ETA.
      const friends = [];
      for (const { name: size, viewport } of SIZES) {
        const friend = await blankPage(browser, contexts, { viewport });
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
    const waiting = await account(server.baseUrl, "rider", "Wes Waiting");
    const first = await waiting.api.requestTrip({ pickup: PLACES.presidio, dropoff: PLACES.twinPeaks });
    try {
      const riderAccount = await account(server.baseUrl, "rider", "Sue Surge");
      for (const { name: size, viewport } of SIZES) {
        const rider = await signedInPage(browser, contexts, server.baseUrl, riderAccount, { viewport });
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

/**
 * The test browser has no notifications and no Push API: Chromium offers neither in an incognito context (every
 * `newContext()` is one) nor in its headless shell, where `Notification.permission` is "denied" for good. So the
 * page's Notification and PushManager are replaced before it loads by stand-ins that behave as Chromium's do for a
 * user who clicks "Allow": permission "default" until asked, then "granted"; a subscription with an endpoint, a
 * P-256 key and an auth secret. What runs for real is the app's prompt, its timing, the calls it makes, and the
 * registration with the service. Each call is recorded in `window.__pushCalls`.
 */
function standInPush(fake: { endpoint: string; p256dh: string; auth: string }): void {
  const w = globalThis as unknown as Record<string, unknown> & { __pushCalls: string[] };
  w.__pushCalls = [];
  let permission = "default";
  let current: object | null = null;
  // The two statics of the browser's Notification that the app uses.
  const StandInNotification = Object.defineProperty(
    {
      requestPermission: async () => {
        w.__pushCalls.push("requestPermission");
        permission = "granted";
        return permission;
      },
    },
    "permission",
    { get: () => permission },
  );
  w.Notification = StandInNotification;
  const subscription = {
    endpoint: fake.endpoint,
    toJSON: () => ({ endpoint: fake.endpoint, keys: { p256dh: fake.p256dh, auth: fake.auth } }),
    unsubscribe: async () => {
      current = null;
      return true;
    },
  };
  const proto = (w.PushManager as { prototype: Record<string, unknown> }).prototype;
  proto.getSubscription = async () => current;
  proto.subscribe = async (options: { userVisibleOnly?: boolean; applicationServerKey?: Uint8Array }) => {
    if (permission !== "granted") throw new DOMException("no permission", "NotAllowedError");
    if (!options?.userVisibleOnly || !options.applicationServerKey) throw new TypeError("bad subscribe options");
    w.__pushCalls.push(`subscribe:${options.applicationServerKey.byteLength}`);
    current = subscription;
    return subscription;
  };
}

/** A browser's subscription key: an uncompressed P-256 point. */
function p256dhKey(): string {
  const jwk = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "jwk" });
  return base64url(
    Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? "", "base64url"), Buffer.from(jwk.y ?? "", "base64url")]),
  );
}

describe("the web app as an installed app", () => {
  it("links a manifest with icons, runs a service worker with the shell in a versioned cache, and opens offline", {
    timeout: 120_000,
  }, async () => {
    const rider = await signedInPage(
      browser,
      contexts,
      server.baseUrl,
      await account(server.baseUrl, "rider", "Petra PWA"),
      { viewport: PHONE },
    );
    // The manifest, as the browser finds it: linked from the page, with what an install needs.
    const href = await rider.locator('link[rel="manifest"]').getAttribute("href");
    expect(href).toBe("/manifest.webmanifest");
    const manifestAnswer = await fetch(`${server.baseUrl}${href}`);
    expect(manifestAnswer.status).toBe(200);
    const manifest = (await manifestAnswer.json()) as {
      name: string;
      start_url: string;
      display: string;
      theme_color: string;
      icons: { src: string; sizes: string; type: string; purpose?: string }[];
    };
    expect(manifest).toMatchObject({ name: "ridewire", start_url: "/", display: "standalone" });
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
    expect(manifest.icons.some((i) => i.purpose === "maskable")).toBe(true);
    for (const icon of manifest.icons) {
      const image = await fetch(`${server.baseUrl}${icon.src}`);
      expect(image.headers.get("content-type")).toContain("image/png");
      const bytes = Buffer.from(await image.arrayBuffer());
      // The PNG's own header says its size: what the manifest claims.
      expect(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`).toBe(icon.sizes);
    }

    // The worker: registered for the whole app, active, and controlling the page after a reload.
    const registered = await rider.evaluate<{ scope: string; script: string }>(
      "navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, script: r.active.scriptURL }))",
    );
    expect(registered).toEqual({ scope: `${server.baseUrl}/`, script: `${server.baseUrl}/sw.js` });
    await rider.reload();
    await expect.poll(() => rider.evaluate("Boolean(navigator.serviceWorker.controller)")).toBe(true);
    await shows(rider, ".wallet-text", /available/);
    // The shell is in one cache named for the build; nothing of the API (the wallet was just read) is in it.
    const cached = await rider.evaluate<{ names: string[]; urls: string[] }>(`(async () => {
      const names = await caches.keys();
      const urls = [];
      for (const name of names)
        for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
      return { names, urls };
    })()`);
    const version = (await (await fetch(`${server.baseUrl}/build/shell-version.js`)).text()).match(/"(\w+)"/)?.[1];
    expect(cached.names).toEqual([`ridewire-shell-${version}`]);
    expect(cached.urls).toEqual(expect.arrayContaining(["/", "/app.css", "/build/app.js", "/manifest.webmanifest"]));
    expect(cached.urls.filter((u) => u.startsWith("/v1") || u === "/health")).toEqual([]);

    // Offline: the app still opens from the cache (its page, style and code), and says what it cannot reach.
    await rider.context().setOffline(true);
    await rider.reload();
    await rider.locator("header .brand").waitFor({ timeout: SEEN_MS });
    await expect.poll(() => rider.locator("nav .who").textContent(), { timeout: SEEN_MS }).toContain("Petra PWA");
    await rider.context().setOffline(false);
    expect(rider.errors.filter((e) => !/fetch|network/i.test(e))).toEqual([]);
  });

  it("asks for notifications after the first request (not on load) and registers the push subscription", {
    timeout: 120_000,
  }, async () => {
    const riderAccount = await account(server.baseUrl, "rider", "Nina Notify");
    const endpoint = `${server.baseUrl}/push-stand-in/${randomBytes(8).toString("hex")}`;
    const rider = await signedInPage(browser, contexts, server.baseUrl, riderAccount, { viewport: PHONE }, (page) =>
      page.addInitScript(standInPush, { endpoint, p256dh: p256dhKey(), auth: base64url(randomBytes(16)) }),
    );
    await rider.evaluate("navigator.serviceWorker.ready");
    // Not on load, nor with a quote on screen: nothing has happened yet worth a notification.
    await getQuote(rider, "Civic Center", "Mission Dolores");
    expect(await rider.locator(".push-prompt").count()).toBe(0);
    expect(await rider.evaluate("window.__pushCalls")).toEqual([]);

    await clickRequestRide(rider);
    await shows(rider, "[data-testid=trip-status]", /Finding a driver/);
    const prompt = rider.locator(".push-prompt");
    await prompt.waitFor({ timeout: SEEN_MS });
    expect(await prompt.textContent()).toContain("Get notified when your driver arrives");
    await expectNoSideScroll(rider, "the notifications prompt");
    await expectAccessible(rider, "the notifications prompt");
    await rider.screenshot({ path: `${SHOTS}/phone-push-prompt.png` });
    // The browser is asked only now, from the click.
    expect(await rider.evaluate("window.__pushCalls")).toEqual([]);
    await prompt.getByRole("button", { name: "Turn on notifications" }).click();
    await shows(rider, ".side > [role=status]", "Notifications are on.");
    expect(await prompt.count()).toBe(0);
    // Asked once, then subscribed with the service's VAPID key (65 bytes), and the subscription registered.
    expect(await rider.evaluate("window.__pushCalls")).toEqual(["requestPermission", "subscribe:65"]);
    expect(await riderAccount.api.devices()).toEqual([expect.objectContaining({ kind: "webpush", endpoint })]);

    // A reload brings the trip back, not the question: it comes from a request, never from a page load.
    await rider.reload();
    await shows(rider, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
    await rider.waitForTimeout(1_000);
    expect(await prompt.count()).toBe(0);
    expect(await rider.evaluate("window.__pushCalls")).toEqual([]);
    expect(rider.errors).toEqual([]);
    // Withdrawn: a trip still looking for a driver would be offered to the next test's driver,
    // who goes online at the same place (and whose "Go online" an offer hides).
    const current = await riderAccount.api.currentTrip();
    if (current) await riderAccount.api.cancelTrip(current.id);
  });

  it('asks a driver when they go online; "Not now" is kept', { timeout: 120_000 }, async () => {
    const driverAccount = await account(server.baseUrl, "driver", "Nils Notify");
    const driver = await signedInPage(browser, contexts, server.baseUrl, driverAccount, { viewport: DESKTOP }, (page) =>
      page.addInitScript(standInPush, { endpoint: `${server.baseUrl}/push-stand-in/x`, p256dh: p256dhKey(), auth: "" }),
    );
    await driver.evaluate("navigator.serviceWorker.ready");
    expect(await driver.locator(".push-prompt").count()).toBe(0);
    await goOnline(driver, "Civic Center");
    const prompt = driver.locator(".push-prompt");
    await prompt.waitFor({ timeout: SEEN_MS });
    expect(await prompt.textContent()).toContain("Get notified of new trip offers");
    await prompt.getByRole("button", { name: "Not now" }).click();
    expect(await prompt.count()).toBe(0);
    // Offline and online again, after a reload: not asked again, and the browser never was.
    await driver.reload();
    await driver.getByRole("button", { name: "Go offline" }).click();
    await driver.getByRole("button", { name: "Go online" }).click();
    await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
    await driver.waitForTimeout(1_000);
    expect(await prompt.count()).toBe(0);
    expect(await driver.evaluate("window.__pushCalls")).toEqual([]);
    expect(await driverAccount.api.devices()).toEqual([]);
  });
});
