/**
 * A ride no driver takes, in the web app in a real browser (Chromium through playwright-core) against a real
 * `wrangler dev` whose matching gives up after MATCH_TIMEOUT_MS (8 s here, 120 s by default) with nobody online: the
 * rider sees matching go on, then "No driver found" with the money back and a way to plan another ride; and a reload,
 * in the middle of matching and after it ended, comes back on the same state. At 1280 x 800 and 390 x 844;
 * screenshots go to test-artifacts/web-no-driver/.
 */
import { describe, expect, it } from "vitest";
import { browserSuite } from "./helpers/suite";
import { account } from "./helpers/users";
import { clickRequestRide, expectAccessible, SEEN_MS, signedInPage, shows } from "./helpers/web-page";

const MATCH_TIMEOUT_MS = 8_000;
const SIZES = [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 844 } },
] as const;

const suite = browserSuite("web-no-driver", { vars: { MATCH_TIMEOUT_MS: String(MATCH_TIMEOUT_MS) } });

describe("a ride no driver takes", () => {
  for (const { name: size, viewport } of SIZES)
    it(`shows matching, then no driver found with the money back, across reloads, at ${size} size`, {
      timeout: 120_000,
    }, async () => {
      const rider = await account(suite.server.baseUrl, "rider", `Nina Nobody ${size}`);
      const page = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, rider, { viewport });
      const wallet = page.locator(".wallet-text");
      await shows(page, ".wallet-text", /^Balance \$\d+\.\d\d · available \$\d+\.\d\d$/);
      const before = await wallet.textContent();
      await page.getByLabel("Pickup", { exact: true }).selectOption({ label: "Union Square" });
      await page.getByLabel("Dropoff", { exact: true }).selectOption({ label: "Ferry Building" });
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
