/**
 * @module web/ops-metrics
 * The operations view's "Service now" card: the live metrics of the last five minutes
 * (GET /v1/ops/metrics): open connections by kind, throughput, error rate and the commonest
 * error codes, and dispatch health per city (requests, offers, accepted, expired, no driver, the
 * request-to-offer time). Compact tables; docs/METRICS.md has the long history.
 */
import type { OpsMetricsResponse } from "@ridewire/client";
import { fill, h, scrollingTable } from "./dom";

/** Milliseconds under a second, seconds above: dispatch takes tens of ms on a quiet city, seconds on a busy one. */
const duration = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const ms = (timing: { avgMs: number; maxMs: number } | null) =>
  timing ? `${duration(timing.avgMs)} (max ${duration(timing.maxMs)})` : "–";

const table = (label: string, head: string[], rows: HTMLElement[], empty: string) =>
  scrollingTable(
    h(
      "table",
      { class: "cells", "aria-label": label },
      h("thead", {}, h("tr", {}, ...head.map((name) => h("th", {}, name)))),
      h("tbody", {}, ...(rows.length ? rows : [h("tr", {}, h("td", { colspan: head.length, class: "hint" }, empty))])),
    ),
  );

export function metricsCard(): { el: HTMLElement; draw: (view: OpsMetricsResponse) => void } {
  const body = h("div", { "data-testid": "ops-metrics", "aria-live": "polite" });
  const el = h("section", { class: "card", "aria-label": "Service now" }, h("h2", {}, "Service now"), body);

  const draw = (view: OpsMetricsResponse) => {
    const minutes = view.windowSeconds / 60;
    const t = view.throughput;
    const topErrors = view.errors.slice(0, 5);
    fill(
      body,
      h("p", { class: "hint" }, `The last ${minutes} minutes, as the service's isolates reported them.`),
      table(
        "Connections",
        ["connections", "open", "opened", "closed"],
        view.connections.map((c) =>
          h(
            "tr",
            { "data-kind": c.kind },
            h("td", {}, c.kind),
            h("td", { "data-metric": "open" }, c.open),
            h("td", {}, c.opened),
            h("td", {}, c.closed),
          ),
        ),
        "No connections yet.",
      ),
      h(
        "dl",
        { class: "totals" },
        h("dt", {}, "HTTP requests"),
        h("dd", { "data-testid": "metric-requests" }, t.httpRequests),
        h("dt", {}, "Frames in / out"),
        h("dd", {}, `${t.framesIn} / ${t.framesOut}`),
        h("dt", {}, "Deliveries / acks"),
        h("dd", {}, `${t.deliveries} / ${t.acks}`),
        h("dt", {}, "Resumes / resets"),
        h("dd", {}, `${t.resumes} / ${t.resets}`),
        h("dt", {}, "Error rate"),
        h("dd", { "data-testid": "metric-error-rate" }, `${(view.errorRate * 100).toFixed(1)} %`),
      ),
      table(
        "Errors by code",
        ["error", "count"],
        topErrors.map((e) =>
          h("tr", { "data-code": e.code }, h("td", {}, h("code", {}, e.code)), h("td", {}, e.count)),
        ),
        "No errors.",
      ),
      table(
        "Dispatch by city",
        ["city", "requests", "offers", "accepted", "expired", "no driver", "to offer"],
        view.dispatch.map((d) =>
          h(
            "tr",
            { "data-city": d.city },
            h("td", {}, d.city || "(no area)"),
            h("td", { "data-metric": "requests" }, d.requests),
            h("td", {}, d.offers),
            h("td", { "data-metric": "accepted" }, d.accepted),
            h("td", {}, d.expired),
            h("td", {}, d.noDriver),
            h("td", {}, ms(d.requestToOffer)),
          ),
        ),
        "No ride requests.",
      ),
    );
  };
  return { el, draw };
}
