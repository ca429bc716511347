/**
 * A ride no driver takes, in the web app in a real browser (Chromium through playwright-core) against a real
 * `wrangler dev` whose matching gives up after MATCH_TIMEOUT_MS (8 s here, 120 s by default) with nobody online: the
 * rider sees matching go on, then "No driver found" with the money back and a way to plan another ride; and a reload,
 * in the middle of matching and after it ended, comes back on the same state. At 1280 x 800 and 390 x 844;
 * screenshots go to test-artifacts/web-no-driver/.
 *
 * The server is also set up as an operator may set one up, and the page is checked against it on the way:
 * - the street map from the operator's own MapLibre style (MAP_STYLE_URL, a style served by a local server here, with
 *   its streets in the style itself): MapLibre loads that style, draws its streets and shows its credit, and no tile
 *   archive is asked for;
 * - a geocoder (GEOCODER_URL) that cannot be reached (a port nothing listens on): place search still finds the
 *   city's own places, and the ride is planned with them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./helpers/server";
import { browserSuite } from "./helpers/suite";
import { account } from "./helpers/users";
import { clickRequestRide, expectAccessible, SEEN_MS, signedInPage, shows } from "./helpers/web-page";

const MATCH_TIMEOUT_MS = 8_000;
const SIZES = [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 844 } },
] as const;

/** What the operator's style credits: shown on the map, as a hosted style's credits are. */
const STYLE_CREDIT = "Streets © E2E Operator Maps";

/**
 * The operator's style: a background and three streets of San Francisco as GeoJSON in the style itself (no tile
 * server), in a layer named "roads", which the app counts once the map settles (web/street-map.ts: `data-roads`).
 */
const OPERATOR_STYLE = {
  version: 8,
  name: "E2E operator style",
  sources: {
    streets: {
      type: "geojson",
      attribution: STYLE_CREDIT,
      data: {
        type: "FeatureCollection",
        features: [
          [
            [-122.4194, 37.7749],
            [-122.3937, 37.7955],
          ],
          [
            [-122.4477, 37.7544],
            [-122.4075, 37.788],
          ],
          [
            [-122.4862, 37.7694],
            [-122.4269, 37.7596],
          ],
        ].map((coordinates, i) => ({
          type: "Feature",
          id: i + 1,
          properties: {},
          geometry: { type: "LineString", coordinates },
        })),
      },
    },
  },
  layers: [
    { id: "background", type: "background", paint: { "background-color": "#eef0ea" } },
    { id: "roads", type: "line", source: "streets", paint: { "line-color": "#7a5cff", "line-width": 4 } },
  ],
};

