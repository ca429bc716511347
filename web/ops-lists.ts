/**
 * @module web/ops-lists
 * The operations view's search: drivers or trips found by a word (part of a name or email, or an id; a trip's
 * status too), newest first, a page at a time with "Load more" (`GET /v1/admin/drivers`, `GET /v1/admin/trips`).
 * Trips show where from and to by place name, rider and driver by name, the fare; "Actions" puts a trip on the
 * card of trips that need a hand (web/ops-trips.ts), where it can be reassigned or cancelled.
 */
import type { AdminDriverRow, AdminTripRow, RidewireClient, Trip } from "@ridewire/client";
import { clock, describeError, fill, h, money, statusLine } from "./dom";
import { describePoint, SAN_FRANCISCO } from "./places";
import { STATUS_TEXT } from "./trip-parts";

const PAGE_SIZE = 10;

const when = (at: number | null) =>
  at === null ? "never" : new Date(at).toLocaleString([], { dateStyle: "short", timeStyle: "short" });

export function searchCard(api: RidewireClient, actOn: (tripId: string, why: string) => void): HTMLElement {
  const status = statusLine();
  const words = h("input", {
    type: "search",
    class: "search-box",
    name: "q",
    placeholder: "Name, email or id",
    "aria-label": "Search words",
    maxlength: 100,
    autocomplete: "off",
  });
  const what = h(
    "select",
    { "aria-label": "Search in" },
    h("option", { value: "trips" }, "Trips"),
    h("option", { value: "drivers" }, "Drivers"),
  );
  const state = h(
    "select",
    { "aria-label": "Trip status" },
    h("option", { value: "" }, "Any status"),
    ...Object.entries(STATUS_TEXT).map(([value, text]) => h("option", { value }, text)),
  );
  what.addEventListener("change", () => {
    state.hidden = what.value !== "trips";
  });
  const form = h(
    "form",
    { class: "row", role: "search" },
    what,
    words,
    state,
    h("button", { type: "submit" }, "Search"),
  );
  const results = h("ul", { class: "search-results", "data-testid": "search-results", "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor: string | undefined;
  let asked: { what: string; q?: string; status?: Trip["status"] } = { what: "trips" };

  const driverRow = (d: AdminDriverRow) =>
    h(
      "li",
      { class: "found", "data-driver": d.id },
      h("strong", {}, d.name),
      ` · ${d.email} · last online ${when(d.lastSeenAt)}`,
      d.bannedAt === null ? "" : " · banned",
      h("br", {}),
      h("code", {}, d.id),
    );

  const tripRow = (t: AdminTripRow) => {
    const act = h("button", { type: "button" }, "Actions");
    act.addEventListener("click", () => actOn(t.id, "Picked from the search"));
    const over = t.status === "completed" || t.status === "cancelled" || t.status === "no_driver";
    return h(
      "li",
      { class: "found", "data-trip": t.id },
      h("strong", {}, `${describePoint(SAN_FRANCISCO, t.pickup)} → ${describePoint(SAN_FRANCISCO, t.dropoff)}`),
      ` · ${STATUS_TEXT[t.status]} · ${money(t.fare)} · ${clock(t.createdAt)}`,
      h("br", {}),
      `Rider ${t.rider.name} · ${t.driver ? `driver ${t.driver.name}` : "no driver"} · `,
      h("code", {}, t.id),
      over ? null : act,
    );
  };

  async function page(): Promise<void> {
    more.disabled = true;
    try {
      const base = { limit: PAGE_SIZE, ...(asked.q ? { q: asked.q } : {}), ...(cursor ? { cursor } : {}) };
      const rows =
        asked.what === "drivers"
          ? await api.opsDrivers(base).then((r) => ({ items: r.drivers.map(driverRow), next: r.nextCursor }))
          : await api
              .opsTrips({ ...base, ...(asked.status ? { status: asked.status } : {}) })
              .then((r) => ({ items: r.trips.map(tripRow), next: r.nextCursor }));
      if (!cursor && rows.items.length === 0) fill(results, h("li", { class: "hint" }, "Nothing found."));
      results.append(...rows.items);
      cursor = rows.next ?? undefined;
      more.hidden = rows.next === null;
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      more.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = words.value.trim();
    asked = {
      what: what.value,
      ...(q ? { q } : {}),
      ...(what.value === "trips" && state.value ? { status: state.value as Trip["status"] } : {}),
    };
    cursor = undefined;
    fill(results);
    status.say("");
    void page();
  });
  more.addEventListener("click", () => void page());

  return h(
    "section",
    { class: "card", "aria-label": "Find drivers and trips" },
    h("h2", {}, "Find drivers and trips"),
    form,
    results,
    more,
    status.el,
  );
}
