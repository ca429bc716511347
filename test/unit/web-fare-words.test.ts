/**
 * The web app's prices in words (web/fare-words.ts): a quote's parts, surge explained with its confirmation
 * threshold, and why a receipt's charge differs from its quote, from the parts and the fare decision.
 */
import { describe, expect, it } from "vitest";
import { chargeExplained, fareParts, needsSurgeConfirm, surgeNotice } from "../../web/fare-words";

const USD = (amount: number) => ({ amount, currency: "USD" });
const quoted = {
  fare: USD(1_500),
  distanceKm: 4,
  durationMin: 10,
  breakdown: { base: 250, distance: 480, time: 300, surge: 470, fee: 0 },
};
const decision = (over: Record<string, unknown>) => ({
  quoted: USD(1_500),
  metered: USD(1_500),
  charged: USD(1_500),
  basis: "quote" as const,
  endedEarly: false,
  trace: { km: 4, refusedFixes: 0 },
  review: null,
  ...over,
});
const receipt = (over: Record<string, unknown>) => ({
  kind: "capture" as const,
  fare: USD(1_500),
  breakdown: quoted.breakdown,
  quoted: USD(1_500),
  review: null,
  tips: USD(0),
  outstanding: USD(0),
  ...over,
});
// The trip as the view has it: only the fields the words read matter here.
const trip = (over: Record<string, unknown>) =>
  ({ quote: quoted, fareDecision: decision(over) }) as unknown as Parameters<typeof chargeExplained>[0];

describe("fare parts and surge", () => {
  it("lists base, distance and time always, and surge, top-up and cap only when they are there", () => {
    expect(fareParts({ base: 250, distance: 100, time: 50, surge: 0, fee: 300 })).toEqual([
      ["Base fare", 250],
      ["Distance", 100],
      ["Time", 50],
      ["Minimum fare top-up", 300],
    ]);
    expect(fareParts(quoted.breakdown).map(([label]) => label)).toContain("Surge");
  });

  it("explains surge above 1.0 and asks for a confirmation from 1.5 on", () => {
    expect(surgeNotice({ surge: 1, fare: USD(900) })).toBeNull();
    expect(surgeNotice({ surge: 1.2, fare: USD(900) })).toBe(
      "Fares are 1.2× higher right now because it is busy near your pickup.",
    );
    expect(surgeNotice({ surge: 2.1, fare: USD(1_500), breakdown: quoted.breakdown })).toBe(
      "Fares are 2.1× higher right now because demand is high near your pickup. Surge adds $4.70 to this ride.",
    );
    expect(needsSurgeConfirm({ surge: 1.4 })).toBe(false);
    expect(needsSurgeConfirm({ surge: 1.5 })).toBe(true);
  });
});

describe("chargeExplained", () => {
  it("says the quote was paid when it was", () => {
    expect(chargeExplained(trip({}), receipt({}))).toEqual(["You paid the $15.00 you were quoted."]);
  });

  it("explains a longer route part by part", () => {
    const charged = { base: 250, distance: 720, time: 390, surge: 680, fee: 0 };
    const lines = chargeExplained(
      trip({ basis: "metered", trace: { km: 6, refusedFixes: 0 }, charged: USD(2_040) }),
      receipt({ fare: USD(2_040), breakdown: charged }),
    );
    expect(lines).toEqual([
      "You paid $20.40, $5.40 more than the $15.00 you were quoted.",
      "The route was longer than estimated (6.0 km driven, 4.0 km quoted), so the ride was priced as driven.",
      "What changed: distance +$2.40, time +$0.90, surge +$2.10.",
    ]);
  });

  it("explains a ride that ended early, a cap, a review, tips and what is still owed", () => {
    const early = chargeExplained(
      trip({ basis: "metered", endedEarly: true, trace: { km: 2, refusedFixes: 0 } }),
      receipt({ fare: USD(900), breakdown: { base: 250, distance: 240, time: 150, surge: 260, fee: 0 } }),
    );
    expect(early[0]).toBe("You paid $9.00, $6.00 less than the $15.00 you were quoted.");
    expect(early[1]).toBe(
      "The ride ended before the dropoff, so it was priced as driven: 2.0 km of the 4.0 km quoted.",
    );

    const capped = chargeExplained(
      trip({ basis: "capped", metered: USD(2_500), trace: { km: 7, refusedFixes: 0 } }),
      receipt({
        fare: USD(1_800),
        breakdown: { base: 250, distance: 840, time: 600, surge: 810, fee: 0, adjustment: -700 },
        review: { reason: "above_cap", uncharged: USD(700) },
        tips: USD(200),
        outstanding: USD(100),
      }),
    );
    expect(capped).toContain("The fare as driven came to $25.00; the charge is capped above the quote.");
    expect(capped).toContain("$7.00 more was not charged and is being reviewed by our team.");
    expect(capped).toContain("Your tips ($2.00) go to the driver on top of the fare.");
    expect(capped).toContain("Your wallet did not cover $1.00; it is still owed.");
  });

  it("says a cancellation fee as one", () => {
    expect(chargeExplained(trip({}), receipt({ kind: "fee", fare: USD(500) }))[0]).toMatch(/cancellation fee/);
  });
});
