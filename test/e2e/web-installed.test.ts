/**
 * The web app as an installed app, in a real browser (Chromium through playwright-core) against a real `wrangler dev`
 * with a VAPID pair of its own: the manifest is served and linked with its icons, the service worker is registered with
 * the app shell in a versioned cache (and no /v1/ answer in it), and the page opens offline from it (at phone and at
 * desktop size); the notifications prompt does not come on load, comes after the rider's first request (and when a
 * driver goes online), and its button asks the browser and registers the push subscription with the service; a
 * driver's "Not now" is kept. A Web Push message delivered to the service worker (through Chromium's DevTools
 * protocol) is shown as a notification with the service's title and body, one per trip, opening the screen it is
 * about, and the page acknowledges it to the service: the rider's trip status at phone size, the driver's offer at
 * desktop size. Screenshots go to test-artifacts/web-installed/.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite } from "./helpers/suite";
import { account } from "./helpers/users";
import {
  SEEN_MS,
  clickRequestRide,
  expectAccessible,
  expectNoSideScroll,
  getQuote,
  goOnline,
  shows,
  signedInPage,
} from "./helpers/web-page";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const base64url = (bytes: Buffer) => bytes.toString("base64url");

/** A P-256 pair in the forms the service's config takes: the raw public point and the private scalar. */
function vapidPair(): { publicKey: string; privateKey: string } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.x || !jwk.y || !jwk.d) throw new Error("no P-256 JWK");
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  return { publicKey: base64url(point), privateKey: jwk.d };
}

const vapid = vapidPair();
const suite = browserSuite("web-installed", {
  vars: { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey },
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

/** A notification as the worker asked for it: its title and `showNotification`'s options. */
type Shown = { title: string; body?: string; tag?: string; icon?: string; badge?: string; data?: object };

/**
 * Delivers `payload` (a Web Push message's plaintext, as the service sends it: src/notify/message.ts's
 * `deliveryPayload`) to `page`'s service worker with Chromium's DevTools protocol (`ServiceWorker.deliverPushMessage`,
 * the event a push service's message raises), and resolves to the notifications the worker showed for it.
 *
 * The worker's push handler runs for real; what is stood in for is the browser's notification centre. Chromium's
 * headless shell (the npm build these tests drive) has no notifications: its `showNotification` rejects for want of a
 * permission that no grant (Playwright's, or DevTools' Browser.setPermission) gives it. So the running worker's
 * registration gets a `showNotification` that records what it was asked to show, and the notifications are read
 * from that record, as `registration.getNotifications()` would read them in a full Chromium.
 */
async function deliverPush(page: Page, payload: object): Promise<Shown[]> {
  const origin = new URL(page.url()).origin;
  const cdp = await page.context().newCDPSession(page);
  const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => registrations.push(...event.registrations));
  await cdp.send("ServiceWorker.enable");
  const registration = await waitForValue(() => registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted));
  const worker = await waitForValue(() =>
    page
      .context()
      .serviceWorkers()
      .find((w) => w.url() === `${origin}/sw.js`),
  );
  await worker.evaluate(`(() => {
    self.__shown = [];
    self.registration.showNotification = async (title, options) => { self.__shown.push({ title, ...options }); };
  })()`);
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin,
    registrationId: registration.registrationId,
    data: JSON.stringify(payload),
  });
  const shown = () => worker.evaluate<Shown[]>("self.__shown");
  await expect.poll(async () => (await shown()).length, { timeout: SEEN_MS }).toBeGreaterThan(0);
  await cdp.detach();
  return shown();
}

/** `find()`'s answer once it has one (a DevTools event or a worker the context has yet to report). */
async function waitForValue<T>(find: () => T | undefined): Promise<T> {
  await expect.poll(() => find() !== undefined, { timeout: SEEN_MS }).toBe(true);
  const found = find();
  if (found === undefined) throw new Error("gone again");
  return found;
}

