/**
 * @module web/rider-receipt
 * The rider's receipt after a trip (the fare's parts, the total, what is under review or still
 * owed, and the tips), and after a completed ride the tip form (docs/API.md, tips): a few
 * amounts one tap away or one typed in, all of it the driver's, within the trip's bound. A
 * tip redraws the receipt, which then carries it.
 */
import type { Receipt, RidewireClient, Trip } from "@ridewire/client";
import { describeError, fill, h, money, statusLine } from "./dom";
import { chargeExplained, fareParts } from "./fare-words";

type Money = Receipt["fare"];

/** One tap each, in minor units. */
const QUICK_TIPS = [100, 200, 500];

/** Why the charge is what it is, against the quote (web/fare-words.ts), one sentence a line. */
function explanation(trip: Pick<Trip, "quote" | "fareDecision">, r: Receipt): HTMLElement {
  return h(
    "ul",
    { class: "charge-explained", "data-testid": "charge-explained" },
    ...chargeExplained(trip, r).map((line) => h("li", {}, line)),
  );
}

function receiptList(r: Receipt): HTMLElement {
  const b = r.breakdown;
  const fmt = (amount: number) => money({ amount, currency: r.fare.currency });
  return h(
    "dl",
    {},
    ...(r.kind === "fee"
      ? [h("dt", {}, "Cancellation fee"), h("dd", {}, fmt(b.fee))]
      : fareParts(b).flatMap(([label, amount]) => [h("dt", {}, label), h("dd", {}, fmt(amount))])),
    h("dt", {}, "Total"),
    h("dd", { class: "total" }, money(r.fare)),
    ...(r.quoted ? [h("dt", {}, "Quoted"), h("dd", {}, money(r.quoted))] : []),
    ...(r.review ? [h("dt", {}, "Under review"), h("dd", {}, `${money(r.review.uncharged)} more not charged`)] : []),
    ...(r.outstanding.amount ? [h("dt", {}, "Still owed"), h("dd", {}, money(r.outstanding))] : []),
    ...(r.tips.amount ? [h("dt", {}, "Tips"), h("dd", { "data-testid": "receipt-tips" }, money(r.tips))] : []),
  );
}

/**
 * The receipt of `tripId` (asking for it settles the trip if its room had not yet), with the
 * tip form when `tippable`; `changed` after a tip (the wallet moved). With `trip` (its quote and fare decision), the
 * receipt says why the charge differs from the quote, or that it does not.
 */
export async function receiptPanel(
  api: RidewireClient,
  tripId: string,
  tippable: boolean,
  changed: () => void,
  trip?: Pick<Trip, "quote" | "fareDecision">,
): Promise<HTMLElement> {
  const panel = h("div", { class: "receipt", "data-testid": "receipt" });
  const body = h("div");
  const draw = (r: Receipt) => fill(body, receiptList(r), trip ? explanation(trip, r) : null);
  const receipt = await api.receipt(tripId);
  draw(receipt);
  fill(panel, h("h3", {}, "Receipt"), body);
  if (tippable && receipt.kind === "capture") panel.append(tipForm(api, tripId, receipt.fare.currency, draw, changed));
  return panel;
}

function tipForm(
  api: RidewireClient,
  tripId: string,
  currency: string,
  redraw: (r: Receipt) => void,
  changed: () => void,
): HTMLElement {
  const status = statusLine();
  const custom = h("input", {
    type: "number",
    name: "tip",
    min: 0.01,
    step: 0.01,
    inputmode: "decimal",
    placeholder: "Other amount",
    "aria-label": "Tip amount",
  });
  const buttons: HTMLButtonElement[] = [];
  const send = async (amount: Money) => {
    for (const b of buttons) b.disabled = true;
    try {
      const tip = await api.tip(tripId, amount);
      status.say(`Thank you: your driver gets all of the ${money(tip.amount)} tip.`);
      custom.value = "";
      changed();
      redraw(await api.receipt(tripId));
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  for (const minor of QUICK_TIPS) {
    const amount = { amount: minor, currency };
    buttons.push(h("button", { type: "button", onclick: () => void send(amount) }, `Tip ${money(amount)}`));
  }
  const other = h("button", { type: "submit" }, "Tip");
  buttons.push(other);
  const form = h(
    "form",
    { class: "tip", "aria-label": "Tip your driver", novalidate: true },
    h("h3", {}, "Tip your driver"),
    h("div", { class: "row" }, ...buttons.slice(0, -1)),
    h("div", { class: "row" }, custom, other),
    status.el,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = Number(custom.value);
    const minor = Math.round(value * 100);
    if (!custom.value || !Number.isFinite(value) || minor <= 0) {
      status.say(`Enter a tip of at least ${money({ amount: 1, currency })}.`, "error");
      custom.focus();
      return;
    }
    void send({ amount: minor, currency });
  });
  return form;
}
