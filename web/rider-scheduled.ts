/**
 * @module web/rider-scheduled
 * Scheduled rides on the rider's view (docs/API.md, "Scheduled rides"): a pickup time picked
 * beside the quote, checked here against the service's window (15 min to 30 days ahead) so a
 * mistake is explained before anything is sent, then requested with `scheduledAt`; and the
 * list of upcoming rides, each with its Cancel button.
 */
import type { RidewireClient, Trip } from "@ridewire/client";
import { describeError, fill, h, money } from "./dom";
import type { City } from "./places";
import { describePoint } from "./places";

/** The service's window (wrangler.toml SCHEDULE_MIN_LEAD_MS, SCHEDULE_MAX_AHEAD_MS): the server checks it again. */
const MIN_LEAD_MS = 15 * 60_000;
const MAX_AHEAD_MS = 30 * 24 * 60 * 60_000;

/** `datetime-local` wants local time as YYYY-MM-DDTHH:MM. */
function localInputValue(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function when(at: number): string {
  return new Date(at).toLocaleString([], {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/**
 * The pickup time as epoch ms, or why it cannot be: empty, unreadable, too soon or too far
 * (`now` is a parameter so the rule reads the same as the server's).
 */
export function checkPickupTime(value: string, now: number): { at: number } | { error: string } {
  if (!value) return { error: "Choose a pickup date and time first." };
  const at = new Date(value).getTime();
  if (Number.isNaN(at)) return { error: "That pickup time could not be read: pick a date and a time." };
  if (at < now + MIN_LEAD_MS)
    return { error: `A scheduled pickup must be at least 15 minutes from now (${when(now + MIN_LEAD_MS)} or later).` };
  if (at > now + MAX_AHEAD_MS)
    return { error: `A scheduled pickup can be at most 30 days ahead (by ${when(now + MAX_AHEAD_MS)}).` };
  return { at };
}

export type Scheduling = {
  /** The picker and its button, for the request form (shown with a quote). */
  form: HTMLElement;
  /** The card of upcoming rides. */
  upcoming: HTMLElement;
  refresh(): Promise<void>;
};

export function scheduling(
  api: RidewireClient,
  city: City,
  quoteId: () => string | null,
  say: (text: string, kind?: "info" | "error") => void,
  scheduled: () => void,
): Scheduling {
  const picker = h("input", {
    type: "datetime-local",
    name: "scheduledAt",
    "aria-label": "Pickup time",
    "aria-describedby": "schedule-error",
  });
  const error = h("p", { class: "field-error", id: "schedule-error", role: "alert" });
  const button = h("button", { type: "button" }, "Schedule ride");
  const setLimits = () => {
    const now = Date.now();
    picker.min = localInputValue(now + MIN_LEAD_MS);
    picker.max = localInputValue(now + MAX_AHEAD_MS);
  };
  picker.addEventListener("focus", setLimits);
  picker.addEventListener("input", () => {
    error.textContent = "";
    picker.removeAttribute("aria-invalid");
  });
  button.addEventListener("click", async () => {
    const id = quoteId();
    if (!id) return;
    const checked = checkPickupTime(picker.value, Date.now());
    if ("error" in checked) {
      error.textContent = checked.error;
      picker.setAttribute("aria-invalid", "true");
      picker.focus();
      return;
    }
    button.disabled = true;
    try {
      const trip = await api.requestTrip({ quoteId: id, scheduledAt: checked.at });
      picker.value = "";
      say(`Ride scheduled for ${when(trip.scheduledAt ?? checked.at)}.`);
      scheduled();
      await refresh();
    } catch (err) {
      error.textContent = describeError(err);
      picker.setAttribute("aria-invalid", "true");
    } finally {
      button.disabled = false;
    }
  });
  setLimits();
  const form = h("div", { class: "schedule" }, h("label", {}, "Or schedule for later ", picker), button, error);

  const list = h("ul", { class: "upcoming-list", "aria-label": "Upcoming rides" });
  const upcoming = h(
    "section",
    { class: "card upcoming", "aria-label": "Upcoming rides", hidden: true },
    h("h2", {}, "Upcoming rides"),
    list,
  );
  const item = (trip: Trip) => {
    // The locked quote's fare until the ride is charged.
    const fare = trip.fare ?? trip.quote.fare;
    const cancel = h(
      "button",
      { type: "button", "aria-label": `Cancel the ride at ${when(trip.scheduledAt ?? 0)}` },
      "Cancel",
    );
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        await api.cancelTrip(trip.id, { reasonCode: "changed_plans" });
        say(`The ride at ${when(trip.scheduledAt ?? 0)} is cancelled.`);
        await refresh();
      } catch (err) {
        say(describeError(err), "error");
        cancel.disabled = false;
      }
    });
    return h(
      "li",
      { "data-trip": trip.id },
      h("strong", { class: "upcoming-when" }, when(trip.scheduledAt ?? 0)),
      h(
        "span",
        { class: "upcoming-route" },
        `${describePoint(city, trip.pickup)} → ${describePoint(city, trip.dropoff)} · ${money(fare)}`,
      ),
      cancel,
    );
  };
  // Answers can cross (a refresh after a cancel, another after a new ride): the newest one counts.
  let reads = 0;
  async function refresh(): Promise<void> {
    const read = ++reads;
    try {
      const trips = await api.scheduledTrips();
      if (read !== reads) return;
      fill(list, ...trips.map(item));
      upcoming.hidden = trips.length === 0;
    } catch (err) {
      if (read === reads) say(describeError(err), "error");
    }
  }
  return { form, upcoming, refresh };
}
