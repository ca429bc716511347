/**
 * @module web/ops
 * Operations: the city's H3 cells shaded by available drivers, labelled with drivers, active
 * trips and surge, with the totals, and the service's live metrics (web/ops-metrics): pushed by
 * the operations desk every 2 s (read from GET /v1/ops/cells and /v1/ops/metrics only when the
 * pushes stop); and the open SOS alerts and stuck trips, live (web/ops-alerts, web/ops-trips).
 * Operators only: other accounts see a card that says so, rather than an error every 3 s.
 */
import { isRidewireError, type OpsCellsResponse } from "@ridewire/client";
import { clock, describeError, fill, h, scrollingTable, statusLine } from "./dom";
import type { View } from "./types";
import { CityMap } from "./map";
import { SAN_FRANCISCO } from "./places";
import { alertsCard } from "./ops-alerts";
import { metricsCard } from "./ops-metrics";
import { cellName } from "./ops-areas";
import { searchCard } from "./ops-lists";
import { stuckTripsCard } from "./ops-trips";

/** How often the page checks that the desk's pushes come, and reads the city itself when they do not. */
const REFRESH_MS = 3_000;
/** No push for this long (the desk pushes every 2 s): the page reads the city itself. */
const STALE_AFTER_MS = 5_000;
/** Rings around the centre: 5 at resolution 7 covers the whole of San Francisco. */
const RINGS = 5;

/** What a rider or driver sees on the Operations tab (or an operator whose role was taken back). */
function operatorsOnly(root: HTMLElement): void {
  fill(
    root,
    h(
      "section",
      { class: "card", "data-testid": "operators-only", "aria-label": "Operators only" },
      h("h2", {}, "Operators only"),
      h(
        "p",
        {},
        "The operations view shows where the city's drivers, requests and trips are. " +
          "It is for operator accounts; riders and drivers do not see it.",
      ),
      h(
        "p",
        { class: "hint" },
        "An operator account is made with `npm run admin -- create EMAIL`; sign in again afterwards.",
      ),
    ),
  );
}

export const opsView: View = (root, api, session) => {
  if (session.user.role !== "admin") {
    operatorsOnly(root);
    return () => undefined;
  }
  const city = SAN_FRANCISCO;
  const map = new CityMap(city, "Map of San Francisco with drivers and trips per H3 cell");
  const status = statusLine();
  const totals = h("dl", { class: "totals", "aria-live": "polite" });
  const table = h("tbody");
  // One socket to the operations desk for the whole page: SOS alerts, stuck trips, and the city and metrics it pushes.
  const feed = api.opsAlertFeed();
  const alerts = alertsCard(api, feed);
  const service = metricsCard();
  const stuck = stuckTripsCard(api, feed);

  const draw = (ops: OpsCellsResponse) => {
    const busiest = Math.max(1, ...ops.cells.map((c) => c.availableDrivers));
    const rows: HTMLElement[] = [];
    for (const c of ops.cells) {
      const trips = Object.values(c.activeTrips).reduce((a, b) => a + b, 0);
      // Plain text: headless and minimal systems may have no emoji font.
      const label =
        c.availableDrivers || trips
          ? `${c.availableDrivers} drv` +
            (trips ? ` · ${trips} trip${trips > 1 ? "s" : ""}` : "") +
            (c.surge > 1 ? ` · ×${c.surge.toFixed(1)}` : "")
          : "";
      map.shadeCell(
        c.cell,
        c.availableDrivers / busiest,
        label,
        `${c.availableDrivers} available drivers, ${trips} active trips, ` +
          `${c.recentRequests} recent requests, surge ${c.surge}`,
        // Where the whole label has no room (a phone): the drivers alone; the table below has the rest.
        c.availableDrivers || trips ? `${c.availableDrivers}` : "",
      );
      if (c.availableDrivers || trips || c.recentRequests) {
        const byStatus = Object.entries(c.activeTrips)
          .map(([s, n]) => `${n} ${s.replace("_", " ")}`)
          .join(", ");
        rows.push(
          h(
            "tr",
            { "data-cell": c.cell },
            h("td", { title: c.cell }, cellName(city, c.cell, ops.resolution)),
            h("td", {}, c.availableDrivers),
            h("td", {}, byStatus || "0"),
            h("td", {}, c.recentRequests),
            h("td", {}, `${c.surge.toFixed(1)}×`),
          ),
        );
      }
    }
    fill(
      totals,
      h("dt", {}, "Available drivers"),
      h("dd", { "data-testid": "total-drivers" }, ops.totals.availableDrivers),
      h("dt", {}, "Active trips"),
      h("dd", { "data-testid": "total-trips" }, ops.totals.activeTrips),
      h("dt", {}, "Requests (surge window)"),
      h("dd", {}, ops.totals.recentRequests),
      h("dt", {}, "Updated"),
      h("dd", {}, clock(ops.at)),
    );
    fill(
      table,
      ...(rows.length
        ? rows
        : [h("tr", {}, h("td", { colspan: 5, class: "hint" }, "No drivers or trips in the city right now."))]),
    );
  };

  const area = { lat: city.center.lat, lng: city.center.lng, rings: RINGS };
  /** When the desk last pushed the city: the page reads it itself only when the pushes stop. */
  let pushedAt = 0;
  const stop = () => {
    clearInterval(timer);
    feed.close();
  };
  const load = async () => {
    try {
      const [cells, metrics] = await Promise.all([api.opsCells(area), api.opsMetrics()]);
      draw(cells);
      service.draw(metrics);
      status.say("");
    } catch (err) {
      if (isRidewireError(err) && err.status === 403) {
        // The account is not (or no longer) an operator: stop asking, and say so.
        stop();
        operatorsOnly(root);
        return;
      }
      status.say(describeError(err), "error");
    }
  };
  // Live: the desk pushes the area and the metrics every 2 s once asked, after each (re)connect. The page reads them
  // itself only while no push comes (the feed on its SSE fallback, or between a drop and the next welcome).
  feed.on("welcome", () => void feed.send({ type: "city.watch", ...area }).catch(() => undefined));
  feed.on("city", (frame) => {
    pushedAt = Date.now();
    draw(frame.city);
    status.say("");
  });
  feed.on("metrics", (frame) => service.draw(frame.metrics));
  const timer = setInterval(() => {
    if (Date.now() - pushedAt > STALE_AFTER_MS) void load();
  }, REFRESH_MS);

  fill(
    root,
    h(
      "div",
      { class: "layout" },
      h("div", { class: "map-pane" }, map.svg),
      h(
        "div",
        { class: "side" },
        alerts,
        stuck.el,
        searchCard(api, stuck.take),
        h("section", { class: "card", "aria-label": "Totals" }, h("h2", {}, "City now"), totals),
        service.el,
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Busy cells"),
          scrollingTable(
            h(
              "table",
              { class: "cells", "aria-label": "Busy cells" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  h("th", {}, "area"),
                  h("th", {}, "drivers"),
                  h("th", {}, "trips"),
                  h("th", {}, "requests"),
                  h("th", {}, "surge"),
                ),
              ),
              table,
            ),
          ),
        ),
        status.el,
      ),
    ),
  );
  void load();
  return stop;
};
