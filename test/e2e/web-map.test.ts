/**
 * The street map, nearby cars and place search in a real browser against a real `wrangler dev`
 * (README, "Web app"): the dev city's PMTiles archive (scripts/dev-tiles.mjs) in the local R2
 * bucket, served by range by the Worker, drawn by MapLibre (Chromium's SwiftShader gives WebGL);
 * the SVG city without WebGL; the cars nearby as coarse dots before a request; places found in
 * the city's list and through the geocoder stand-in (test/helpers/geocoder-server.mjs), and named,
 * never given as coordinates, on the rider's and the driver's side. At 1280 x 800 and 390 x 844;
 * screenshots go to test-artifacts/web-map/.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGeocoder } from "../helpers/geocoder-server.mjs";
import { browserSuite } from "./helpers/suite";
import { type Account, account } from "./helpers/users";
import { type AppPage, SEEN_MS, signedInPage } from "./helpers/web-page";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** Coordinates as a person would not want to read them: "37.7749, -122.4194". */
const COORDINATES = /-?\d{1,3}\.\d{3,}/;

// Before the suite's beforeAll (hooks run in the order they are registered): the server is told the geocoder's address.
let geocoder: Awaited<ReturnType<typeof startGeocoder>>;
beforeAll(async () => {
  geocoder = await startGeocoder();
});
afterAll(async () => {
  await geocoder?.close();
});

const suite = browserSuite("web-map", {
  devTiles: true,
  vars: () => ({ MAP_TILES_ARCHIVE: "dev-city", GEOCODER_URL: geocoder.baseUrl }),
});

/** The tile archive's answers the page received: [status, Content-Range]. */
function tileAnswers(page: Page): [number, string | null][] {
  const seen: [number, string | null][] = [];
  page.on("response", (res) => {
    if (new URL(res.url()).pathname === "/v1/tiles/dev-city.pmtiles")
      seen.push([res.status(), res.headers()["content-range"] ?? null]);
  });
  return seen;
}

async function signedIn(
  who: Account,
  viewport = DESKTOP,
  noWebGl = false,
): Promise<{ page: AppPage; tiles: [number, string | null][]; mapAsks: () => number }> {
  let tiles: [number, string | null][] = [];
  let mapAsks = 0;
  const page = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, who, { viewport }, (p) => {
    tiles = tileAnswers(p);
    p.on("request", (req) => {
      if (new URL(req.url()).pathname === "/v1/map") mapAsks++;
    });
    // A browser without WebGL (an old one, or one with it switched off): no context of either kind.
    if (noWebGl)
      return p.addInitScript(`{
        const original = HTMLCanvasElement.prototype.getContext;
        HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
          return kind === "webgl" || kind === "webgl2" ? null : original.call(this, kind, ...rest);
        };
      }`);
  });
  return { page, tiles, mapAsks: () => mapAsks };
}

for (const [size, viewport] of [
  ["desktop", DESKTOP],
  ["phone", PHONE],
] as const) {
  describe(`street map at ${size} size`, () => {
    it("draws the streets from the Worker's tile archive, read by range", async () => {
      const rider = await account(suite.server.baseUrl, "rider", `Map Rider ${size}`);
      const { page, tiles, mapAsks } = await signedIn(rider, viewport);
      const map = page.locator(".street-map");
      await expect.poll(() => map.getAttribute("data-loaded"), { timeout: SEEN_MS }).toBe("true");
      await expect
        .poll(async () => Number((await map.getAttribute("data-roads")) ?? "0"), { timeout: SEEN_MS })
        .toBeGreaterThan(5);
      expect(tiles.length).toBeGreaterThan(1);
      for (const [status, range] of tiles) {
        expect(status).toBe(206);
        expect(range).toMatch(/^bytes \d+-\d+\/\d+$/);
      }
      expect(await page.locator("svg.city-map").count()).toBe(0);
      // The map, the place search and the place names share one answer of GET /v1/map.
      expect(mapAsks()).toBe(1);
      // The credit is the archive's metadata's: the schematic development city names no data source.
      expect(await map.textContent()).not.toContain("OpenStreetMap");
      expect(await page.locator(".maplibregl-ctrl-attrib").count()).toBe(0);
      // No sideways scrolling at either size.
      expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
      await suite.shot(page, `rider-street-map-${size}`);
      expect(page.errors).toEqual([]);
    });

    it("keeps the SVG city where the browser has no WebGL", async () => {
      const rider = await account(suite.server.baseUrl, "rider", `Svg Rider ${size}`);
      const { page, tiles } = await signedIn(rider, viewport, true);
      await expect(page.locator("svg.city-map").count()).resolves.toBe(1);
      await page.waitForTimeout(1_000);
      expect(await page.locator(".street-map").count()).toBe(0);
      expect(tiles).toEqual([]);
      await suite.shot(page, `rider-svg-fallback-${size}`);
    });
  });
}

