/**
 * @module web/rider-cancel
 * The rider's cancel step: a reason from the rider's list of codes (docs/API.md, "POST
 * /v1/trips/:id/cancel"; a note with "Other"), and whether a late-cancellation fee may be due,
 * said before anything is sent. The server decides the fee; the trip's receipt shows it.
 */
import type { Trip } from "@ridewire/client";
import { describeError, h, money } from "./dom";

const REASONS = [
  ["driver_too_far", "The driver is too far away"],
  ["wait_too_long", "The wait is too long"],
  ["changed_plans", "My plans changed"],
  ["wrong_pickup", "The pickup is wrong"],
  ["other", "Other"],
] as const;
type ReasonCode = (typeof REASONS)[number][0];

/**
 * The service's default late-cancellation fee and its free windows (README "Money rules":
 * CANCELLATION_FEE_MINOR, FREE_CANCEL_WINDOW_MS, FREE_PICKUP_WAIT_MS). The page only warns with
 * them; what is charged is the server's decision.
 */
const FEE_MINOR = 500;

/** What cancelling now may cost, in words, by the trip's state. */
export function feeNotice(trip: Trip): string {
  const fee = money({ amount: FEE_MINOR, currency: trip.quote.fare.currency });
  if (trip.status === "arrived")
    return (
      "Your driver is at the pickup. Once they have waited more than 1 minute, or 2 minutes after they " +
      `accepted, cancelling costs ${fee}.`
    );
  if (trip.status === "accepted") return `Cancelling more than 2 minutes after your driver accepted costs ${fee}.`;
  return "No driver has accepted yet: cancelling is free.";
}

export function cancelConfirm(
  trip: Trip,
  on: {
    confirm: (body: { reasonCode: ReasonCode; note?: string }) => Promise<void>;
    keep: () => void;
    say: (text: string, kind?: "info" | "error") => void;
  },
): HTMLElement {
  const reason = h(
    "select",
    { "aria-label": "Reason for cancelling", name: "reasonCode" },
    h("option", { value: "" }, "Choose a reason…"),
    ...REASONS.map(([code, words]) => h("option", { value: code }, words)),
  );
  const note = h("input", {
    type: "text",
    name: "note",
    maxlength: 500,
    placeholder: "Tell us why",
    "aria-label": "Why you are cancelling",
    hidden: true,
  });
  reason.addEventListener("change", () => {
    note.hidden = reason.value !== "other";
  });
  const confirm = h("button", { type: "submit", class: "danger" }, "Cancel the ride");
  const keep = h("button", { type: "button" }, "Keep my ride");
  keep.addEventListener("click", on.keep);
  const form = h(
    "form",
    { class: "cancel-confirm", "aria-label": "Cancel the ride?" },
    h("h3", {}, "Cancel this ride?"),
    h("p", { class: "fee-notice", "data-testid": "fee-notice" }, feeNotice(trip)),
    h("label", {}, "Reason ", reason),
    note,
    h("div", { class: "row" }, confirm, keep),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = REASONS.find(([c]) => c === reason.value)?.[0];
    if (!code) {
      on.say("Choose a reason first.", "error");
      reason.focus();
      return;
    }
    const text = note.value.trim();
    if (code === "other" && !text) {
      on.say("Say why you are cancelling.", "error");
      note.focus();
      return;
    }
    confirm.disabled = keep.disabled = true;
    try {
      await on.confirm(code === "other" ? { reasonCode: code, note: text } : { reasonCode: code });
    } catch (err) {
      on.say(describeError(err), "error");
      confirm.disabled = keep.disabled = false;
    }
  });
  return form;
}
