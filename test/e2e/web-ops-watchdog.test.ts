/**
 * The operations view's trips that need a hand, in a real browser (Chromium through playwright-core) against a real
 * `wrangler dev` whose watchdog takes a trip from a driver silent for 10 s (DRIVER_SILENT_MS; two minutes by
 * default): the trip comes onto an operator's open pages live (one at desktop size, one at phone size), from the desk's
 * `stuck_trip` frame, with why and what became of it; and an operator takes another trip from its driver with
 * Reassign, reason required, at phone size.
 * Screenshots go to test-artifacts/web-ops-watchdog/.
 */
import { describe, expect, it } from "vitest";
import { browserSuite } from "./helpers/suite";
import { acceptWhenOffered, account, operator } from "./helpers/users";
import { expectAccessible, SEEN_MS, signedInPage, shows } from "./helpers/web-page";

const DRIVER_SILENT_MS = 10_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const UNION_SQUARE = { lat: 37.788, lng: -122.4075 };
const FERRY_BUILDING = { lat: 37.7955, lng: -122.3937 };

const suite = browserSuite("web-ops-watchdog", { vars: { DRIVER_SILENT_MS: String(DRIVER_SILENT_MS) } });

describe("the operations view's trips that need a hand", () => {
  it("shows a trip the watchdog took from a silent driver, live, and reassigns another with a reason", {
    timeout: 180_000,
  }, async () => {
    const ops = await account(suite.server.baseUrl, "rider", "Odile Ops");
    await operator(suite.server.persistTo, ops);
    const opsPage = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, ops, { viewport: DESKTOP });
    // The same operator at phone size too, open from the start: the live update reaches that page as well.
    const phone = await signedInPage(suite.browser, suite.contexts, suite.server.baseUrl, ops, { viewport: PHONE });
    // An operator lands on the operations view.
    await shows(opsPage, "[data-testid=stuck-trips]", "No trip needs a hand.");
    await shows(phone, "[data-testid=stuck-trips]", "No trip needs a hand.");

    // A driver accepts, then sends nothing: the watchdog sends the trip back to matching, and the open page hears it.
    const rider = await account(suite.server.baseUrl, "rider", "Rita Rider");
    const silent = await account(suite.server.baseUrl, "driver", "Sid Silent");
    await silent.api.goOnline(UNION_SQUARE);
    const lost = await rider.api.requestTrip({ pickup: UNION_SQUARE, dropoff: FERRY_BUILDING });
    await acceptWhenOffered(silent, lost.id);
    const row = opsPage.locator(`[data-testid=stuck-trips] li[data-trip="${lost.id}"]`);
    await expect.poll(() => row.count(), { timeout: DRIVER_SILENT_MS + SEEN_MS }).toBe(1);
    expect(await row.textContent()).toMatch(
      /^\d{1,2}:\d\d( [AP]M)? · Driver went silent: the trip went back to matching · trip /,
    );
    expect((await rider.api.trip(lost.id)).status).toBe("matching");
    await expectAccessible(opsPage, "the operations view with a stuck trip, at desktop size");
    await suite.shot(opsPage, "1-stuck-desktop");
    const phoneRow = phone.locator(`[data-testid=stuck-trips] li[data-trip="${lost.id}"]`);
    await expect.poll(() => phoneRow.count(), { timeout: SEEN_MS }).toBe(1);
    expect(await phoneRow.textContent()).toMatch(/ · Driver went silent: the trip went back to matching · trip /);
    await expectAccessible(phone, "the operations view with a stuck trip, at phone size");
    await suite.shot(phone, "1-stuck-phone");

    // Another trip, its driver on the way: an operator at phone size finds it by id and takes it from them.
    await rider.api.cancelTrip(lost.id, { reasonCode: "changed_plans" });
    // Silent for only 10 s here, Sid is still fresh in the city's index (DRIVER_STALE_MS is longer): taken offline,
    // so that the next offer is Kim's.
    await silent.api.goOffline();
    const keen = await account(suite.server.baseUrl, "driver", "Kim Keen");
    await keen.api.goOnline(UNION_SQUARE);
    const taken = await rider.api.requestTrip({ pickup: UNION_SQUARE, dropoff: FERRY_BUILDING });
    await acceptWhenOffered(keen, taken.id);
    await phone.getByLabel("Find a trip by id").fill(taken.id);
    await phone.getByRole("button", { name: "Find", exact: true }).click();
    const card = phone.locator(`[data-testid=stuck-trips] li[data-trip="${taken.id}"]`);
    // No reason, no reassigning: the audit log needs one.
    await card.getByRole("button", { name: "Reassign" }).click();
    await shows(phone, "[aria-label='Trips that need a hand'] [role=status]", /Give a reason of at least 3 characters/);
    expect((await rider.api.trip(taken.id)).status).toBe("accepted");
    await card.getByLabel(`Reason for trip ${taken.id}`).fill("driver reported a flat tyre");
    await card.getByRole("button", { name: "Reassign" }).click();
    await shows(phone, "[aria-label='Trips that need a hand'] [role=status]", `Sent back to matching: ${taken.id}.`);
    await shows(phone, `[data-testid=stuck-trips] li[data-trip="${taken.id}"]`, /now: Finding a driver/);
    const after = await rider.api.trip(taken.id);
    expect(after.status).toBe("matching");
    expect(after.driver ?? null).toBeNull();
    expect(await phone.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    await expectAccessible(phone, "the operations view with a reassigned trip, at phone size");
    await suite.shot(phone, "2-reassigned-phone");
    for (const page of [opsPage, phone]) expect(page.errors).toEqual([]);
  });
});
