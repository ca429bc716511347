/**
 * A browser page of the web app, signed in through its form: what every web browser test starts from. The page's
 * uncaught errors and console errors are collected in `errors`, so a test can say the app raised none.
 */
import AxeBuilder from "@axe-core/playwright";
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

/**
 * No serious or critical axe-core violation of WCAG 2.1 A and AA on the page as it is, `view` naming it in the
 * failure; soft, so that one run tells every view that fails, not the first.
 */
export async function expectAccessible(page: Page, view: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect.soft(bad, `${view}`).toEqual([]);
}
