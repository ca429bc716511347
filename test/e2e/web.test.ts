/**
 * The web app in a real browser (Chromium through playwright-core: a system one, or the build inside the
 * `@sparticuz/chromium` npm package) against a real
 * `wrangler dev` that serves it as static assets: a rider and a driver, each in a browser
 * context of their own, complete a trip with chat and ratings while the operations view shows
 * the city; and two users chat in a room with presence, typing and read marks. Screenshots go
 * to test-artifacts/web/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser";
import { devServer, type DevServer } from "./helpers/server";
import { clickRequestRide, expectAccessible } from "./helpers/web-page";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-artifacts/web`;
/** Generous for a loaded machine: every wait is on something the page shows. */
const SEEN_MS = 20_000;

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
let counter = 0;

beforeAll(async () => {
  // The app is bundled by `npm test` before vitest runs; a run of this file alone builds it.
  if (!existsSync(`${ROOT}public/build/app.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  server = await devServer("web");
  await server.start();
  const launched = await launchChromium();
  browser = launched.browser;
  // Read by the bare-machine check (test/e2e/bare-machine.test.ts) to prove the tests ran.
  console.log(`[web.test] chromium from ${launched.source}: ${launched.executablePath}`);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

/** A page in a fresh browser context (its own storage, as a second device would have). */
async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().includes("Failed to load resource")) errors.push(message.text());
  });
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(`${server.baseUrl}/`);
  return page;
}

const errorsOf = (page: Page) => (page as Page & { errors: string[] }).errors;

/** Signs a new account up through the form; returns its email. */
async function signUp(page: Page, name: string, role: "rider" | "driver"): Promise<string> {
  const email = `${name.toLowerCase().replace(/\W+/g, "")}-${Date.now()}-${++counter}@web.example`;
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("I am a").selectOption(role);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect.poll(() => page.locator("nav .who").textContent(), { timeout: SEEN_MS }).toContain(`${name} (${role})`);
  return email;
}

/** Makes the account an operator the documented way (`npm run admin -- create`), on the test server's local D1. */
function promoteToAdmin(email: string): void {
  const promoted = spawnSync(
    process.execPath,
    ["scripts/admin.mjs", "create", email, "--persist-to", server.persistTo],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (promoted.status !== 0) throw new Error(`npm run admin failed: ${promoted.stdout}\n${promoted.stderr}`);
  expect(promoted.stdout).toContain("promoted");
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

let failures = 0;
/**
 * Waits until `selector` shows text matching `pattern`; on a timeout, a screenshot of the page tells what it showed
 * instead.
 */
async function shows(page: Page, selector: string, pattern: RegExp | string): Promise<void> {
  try {
    await expect
      .poll(async () => (await page.locator(selector).allTextContents()).join(" | "), { timeout: SEEN_MS })
      .toMatch(pattern);
  } catch (err) {
    await shot(page, `failure-${++failures}`).catch(() => undefined);
    throw err;
  }
}

describe("the web app", () => {
  it(
    "takes a rider and a driver through a whole trip with chat, " +
      "receipt and ratings, while operations shows the city",
    async () => {
      const driver = await newPage();
      await signUp(driver, "Dana Driver", "driver");
      await driver.getByLabel("Start at").selectOption({ label: "Union Square" });
      await driver.getByRole("button", { name: "Go online" }).click();
      await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");

      // The operations view is for operators: a rider sees a card saying so, then, promoted by
      // `npm run admin -- create` and signed in again, the city.
      const ops = await newPage();
      // The city comes pushed over the desk's socket, not by polling GET /v1/ops/cells.
      let cityFrames = 0;
      let cellsReads = 0;
      ops.on("websocket", (socket) =>
        socket.on("framereceived", ({ payload }) => {
          if (typeof payload === "string" && payload.startsWith('{"type":"city"')) cityFrames++;
        }),
      );
      ops.on("request", (request) => {
        if (new URL(request.url()).pathname === "/v1/ops/cells") cellsReads++;
      });
      const opsEmail = await signUp(ops, "Otto Ops", "rider");
      // No link to it for a rider; typed by hand, the address says whose it is.
      expect(await ops.locator("nav a[href='#/ops']").count()).toBe(0);
      await ops.goto(`${server.baseUrl}/#/ops`);
      await shows(ops, "[data-testid=operators-only]", /Operators only/);
      promoteToAdmin(opsEmail);
      await ops.getByRole("button", { name: "Sign out" }).click();
      await ops.getByLabel("Email").fill(opsEmail);
      await ops.getByLabel("Password").fill("correct horse battery");
      await ops.getByRole("button", { name: "Sign in" }).click();
      await expect
        .poll(() => ops.locator("nav .who").textContent(), { timeout: SEEN_MS })
        .toContain("Otto Ops (admin)");
      expect(await ops.locator("nav a[href='#/ops']").count()).toBe(1);
      await shows(ops, "[data-testid=total-drivers]", /^[1-9]/);
      expect(await ops.locator("svg .cell.shaded").count()).toBeGreaterThan(0);

      const rider = await newPage();
      await signUp(rider, "Rita Rider", "rider");
      await rider.getByRole("button", { name: /^Add \$50\.00$/ }).click();
      await shows(rider, ".wallet-text", /available \$50\.00/);
      await rider.getByLabel("Pickup", { exact: true }).selectOption({ label: "Union Square" });
      // The dropoff by a click on the map, as a person would choose it.
      const box = await rider.locator("svg.city-map").boundingBox();
      if (!box) throw new Error("no map");
      await rider.mouse.click(box.x + box.width * 0.62, box.y + box.height * 0.45);
      // Named by the nearest of the city's places, never as coordinates.
      await shows(rider, ".points", /Dropoff: (near )?[A-Z][a-z]/);
      expect(await rider.locator(".points").textContent()).not.toMatch(/\d+\.\d{3}/);
      await rider.getByRole("button", { name: "Get a quote" }).click();
      await shows(rider, ".quote", /Pickup in\s*\d+ (s|min)/);
      await shot(rider, "1-rider-quote");
      await clickRequestRide(rider);
      await shows(rider, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);
      // A reload at once finds the trip (from the trip itself, not the lagging trip list).
      await rider.reload();
      await shows(rider, "[data-testid=trip-status]", /Finding a driver|Driver on the way/);

      // The offer, with its countdown and whom it picks up (first name and rating alone), on the driver's screen.
      await shows(driver, "[data-testid=offer-countdown]", /\d+ s left/);
      await shows(driver, "[data-testid=offer-rider]", /^Rita · new rider$/);
      await shot(driver, "2-driver-offer");
      await driver.getByRole("button", { name: "Accept" }).click();
      await shows(driver, "[data-testid=trip-status]", "Driver on the way");
      await shows(driver, "[data-testid=trip-rider]", /^Rita · new rider$/);
      await shows(rider, "[data-testid=trip-status]", "Driver on the way");
      // The operations view's live metrics (GET /v1/ops/metrics): the request and its accept in the dispatch
      // table, the driver's channel among the open connections, a few seconds late (isolates flush every 5 s).
      await shows(ops, "[data-testid=ops-metrics] tr[data-city] td[data-metric=accepted]", /[1-9]/);
      await shows(ops, "[data-testid=ops-metrics] tr[data-kind=DriverSession] td[data-metric=open]", /^[1-9]/);
      await shows(ops, "[data-testid=metric-requests]", /^[1-9]/);
      await shot(ops, "2b-ops-metrics");

      // The driver drives towards the pickup on their own; the rider sees the car and its ETA.
      await driver.getByLabel("Speed").selectOption("240");
      await expect.poll(() => rider.locator('[data-marker="driver"]').count(), { timeout: SEEN_MS }).toBe(1);
      await shows(rider, ".trip-detail", /Driver arrives in \d+ (s|min)/);

      // Trip chat both ways.
      await rider.locator(".chat input[name=message]").fill("I'm by the big tree");
      await rider.locator(".chat").getByRole("button", { name: "Send" }).click();
      await shows(driver, ".chat .messages", "Rider I'm by the big tree");
      await driver.locator(".chat input[name=message]").fill("Two minutes");
      await driver.locator(".chat").getByRole("button", { name: "Send" }).click();
      await shows(rider, ".chat .messages", "Driver Two minutes");
      // The driver's page reloaded mid-trip keeps the trip and its chat.
      await driver.reload();
      await shows(driver, "[data-testid=trip-status]", "Driver on the way");
      await shows(driver, ".chat .messages", "Rider I'm by the big tree");
      await driver.getByLabel("Speed").selectOption("240");
      await shot(rider, "3-rider-approach");

      // Share my trip: the link opens, with no account, the trip's status and the driver's first name.
      await rider.getByRole("button", { name: "Share my trip" }).click();
      await expect
        .poll(() => rider.getByLabel("Share link").inputValue(), { timeout: SEEN_MS })
        .toMatch(/\/#\/shared\/trip_/);
      const shareUrl = await rider.getByLabel("Share link").inputValue();
      const friend = await newPage();
      await friend.goto(shareUrl);
      await shows(friend, "[data-testid=shared-status]", "Driver on the way");
      await shows(friend, "[data-testid=shared-driver]", "Driver: Dana");
      expect(await friend.locator("body").textContent()).not.toContain("Rita");
      await shot(friend, "3b-shared-trip");

      // SOS: the rider raises one; the operations view shows it at once (its live feed), until acknowledged.
      await rider.getByRole("button", { name: "SOS" }).click();
      await shows(rider, "[role=status]", "SOS sent: operators have been alerted.");
      await shows(ops, "[data-testid=sos-alerts]", /SOS from the rider · trip trip_/);
      await expectAccessible(ops, "the operations view's SOS alerts, at 1280 x 900");
      await ops.setViewportSize({ width: 390, height: 844 });
      await expectAccessible(ops, "the operations view's SOS alerts, at 390 x 844");
      await ops.setViewportSize({ width: 1280, height: 900 });
      await ops.getByRole("button", { name: "Acknowledge" }).click();
      await shows(ops, "[data-testid=sos-alerts]", "No open alerts.");

      await shows(ops, "[data-testid=total-trips]", /^1$/);
      await shot(ops, "4-ops");
      // Tens of seconds of the page open: pushes every 2 s, and the page read the city itself only when it opened
      // (and should a push have come late on a busy machine): a 3 s poll would have read it at every push.
      expect(cityFrames).toBeGreaterThanOrEqual(3);
      expect(cellsReads).toBeLessThan(cityFrames);

      await driver.getByRole("button", { name: "Arrived" }).click();
      await shows(rider, "[data-testid=trip-status]", "Driver has arrived");
      // The rider's page shows the trip's PIN, and the driver starts the ride only with it.
      await shows(rider, "[data-testid=trip-pin]", /^PIN \d{4} · tell it to your driver$/);
      const pin = (await rider.locator("[data-testid=trip-pin]").textContent())?.match(/\d{4}/)?.[0] ?? "";
      await driver.getByRole("button", { name: "Start ride" }).click();
      await shows(driver, "[role=status]", "Ask the rider for their 4-digit PIN and enter it to start the trip.");
      await driver.getByLabel("Rider's PIN").fill(pin);
      await driver.getByRole("button", { name: "Start ride" }).click();
      await shows(rider, "[data-testid=trip-status]", "On the way to the dropoff");
      await driver.getByRole("button", { name: "Complete ride" }).click();
      await shows(driver, "[data-testid=final-fare]", /Fare \$\d+\.\d\d/);
      await shows(rider, "[data-testid=trip-status]", "Trip completed");
      // The link stops with the trip.
      await shows(friend, "[data-testid=shared-status]", /does not work \(any more\)/);
      await shows(rider, "[data-testid=receipt]", /Total\s*\$\d+\.\d\d/);
      // Settled: the hold is gone, the fare taken.
      await shows(rider, ".wallet-text", /^Balance \$\d+\.\d\d · available \$\d+\.\d\d$/);
      await shot(rider, "5-rider-receipt");

      await rider.getByRole("button", { name: "5 stars" }).click();
      await shows(rider, ".rating", "Thanks: you gave 5 stars.");
      await driver.getByRole("button", { name: "4 stars" }).click();
      await shows(driver, ".rating", "Thanks: you gave 4 stars.");
      await shot(driver, "6-driver-done");
      await shows(ops, "[data-testid=total-trips]", /^0$/);

      for (const page of [driver, rider, ops]) expect(errorsOf(page)).toEqual([]);
    },
  );

  it("lets two users chat in a room with presence, typing and read marks", async () => {
    const ada = await newPage();
    await signUp(ada, "Ada", "rider");
    await ada.goto(`${server.baseUrl}/#/chat`);
    const roomName = `Lobby ${Date.now()}`;
    await ada.getByLabel("New room name").fill(roomName);
    await ada.getByRole("button", { name: "Create" }).click();
    await shows(ada, ".room h2", roomName);

    const bob = await newPage();
    await signUp(bob, "Bob", "driver");
    await bob.goto(`${server.baseUrl}/#/chat`);
    await bob.getByRole("button", { name: roomName }).click();
    await shows(bob, ".room h2", roomName);
    await shows(ada, ".people", /Online: .*Bob/);

    await ada.locator(".room input[name=message]").fill("hello bob");
    await ada.locator(".room").getByRole("button", { name: "Send" }).click();
    await shows(bob, ".room .messages", /Ada hello bob/);
    // Bob has read it (his page is visible): Ada sees the read mark.
    await shows(ada, ".room .messages", /✓ Bob/);

    await bob.locator(".room input[name=message]").pressSequentially("hi ad");
    await shows(ada, ".typing", "Bob is typing…");
    await bob.locator(".room input[name=message]").press("Enter");
    await shows(ada, ".room .messages", /Bob hi ad/);
    await shows(ada, ".typing", /^$/);
    await shot(ada, "7-chat");

    // A page reloaded later finds the history over HTTP.
    await bob.reload();
    await bob.getByRole("button", { name: roomName }).click();
    await shows(bob, ".room .messages", /Ada hello bob.*You hi ad/);
    for (const page of [ada, bob]) expect(errorsOf(page)).toEqual([]);
  });
});
