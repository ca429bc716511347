/**
 * @module web/history
 * The trips view (#/trips): the user's trip history, newest first, a page at a time from `GET /v1/trips` and its
 * cursor ("Load more"); a rider's rides and a driver's drives alike. Each trip says when, where from and to (place
 * names where the city knows them), how far and how long, who drove, what it cost and how it was paid; a trip that
 * charged something opens its receipt, with why the charge differs from the quote.
 */
import type { TripHistoryEntry } from "@ridewire/client";
import { describeError, fill, h, money, statusLine } from "./dom";
import { describePoint, SAN_FRANCISCO } from "./places";
import { receiptPanel } from "./rider-receipt";
import { STATUS_TEXT } from "./trip-parts";
import type { View } from "./types";

const PAGE_SIZE = 5;

const dateText = (at: number) =>
  new Date(at).toLocaleString([], {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });

export const historyView: View = (root, api, session) => {
  const role = session.user.role;
  const as = role === "driver" ? "driver" : role === "rider" ? "rider" : undefined;
  const status = statusLine();
  const list = h("ol", { class: "history", "aria-label": "Your trips" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor: string | undefined;
  let stopped = false;

  function entry(trip: TripHistoryEntry): HTMLElement {
    const from = describePoint(SAN_FRANCISCO, trip.route.pickup);
    const to = describePoint(SAN_FRANCISCO, trip.route.dropoff);
    // The km the ride's trace measured, where it measured any; else the quote's estimate.
    const driven = trip.route.drivenKm !== null && trip.route.drivenKm > 0 ? trip.route.drivenKm : null;
    const charged = trip.fare ?? trip.cancellationFee ?? null;
    const facts: [string, string][] =
      trip.status === "completed"
        ? [
            ["Distance", driven === null ? `about ${trip.route.distanceKm.toFixed(1)} km` : `${driven.toFixed(1)} km`],
            ["Duration", `about ${Math.max(1, Math.round(trip.route.durationMin))} min`],
          ]
        : [["Planned", `${trip.route.distanceKm.toFixed(1)} km · about ${Math.round(trip.route.durationMin)} min`]];
    if (as !== "driver" && (trip.driver || trip.status === "completed"))
      facts.push(["Driver", trip.driver ? trip.driver.firstName : "–"]);
    if (trip.driver?.vehicle)
      facts.push(["Car", `${trip.driver.vehicle.colour} ${trip.driver.vehicle.make} · ${trip.driver.vehicle.plate}`]);
    facts.push([
      as === "driver" ? "Fare" : "Paid",
      charged ? `${money(charged)}${as === "driver" ? "" : " from your wallet"}` : "nothing",
    ]);
    if (trip.ratings.given) facts.push(["You rated", `${"★".repeat(trip.ratings.given.stars)}`]);
    const receiptSlot = h("div");
    const receiptButton = h("button", { type: "button", class: "link" }, "Show receipt");
    receiptButton.addEventListener("click", async () => {
      if (receiptSlot.childElementCount) {
        fill(receiptSlot);
        receiptButton.textContent = "Show receipt";
        return;
      }
      receiptButton.disabled = true;
      try {
        fill(receiptSlot, await receiptPanel(api, trip.id, false, () => undefined, trip));
        receiptButton.textContent = "Hide receipt";
      } catch (err) {
        status.say(describeError(err), "error");
      } finally {
        receiptButton.disabled = false;
      }
    });
    return h(
      "li",
      { class: "card history-trip", "data-trip": trip.id },
      h(
        "h3",
        {},
        h("span", { class: "route" }, `${from} → ${to}`),
        " ",
        h("time", { datetime: new Date(trip.createdAt).toISOString() }, dateText(trip.createdAt)),
      ),
      h("p", { class: "trip-state", "data-status": trip.status }, STATUS_TEXT[trip.status]),
      h("dl", {}, ...facts.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)])),
      trip.receiptUrl ? receiptButton : null,
      receiptSlot,
    );
  }

  async function loadPage(): Promise<void> {
    more.disabled = true;
    try {
      const page = await api.tripHistory({ limit: PAGE_SIZE, ...(as ? { as } : {}), ...(cursor ? { cursor } : {}) });
      if (stopped) return;
      if (!cursor && page.trips.length === 0)
        fill(list, h("li", { class: "hint" }, as === "driver" ? "No drives yet." : "No trips yet."));
      list.append(...page.trips.map(entry));
      cursor = page.nextCursor ?? undefined;
      more.hidden = page.nextCursor === null;
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => void loadPage());

  fill(
    root,
    h(
      "section",
      { class: "trips-page", "aria-label": "Trip history" },
      h("h2", {}, as === "driver" ? "Your drives" : "Your trips"),
      h(
        "p",
        { class: "hint" },
        "Trips reach this list a few seconds after they end; the one going on is on the ride page.",
      ),
      list,
      more,
      status.el,
    ),
  );
  void loadPage();
  return () => {
    stopped = true;
  };
};