// Before the suite's beforeAll (hooks run in the order they are registered): the server is told both addresses.
let styleServer: Server;
let styleHost = "";
let deadGeocoder = "";
beforeAll(async () => {
  // A style host of the operator's, on another origin than the app's: MapLibre fetches it with CORS.
  styleServer = createServer((req, res) => {
    const found = req.url === "/style.json";
    res.writeHead(found ? 200 : 404, { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" });
    res.end(JSON.stringify(found ? OPERATOR_STYLE : { error: "no such style" }));
  });
  await new Promise<void>((listening) => styleServer.listen(0, "127.0.0.1", listening));
  styleHost = `http://127.0.0.1:${(styleServer.address() as AddressInfo).port}`;
  deadGeocoder = `http://127.0.0.1:${await freePort()}`;
});
afterAll(async () => {
  await new Promise((closed) => styleServer?.close(closed));
});

const suite = browserSuite("web-no-driver", {
  vars: () => ({
    MATCH_TIMEOUT_MS: String(MATCH_TIMEOUT_MS),
    MAP_STYLE_URL: `${styleHost}/style.json`,
    GEOCODER_URL: deadGeocoder,
  }),
});

describe("a ride no driver takes", () => {
  for (const { name: size, viewport } of SIZES)
    it(`shows matching, then no driver found with the money back, across reloads, at ${size} size`, {
      timeout: 120_000,
    }, async () => {
      const rider = await account(suite.server.baseUrl, "rider", `Nina Nobody ${size}`);
      const asked: { path: string; status: number }[] = [];
      const page = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, rider, { viewport }, (p) =>
        p.on("response", (res) => {
          const url = new URL(res.url());
          if (url.origin === styleHost || url.pathname.startsWith("/v1/tiles/"))
            asked.push({ path: url.pathname, status: res.status() });
        }),
      );

      // The street map is the operator's style: fetched from its host, its streets drawn, its credit shown.
      const map = page.locator(".street-map");
      await expect.poll(() => map.getAttribute("data-loaded"), { timeout: SEEN_MS }).toBe("true");
      await expect
        .poll(async () => Number((await map.getAttribute("data-roads")) ?? "0"), { timeout: SEEN_MS })
        .toBeGreaterThan(0);
      expect(asked).toEqual([{ path: "/style.json", status: 200 }]);
      expect(await page.locator("svg.city-map").count()).toBe(0);
      expect(await map.locator(".maplibregl-ctrl-attrib").textContent()).toContain(STYLE_CREDIT);

      // Place search with the geocoder out of reach: the service says so (502), and the city's own places answer.
      const search = page.getByLabel("Search for a place");
      for (const [words, pick] of [
        ["square", "Pickup: Union Square"],
        ["ferry", "Dropoff: Ferry Building"],
      ] as const) {
        const geocoded = page.waitForResponse((res) => new URL(res.url()).pathname === "/v1/places/search");
        await search.fill(words);
        const answer = await geocoded;
        expect(answer.status()).toBe(502);
        await answer.finished();
        // The failed answer handled (it is read and thrown in the page's next tasks): the list is still there.
        await page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))");
        expect(await page.locator(".place-note").textContent()).toBe("");
        await page.getByRole("button", { name: pick }).click();
      }
      await shows(page, "[data-testid=points]", "Pickup: Union Square · Dropoff: Ferry Building");

      const wallet = page.locator(".wallet-text");
      await shows(page, ".wallet-text", /^Balance \$\d+\.\d\d · available \$\d+\.\d\d$/);
      const before = await wallet.textContent();
      await page.getByRole("button", { name: "Get a quote" }).click();
      await shows(page, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
      await clickRequestRide(page);

      // Matching, with the money on hold; a reload in the middle of it comes back on it.
      await shows(page, "[data-testid=trip-status]", /Finding a driver/);
      // Matching shows its progress: the time it has been looking, counting up.
      await shows(page, ".trip-detail", /^Still looking for a driver · 0:0\d elapsed$/);
      await shows(page, ".wallet-text", / · on hold \$\d+\.\d\d$/);
      await suite.shot(page, `1-matching-${size}`);
      await page.reload();
      await shows(page, "[data-testid=trip-status]", /Finding a driver/);

      // Nobody took it: said so, the hold gone, and a way to plan another ride.
      await shows(page, "[data-testid=trip-status]", "No driver found");
      await shows(page, ".wallet-text", before ?? "");
      const again = page.getByRole("button", { name: "Plan another ride" });
      await expect.poll(() => again.isVisible(), { timeout: SEEN_MS }).toBe(true);
      expect((await rider.api.currentTrip())?.status ?? "none").not.toBe("matching");
      await expectAccessible(page, `no driver found at ${size} size`);
      await suite.shot(page, `2-no-driver-${size}`);

      // After a reload: the same ending, not a blank form or a trip still looking; then on to another ride.
      await page.reload();
      await shows(page, "[data-testid=trip-status]", "No driver found");
      await shows(page, ".wallet-text", before ?? "");
      expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(viewport.width);
      await suite.shot(page, `3-no-driver-reloaded-${size}`);
      await again.click();
      const quoteButton = page.getByRole("button", { name: "Get a quote" });
      await expect.poll(() => quoteButton.isVisible(), { timeout: SEEN_MS }).toBe(true);
      expect(await page.locator("[data-testid=trip-status]").isVisible()).toBe(false);
      expect(page.errors).toEqual([]);
    });
});
