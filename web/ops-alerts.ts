/**
 * @module web/ops-alerts
 * The operations view's SOS card: the open alerts riders and drivers raised, newest first,
 * each with who raised it, where, and an Acknowledge button that takes it off the list.
 */
import type { RidewireClient, TripAlert } from "@ridewire/client";
import { clock, describeError, fill, h } from "./dom";

export function alertsCard(api: RidewireClient): { el: HTMLElement; refresh: () => Promise<void> } {
  const list = h("ul", { class: "alerts", "data-testid": "sos-alerts" });
  const note = h("p", { class: "hint" });
  const el = h("section", { class: "card", "aria-label": "SOS alerts" }, h("h2", {}, "SOS alerts"), list, note);

  const row = (alert: TripAlert) => {
    const ack = h("button", { type: "button" }, "Acknowledge");
    ack.addEventListener("click", async () => {
      ack.disabled = true;
      try {
        await api.acknowledgeAlert(alert.id);
        await refresh();
      } catch (err) {
        note.textContent = describeError(err);
        ack.disabled = false;
      }
    });
    const where = `${alert.location.lat.toFixed(5)}, ${alert.location.lng.toFixed(5)}`;
    return h(
      "li",
      { class: "alert", "data-alert": alert.id },
      h("strong", {}, `${clock(alert.createdAt)} · SOS from the ${alert.role}`),
      h("span", {}, ` · trip ${alert.tripId} · at ${where}`),
      alert.note ? h("q", {}, alert.note) : "",
      ack,
    );
  };

  async function refresh(): Promise<void> {
    const alerts = await api.opsAlerts();
    fill(list, ...(alerts.length ? alerts.map(row) : [h("li", { class: "hint" }, "No open alerts.")]));
    note.textContent = "";
  }

  return { el, refresh };
}
