/**
 * A browser page of the web app, signed in through its form: what every web browser test starts from. The page's
 * uncaught errors and console errors are collected in `errors`, so a test can say the app raised none.
 */
import axe from "axe-core";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { expect } from "vitest";
import type { Account } from "./users";

export type AppPage = Page & { errors: string[] };

/** How long a test waits for the app to show something. */
export const SEEN_MS = 25_000;

/**
 * A blank page in a fresh context of `browser` (kept in `contexts`, for the file's afterAll to close) that collects
 * its errors: for a page opened with no account (a share link's), and what `signedInPage` signs in on.
 */
export async function blankPage(
  browser: Browser,
  contexts: BrowserContext[],
  options: BrowserContextOptions,
): Promise<AppPage> {
  const context = await browser.newContext(options);
  contexts.push(context);
  const page = (await context.newPage()) as AppPage;
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(err.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().includes("Failed to load resource"))
      page.errors.push(message.text());
  });
  return page;
}

/**
 * `who` signed in at `baseUrl` in a fresh context of `browser` (kept in `contexts`, for the file's afterAll to
 * close); `prepare` runs on the page before it loads (a dialog handler, say), and is awaited: an init script it adds
 * (`addInitScript`, a promise) would otherwise race the page's load, and lose it on a busy machine.
 */
export async function signedInPage(
  browser: Browser,
  contexts: BrowserContext[],
  baseUrl: string,
  who: Account,
  options: BrowserContextOptions,
  prepare?: (page: AppPage) => unknown,
): Promise<AppPage> {
  const page = await blankPage(browser, contexts, options);
  await prepare?.(page);
  await page.goto(`${baseUrl}/`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.locator("nav .who").textContent(), { timeout: SEEN_MS }).toContain(who.user.name);
  return page;
}

/**
 * Clicks "Request ride", ticking the surge confirm first when the quote asks for one: a test city that has seen many
 * requests surges, and from 1.5x the button stays disabled until the rider accepts the fare (web-screens tests that).
 */
export async function clickRequestRide(page: Page): Promise<void> {
  const accept = page.getByRole("checkbox", { name: /^I accept the / });
  if (await accept.isVisible()) await accept.check();
  await page.getByRole("button", { name: "Request ride" }).click();
}

/** Waits until the texts of what `selector` finds on `page`, joined by " | ", match `pattern`. */
export async function shows(page: Page, selector: string, pattern: RegExp | string): Promise<void> {
  await expect
    .poll(async () => (await page.locator(selector).allTextContents()).join(" | "), { timeout: SEEN_MS })
    .toMatch(pattern);
}

/** The driver goes online at the city's place `at`, from the app's form. */
export async function goOnline(driver: Page, at: string): Promise<void> {
  await driver.getByLabel("Start at").selectOption({ label: at });
  await driver.getByRole("button", { name: "Go online" }).click();
  await shows(driver, "[data-testid=driver-status]", "Online: waiting for offers");
}

/** The rider asks for a quote from `from` to `to`, places of the city's list, and waits for its fare. */
export async function getQuote(rider: Page, from: string, to: string): Promise<void> {
  await rider.getByLabel("Pickup", { exact: true }).selectOption({ label: from });
  await rider.getByLabel("Dropoff", { exact: true }).selectOption({ label: to });
  await rider.getByRole("button", { name: "Get a quote" }).click();
  await shows(rider, "[data-testid=quote-fare]", /\$\d+\.\d\d/);
}

/** Nothing wider than the screen: the page never scrolls sideways. */
export async function expectNoSideScroll(page: Page, view: string): Promise<void> {
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

/** The WCAG 2.1 A and AA rules of axe-core. */
const WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * No serious or critical axe-core violation of WCAG 2.1 A and AA on the page as it is, `view` naming it in the
 * failure; soft, so that one run tells every view that fails, not the first. axe-core's source is put into the page
 * once per document (a reload or a new address drops it), then run there: @axe-core/playwright's `analyze()` put the
 * 0.6 MB source in two or three times a scan and opened a blank page for its last step, which made a scan about 1 s
 * where the run itself takes about 0.2 s. The app has no frames, so nothing is left out by running in the top one.
 */
export async function expectAccessible(page: Page, view: string): Promise<void> {
  if (!(await page.evaluate<boolean>("typeof window.axe?.run === 'function'"))) await page.evaluate(axe.source);
  // A string: the test's own types have no DOM.
  const result = await page.evaluate<axe.AxeResults>(
    `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(WCAG_21_AA)} } })`,
  );
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect.soft(bad, `${view}`).toEqual([]);
}