describe("the web app as an installed app", () => {
  it("links a manifest with icons, runs a service worker with the shell in a versioned cache, and opens offline", {
    timeout: 120_000,
  }, async () => {
    const rider = await signedInPage(
      suite.browser,
      suite.contexts,
      suite.server.baseUrl,
      await account(suite.server.baseUrl, "rider", "Petra PWA"),
      { viewport: PHONE },
    );
    // The manifest, as the browser finds it: linked from the page, with what an install needs.
    const href = await rider.locator('link[rel="manifest"]').getAttribute("href");
    expect(href).toBe("/manifest.webmanifest");
    const manifestAnswer = await fetch(`${suite.server.baseUrl}${href}`);
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
      const image = await fetch(`${suite.server.baseUrl}${icon.src}`);
      expect(image.headers.get("content-type")).toContain("image/png");
      const bytes = Buffer.from(await image.arrayBuffer());
      // The PNG's own header says its size: what the manifest claims.
      expect(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`).toBe(icon.sizes);
    }

    // The worker: registered for the whole app, active, and controlling the page after a reload.
    const registered = await rider.evaluate<{ scope: string; script: string }>(
      "navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, script: r.active.scriptURL }))",
    );
    expect(registered).toEqual({ scope: `${suite.server.baseUrl}/`, script: `${suite.server.baseUrl}/sw.js` });
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
    const version = (await (await fetch(`${suite.server.baseUrl}/build/shell-version.js`)).text()).match(
      /"(\w+)"/,
    )?.[1];
    expect(cached.names).toEqual([`ridewire-shell-${version}`]);
    expect(cached.urls).toEqual(expect.arrayContaining(["/", "/app.css", "/build/app.js", "/manifest.webmanifest"]));
    expect(cached.urls.filter((u) => u.startsWith("/v1") || u === "/health")).toEqual([]);

    // Offline: the app still opens from the cache (its page, style and code), and says what it cannot reach; on a
    // phone, and on a desktop's screen.
    await rider.context().setOffline(true);
    for (const viewport of [PHONE, DESKTOP]) {
      await rider.setViewportSize(viewport);
      await rider.reload();
      await rider.locator("header .brand").waitFor({ timeout: SEEN_MS });
      await expect.poll(() => rider.locator("nav .who").textContent(), { timeout: SEEN_MS }).toContain("Petra PWA");
      await expectNoSideScroll(rider, `the app opened offline, ${viewport.width} px wide`);
      await expectAccessible(rider, `the app opened offline, ${viewport.width} px wide`);
    }
    await rider.context().setOffline(false);
    expect(rider.errors.filter((e) => !/fetch|network/i.test(e))).toEqual([]);
  });

  it("asks for notifications after the first request (not on load) and registers the push subscription", {
    timeout: 120_000,
  }, async () => {
    const riderAccount = await account(suite.server.baseUrl, "rider", "Nina Notify");
    const endpoint = `${suite.server.baseUrl}/push-stand-in/${randomBytes(8).toString("hex")}`;
    const rider = await signedInPage(
      suite.browser,
      suite.contexts,
      suite.server.baseUrl,
      riderAccount,
      { viewport: PHONE },
      (page) => page.addInitScript(standInPush, { endpoint, p256dh: p256dhKey(), auth: base64url(randomBytes(16)) }),
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
    await suite.shot(rider, "phone-push-prompt");
    // The browser is asked only now, from the click.
    expect(await rider.evaluate("window.__pushCalls")).toEqual([]);
    await prompt.getByRole("button", { name: "Turn on notifications" }).click();
    await shows(rider, ".side > [role=status]", "Notifications are on.");
    expect(await prompt.count()).toBe(0);
    // Asked once, then subscribed with the service's VAPID key (65 bytes), and the subscription registered.
    expect(await rider.evaluate("window.__pushCalls")).toEqual(["requestPermission", "subscribe:65"]);
    expect(await riderAccount.api.devices()).toEqual([expect.objectContaining({ kind: "webpush", endpoint })]);

    // A push about the trip arrives: the worker shows it, tagged with the trip (a later status replaces it), opening
    // the rider's screen; the page acknowledges it to the service with its session.
    const trip = await riderAccount.api.currentTrip();
    if (!trip) throw new Error("no trip");
    const pushId = `ntf_e2e_${randomBytes(6).toString("hex")}`;
    const acked = rider.waitForRequest(
      (req) => req.method() === "POST" && new URL(req.url()).pathname === `/v1/notifications/${pushId}/ack`,
    );
    const shown = await deliverPush(rider, {
      id: pushId,
      type: "trip_status",
      createdAt: Date.now(),
      title: "Driver on the way",
      body: "Driver on the way",
      data: { tripId: trip.id, seq: 3, status: "accepted", driverId: "usr_e2e_driver", fare: null },
    });
    expect(shown).toEqual([
      {
        title: "Driver on the way",
        body: "Driver on the way",
        tag: trip.id,
        icon: "/icons/icon-192.png",
        badge: "/icons/icon-192.png",
        data: { url: "/#/rider", id: pushId },
      },
    ]);
    await acked;

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
    const driverAccount = await account(suite.server.baseUrl, "driver", "Nils Notify");
    const driver = await signedInPage(
      suite.browser,
      suite.contexts,
      suite.server.baseUrl,
      driverAccount,
      { viewport: DESKTOP },
      (page) =>
        page.addInitScript(standInPush, {
          endpoint: `${suite.server.baseUrl}/push-stand-in/x`,
          p256dh: p256dhKey(),
          auth: "",
        }),
    );
    await driver.evaluate("navigator.serviceWorker.ready");
    expect(await driver.locator(".push-prompt").count()).toBe(0);
    // At this size too, a push arriving is shown: an offer (as the service sends one), tagged with its trip, opening
    // the driver's offers.
    const offerId = `offer:trip_e2e_offer:${driverAccount.user.id}`;
    const offer = await deliverPush(driver, {
      id: offerId,
      type: "offer",
      createdAt: Date.now(),
      title: "New trip offer",
      body: "$12.40, pickup in 3 min",
      data: {
        tripId: "trip_e2e_offer",
        pickup: { lat: 37.7793, lng: -122.4193 },
        dropoff: { lat: 37.7599, lng: -122.4269 },
        fare: { amount: 1240, currency: "USD" },
        pickupEtaSec: 180,
        expiresAt: Date.now() + 15_000,
      },
    });
    expect(offer).toEqual([
      expect.objectContaining({
        title: "New trip offer",
        body: "$12.40, pickup in 3 min",
        tag: "trip_e2e_offer",
        data: { url: "/#/driver", id: offerId },
      }),
    ]);
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