describe("nearby cars and places", () => {
  it("shows the cars nearby as coarse dots before a request, with no driver id", async () => {
    const driver = await account(suite.server.baseUrl, "driver", "Nearby Driver");
    const exact = { lat: 37.7881, lng: -122.4074 };
    await driver.api.goOnline(exact);
    const rider = await account(suite.server.baseUrl, "rider", "Nearby Rider");
    let answer = "";
    const { page } = await signedIn(rider, PHONE);
    page.on("response", async (res) => {
      if (new URL(res.url()).pathname === "/v1/cars/nearby") answer = await res.text().catch(() => "");
    });
    await page.reload();
    await expect.poll(() => page.locator("[data-marker^=car-]").count(), { timeout: SEEN_MS }).toBeGreaterThan(0);
    await expect.poll(() => answer, { timeout: SEEN_MS }).toContain("precisionM");
    expect(answer).not.toContain(driver.user.id);
    expect(answer).not.toContain(String(exact.lng));
    await suite.shot(page, "rider-nearby-cars-phone");
    await driver.api.goOffline();
  });

  for (const [size, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const)
    it(`finds places by name, the city's own and the geocoder's, and names a clicked point (${size})`, async () => {
      const rider = await account(suite.server.baseUrl, "rider", `Search Rider ${size}`);
      const { page } = await signedIn(rider, viewport);
      const search = page.getByLabel("Search for a place");
      await search.fill("tower");
      await page.getByRole("button", { name: "Pickup: Coit Tower, San Francisco" }).click();
      await search.fill("ferry");
      await page.getByRole("button", { name: "Dropoff: Ferry Building" }).click();
      await expect
        .poll(() => page.getByTestId("points").textContent(), { timeout: SEEN_MS })
        .toBe("Pickup: Coit Tower, San Francisco · Dropoff: Ferry Building");
      await search.fill("zzzz nowhere");
      await expect.poll(() => page.locator(".place-note").textContent(), { timeout: SEEN_MS }).toBe("No place found.");
      await search.fill("");
      await page.getByRole("button", { name: "Get a quote" }).click();
      await expect.poll(() => page.getByTestId("quote-fare").textContent(), { timeout: SEEN_MS }).toMatch(/\$\d/);
      await suite.shot(page, `rider-place-search-${size}`);
      // A click on the map, away from any place: a name from the geocoder or "near …", never coordinates.
      const map = page.locator(".street-map");
      await expect.poll(() => map.getAttribute("data-loaded"), { timeout: SEEN_MS }).toBe("true");
      const box = await map.boundingBox();
      if (!box) throw new Error("no map on the page");
      await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.6);
      await expect.poll(() => page.getByTestId("points").textContent(), { timeout: SEEN_MS }).toMatch(/^Pickup: near /);
      expect(await page.getByTestId("points").textContent()).not.toMatch(COORDINATES);
      expect(page.errors).toEqual([]);
    });

  it("keeps the listed places in place as the geocoder answers, and lists no answer after a choice", async () => {
    const rider = await account(suite.server.baseUrl, "rider", "Steady Search Rider");
    const { page } = await signedIn(rider, PHONE);
    const search = page.getByLabel("Search for a place");
    const items = page.locator(".place-results li");
    // "park": Golden Gate Park from the city's list at once, Oracle Park from the geocoder after the pause.
    await search.fill("park");
    const local = await page.getByRole("button", { name: "Dropoff: Golden Gate Park" }).elementHandle();
    if (!local) throw new Error("the city's place is not listed");
    await expect.poll(() => items.count(), { timeout: SEEN_MS }).toBeGreaterThan(1);
    // Replaced, it would take a tap whose press came before the answer and whose release came after.
    expect(await local.evaluate((el: unknown) => (el as { isConnected: boolean }).isConnected)).toBe(true);
    await local.click();
    await expect
      .poll(() => page.getByTestId("points").textContent(), { timeout: SEEN_MS })
      .toBe("Pickup: not set · Dropoff: Golden Gate Park");

    // The geocoder asked, and its answer held until the rider has chosen from the city's list: it shows nothing.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route("**/v1/places/search?**", async (route) => {
      await released;
      await route.continue();
    });
    const asked = page.waitForRequest((req) => new URL(req.url()).pathname === "/v1/places/search");
    await search.fill("park");
    await asked;
    await page.getByRole("button", { name: "Pickup: Golden Gate Park" }).click();
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === "/v1/places/search");
    release();
    await answered;
    await page.waitForTimeout(500);
    expect(await items.count()).toBe(0);
    expect(await search.inputValue()).toBe("");
    expect(page.errors).toEqual([]);
  });

  it("names the driver's offer by places (the geocoder's off the city's list), on the street map", async () => {
    const driver = await account(suite.server.baseUrl, "driver", "Offer Driver");
    const rider = await account(suite.server.baseUrl, "rider", "Offer Rider");
    const { page: driverPage } = await signedIn(driver, PHONE);
    await driverPage.getByLabel("Start at").selectOption({ label: "Union Square" });
    await driverPage.getByRole("button", { name: "Go online" }).click();
    await expect
      .poll(() => driverPage.getByTestId("driver-status").textContent(), { timeout: SEEN_MS })
      .toContain("waiting for offers");
    // A pickup at a place of the city's list, a dropoff away from it (Coit Tower: the geocoder names it).
    const coit = { lat: 37.8024, lng: -122.4058 };
    const quote = await rider.api.quote({ pickup: { lat: 37.7885, lng: -122.4071 }, dropoff: coit });
    await rider.api.requestTrip({ quoteId: quote.id });
    await expect
      .poll(() => driverPage.getByTestId("offer-route").textContent(), { timeout: SEEN_MS })
      .toBe("Union Square → Coit Tower, San Francisco");
    // The offer can come before the street map's first load (the page is quick to go online): the map, once loaded.
    await expect
      .poll(() => driverPage.locator(".street-map").getAttribute("data-loaded"), { timeout: SEEN_MS })
      .toBe("true");
    await suite.shot(driverPage, "driver-offer-names-phone");
    await driverPage.getByRole("button", { name: "Decline" }).click();
  });
});
