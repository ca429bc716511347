/**
 * @module web/fare-words
 * What a price is made of, in words, with no DOM (so that unit tests can check them): a quote's
 * parts before requesting, what surge means and when it asks for a confirmation, and why a
 * receipt's charge differs from its quote, from the parts and the fare decision the API gives.
 */
import type { Quote, Receipt, Trip } from "@ridewire/client";
import { money } from "./words";

type Breakdown = Receipt["breakdown"];

/** At or above this multiplier the rider confirms the surge before "Request ride" works. */
export const SURGE_CONFIRM_AT = 1.5;

/** "2.1×" */
export const times = (surge: number) => `${surge.toFixed(1)}×`;

/** A quote's or receipt's parts as [label, amount] rows, leaving out the parts that are zero (but base). */
export function fareParts(b: Breakdown): [label: string, amount: number][] {
  const rows: [string, number][] = [
    ["Base fare", b.base],
    ["Distance", b.distance],
    ["Time", b.time],
  ];
  if (b.surge) rows.push(["Surge", b.surge]);
  if (b.fee) rows.push(["Minimum fare top-up", b.fee]);
  if (b.adjustment) rows.push(["Capped above the quote", b.adjustment]);
  return rows;
}

/**
 * What surge means for this fare, or null when there is none: "Fares are 2.1× higher right now because demand is
 * high", with what surge adds when the quote says it.
 */
export function surgeNotice(quote: Pick<Quote, "surge" | "fare" | "breakdown">): string | null {
  if (quote.surge <= 1) return null;
  const adds = quote.breakdown?.surge
    ? ` Surge adds ${money({ amount: quote.breakdown.surge, currency: quote.fare.currency })} to this ride.`
    : "";
  const why = quote.surge >= SURGE_CONFIRM_AT ? "demand is high" : "it is busy";
  return `Fares are ${times(quote.surge)} higher right now because ${why} near your pickup.${adds}`;
}

/** Whether the rider must confirm the surge before requesting. */
export const needsSurgeConfirm = (quote: Pick<Quote, "surge">) => quote.surge >= SURGE_CONFIRM_AT;

const PART_NAMES: [keyof Breakdown, string][] = [
  ["distance", "distance"],
  ["time", "time"],
  ["surge", "surge"],
  ["fee", "minimum-fare top-up"],
];

/**
 * Why the charge of a ride differs from its quote, as sentences; the first says whether it did. `trip` is the trip as
 * its rider reads it (its quote with its parts, and the fare decision), `receipt` its receipt.
 */
export function chargeExplained(
  trip: Pick<Trip, "quote" | "fareDecision">,
  receipt: Pick<Receipt, "kind" | "fare" | "breakdown" | "quoted" | "review" | "tips" | "outstanding">,
): string[] {
  if (receipt.kind === "fee") return ["You cancelled after the free window, so the cancellation fee was charged."];
  const currency = receipt.fare.currency;
  const fmt = (amount: number) => money({ amount, currency });
  const quoted = receipt.quoted ?? trip.quote.fare;
  const decision = trip.fareDecision;
  const lines: string[] = [];
  const delta = receipt.fare.amount - quoted.amount;
  if (delta === 0) lines.push(`You paid the ${fmt(quoted.amount)} you were quoted.`);
  else {
    const more = delta > 0;
    lines.push(
      `You paid ${fmt(receipt.fare.amount)}, ${fmt(Math.abs(delta))} ${more ? "more" : "less"} than the ` +
        `${fmt(quoted.amount)} you were quoted.`,
    );
    if (decision?.endedEarly)
      lines.push(
        `The ride ended before the dropoff, so it was priced as driven: ${decision.trace.km.toFixed(1)} km of the ` +
          `${trip.quote.distanceKm.toFixed(1)} km quoted.`,
      );
    else if (decision && decision.trace.km > trip.quote.distanceKm)
      lines.push(
        `The route was longer than estimated (${decision.trace.km.toFixed(1)} km driven, ` +
          `${trip.quote.distanceKm.toFixed(1)} km quoted), so the ride was priced as driven.`,
      );
    else if (more) lines.push("The ride took longer than estimated, so it was priced as driven.");
    // Part by part, where the quote says its parts: which of them moved, and by how much.
    const before = trip.quote.breakdown;
    if (before) {
      const moved = PART_NAMES.flatMap(([key, name]) => {
        const change = (receipt.breakdown[key] ?? 0) - (before[key] ?? 0);
        return change === 0 ? [] : [`${name} ${change > 0 ? "+" : "−"}${fmt(Math.abs(change))}`];
      });
      if (moved.length) lines.push(`What changed: ${moved.join(", ")}.`);
    }
    if (decision?.basis === "capped" || receipt.breakdown.adjustment)
      lines.push(
        `The fare as driven came to ${fmt(decision?.metered.amount ?? receipt.fare.amount)}; ` +
          "the charge is capped above the quote.",
      );
  }
  if (receipt.review)
    lines.push(`${money(receipt.review.uncharged)} more was not charged and is being reviewed by our team.`);
  if (receipt.tips.amount) lines.push(`Your tips (${money(receipt.tips)}) go to the driver on top of the fare.`);
  if (receipt.outstanding.amount)
    lines.push(`Your wallet did not cover ${money(receipt.outstanding)}; it is still owed.`);
  return lines;
}
