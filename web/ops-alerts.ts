/**
 * @module web/ops-alerts
 * The operations view's SOS card: the open alerts riders and drivers raised, newest first,
 * each with who raised it, where, and an Acknowledge button that takes it off the list. Live:
 * the operations desk's feed brings each alert the moment it is raised or acknowledged; on
 * every `welcome` (each reconnect) the open list is read afresh, as the feed keeps no log.
 */
import type { OpsDeskConnection, RidewireClient, TripAlert } from "@ridewire/client";
import { clock, describeError, fill, h } from "./dom";
import { areaNameAt } from "./ops-areas";
import { SAN_FRANCISCO } from "./places";

export function alertsCard(api: RidewireClient, feed: OpsDeskConnection): HTMLElement {
  const list = h("ul", { class: "alerts", "data-testid": "sos-alerts", "aria-live": "assertive" });
  const note = h("p", { class: "hint" });
  const el = h("section", { class: "card", "aria-label": "SOS alerts" }, h("h2", {}, "SOS alerts"), list, note);
  /** The open alerts by id; rebuilt from the list route on each welcome, then kept by the feed's frames. */
  const open = new Map<string, TripAlert>();

  const row = (alert: TripAlert) => {
    const ack = h("button", { type: "button" }, "Acknowledge");
    ack.addEventListener("click", async () => {
      ack.disabled = true;
      try {
        apply(await api.acknowledgeAlert(alert.id));
      } catch (err) {
        note.textContent = describeError(err);
        ack.disabled = false;
      }
    });
    const where = areaNameAt(SAN_FRANCISCO, alert.location);
    return h(
      "li",
      { class: "alert", "data-alert": alert.id },
      h("strong", {}, `${clock(alert.createdAt)} · SOS from the ${alert.role}`),
      // "near Union Square" reads alone; bare coordinates (nowhere named nearby) take "at".
      h("span", {}, ` · trip ${alert.tripId} · ${where.startsWith("near ") ? where : `at ${where}`}`),
      alert.note ? h("q", {}, alert.note) : "",
      ack,
    );
  };

  const draw = () => {
    const alerts = [...open.values()].sort((a, b) => b.createdAt - a.createdAt);
    fill(list, ...(alerts.length ? alerts.map(row) : [h("li", { class: "hint" }, "No open alerts.")]));
  };

  function apply(alert: TripAlert): void {
    if (alert.acknowledgedAt === null) open.set(alert.id, alert);
    else open.delete(alert.id);
    draw();
  }

  async function reload(): Promise<void> {
    try {
      const alerts = await api.opsAlerts();
      open.clear();
      for (const alert of alerts) open.set(alert.id, alert);
      draw();
      note.textContent = "";
    } catch (err) {
      note.textContent = describeError(err);
    }
  }

  feed.on("welcome", () => void reload());
  feed.on("alert", (frame) => apply(frame.alert));
  return el;
}
