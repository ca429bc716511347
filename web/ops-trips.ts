/**
 * @module web/ops-trips
 * The operations view's card for trips that need a hand: the trips the watchdog moved (a driver gone silent, whose
 * trip went back to matching; a ride never started at the pickup, which the service cancelled), live from the
 * operations desk's `stuck_trip` frames and read afresh on each `welcome` (the desk keeps no log; the record is
 * `GET /v1/ops/cancellations?by=system`), and any trip found by its id; each with the operator's actions (take it
 * from its driver and send it back to matching, or cancel it), which need a reason for the audit log.
 */
import type { OpsDeskConnection, RidewireClient, Trip } from "@ridewire/client";
import { clock, describeError, fill, h, statusLine } from "./dom";
import { STATUS_TEXT } from "./trip-parts";

type Flagged = { tripId: string; why: string; at: number; trip?: Trip };

const WHY: Record<string, string> = {
  driver_silent: "Driver went silent: the trip went back to matching",
  arrived_no_start: "Never started at the pickup: the service cancelled it",
};

export function stuckTripsCard(
  api: RidewireClient,
  feed: OpsDeskConnection,
): {
  el: HTMLElement;
  /** Puts a trip on the card (from the lists), with its actions. */
  take: (tripId: string, why: string) => void;
} {
  const status = statusLine();
  const list = h("ul", { class: "stuck-trips", "data-testid": "stuck-trips", "aria-live": "polite" });
  const flagged = new Map<string, Flagged>();

  const draw = () => {
    const rows = [...flagged.values()].sort((a, b) => b.at - a.at);
    fill(list, ...(rows.length ? rows.map(row) : [h("li", { class: "hint" }, "No trip needs a hand.")]));
  };

  function row(item: Flagged): HTMLElement {
    const reason = h("input", {
      type: "text",
      name: "reason",
      placeholder: "Reason (for the audit log)",
      "aria-label": `Reason for trip ${item.tripId}`,
      minlength: 3,
      maxlength: 500,
    });
    const act = (label: string, run: (reason: string) => Promise<Trip>, done: string) => {
      const button = h("button", { type: "button" }, label);
      button.addEventListener("click", async () => {
        const why = reason.value.trim();
        if (why.length < 3) {
          status.say("Give a reason of at least 3 characters: it goes in the audit log.", "error");
          reason.focus();
          return;
        }
        button.disabled = true;
        try {
          item.trip = await run(why);
          status.say(`${done} ${item.tripId}.`);
          draw();
        } catch (err) {
          status.say(describeError(err), "error");
          button.disabled = false;
        }
      });
      return button;
    };
    const state = item.trip ? STATUS_TEXT[item.trip.status] : null;
    const over = item.trip !== undefined && ["completed", "cancelled", "no_driver"].includes(item.trip.status);
    const assigned = item.trip?.status === "accepted" || item.trip?.status === "arrived";
    return h(
      "li",
      { class: "stuck", "data-trip": item.tripId },
      h("strong", {}, `${clock(item.at)} · ${item.why}`),
      h("span", {}, ` · trip `, h("code", {}, item.tripId), state ? ` · now: ${state}` : ""),
      over
        ? null
        : h(
            "div",
            { class: "row" },
            reason,
            // Reassigning means something only while a driver has the trip (or an unknown state: the API says).
            !item.trip || assigned
              ? act("Reassign", (r) => api.reassignTrip(item.tripId, r), "Sent back to matching:")
              : null,
            act("Cancel trip", (r) => api.cancelTripAsOperator(item.tripId, r), "Cancelled"),
          ),
    );
  }

  async function reload(): Promise<void> {
    try {
      const { cancellations } = await api.opsCancellations({ by: "system", limit: 20 });
      for (const c of cancellations)
        if (c.reasonCode && c.reasonCode in WHY && !flagged.has(c.tripId))
          flagged.set(c.tripId, { tripId: c.tripId, why: WHY[c.reasonCode] ?? c.reasonCode, at: c.at });
      draw();
    } catch (err) {
      status.say(describeError(err), "error");
    }
  }

  const search = h("input", {
    type: "search",
    class: "search-box",
    name: "trip-id",
    placeholder: "Trip id",
    "aria-label": "Find a trip by id",
    maxlength: 64,
    autocomplete: "off",
  });
  const find = h("form", { class: "row", role: "search" }, search, h("button", { type: "submit" }, "Find"));
  find.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = search.value.trim();
    if (!/^[\w-]{3,64}$/.test(id)) {
      status.say("A trip id looks like trip_ followed by letters and digits.", "error");
      return;
    }
    // The actions' answers say whether there is such a trip and what it is now.
    take(id, "Looked up");
    search.value = "";
  });

  function take(tripId: string, why: string): void {
    flagged.set(tripId, { tripId, why, at: Date.now() });
    draw();
    list.querySelector<HTMLInputElement>(`[data-trip="${CSS.escape(tripId)}"] input`)?.focus();
  }

  feed.on("welcome", () => void reload());
  feed.on("stuck_trip", (frame) => {
    flagged.set(frame.trip.tripId, {
      tripId: frame.trip.tripId,
      why: WHY[frame.trip.reasonCode] ?? frame.trip.reasonCode,
      at: frame.trip.at,
    });
    draw();
  });
  draw();
  const el = h(
    "section",
    { class: "card", "aria-label": "Trips that need a hand" },
    h("h2", {}, "Trips that need a hand"),
    find,
    list,
    status.el,
  );
  return { el, take };
}
