/**
 * @module web/shared
 * The page a share link opens (#/shared/<token>), for someone with no account: the trip's
 * status, the driver's first name, where the driver is on the map and the ETA, asked again
 * every `pollAfterMs` until the link stops working (revoked, expired, or the trip is over).
 */
import { isRidewireError, type RidewireClient } from "@ridewire/client";
import { clock, describeError, fill, h, minutes } from "./dom";
import { CityMap } from "./map";
import { SAN_FRANCISCO } from "./places";
import { STATUS_TEXT } from "./trip-parts";

/** Draws the shared trip into `root`; returns the function that stops its polling. */
export function sharedView(root: HTMLElement, api: RidewireClient, token: string): () => void {
  const map = new CityMap(SAN_FRANCISCO, "Map with the driver's position");
  map.drawGrid(7);
  const status = h(
    "p",
    { class: "trip-status", "data-testid": "shared-status", role: "status", "aria-live": "polite" },
    "Loading…",
  );
  const driver = h("p", { "data-testid": "shared-driver" });
  const eta = h("p", { class: "trip-detail", "data-testid": "shared-eta" });
  const updated = h("p", { class: "hint" });
  fill(
    root,
    h(
      "div",
      { class: "layout" },
      h("div", { class: "map-pane" }, map.svg),
      h(
        "section",
        { class: "card trip", "aria-label": "Shared trip" },
        h("h2", {}, "A shared trip"),
        status,
        driver,
        eta,
        updated,
      ),
    ),
  );

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const poll = async () => {
    let waitMs = 5_000;
    try {
      const { trip, pollAfterMs } = await api.sharedTrip(token);
      waitMs = pollAfterMs;
      status.textContent = STATUS_TEXT[trip.status];
      status.dataset.status = trip.status;
      // The car and plate too: what the friend tells whoever waits for the rider to look for, or the police.
      const car = trip.driver?.vehicle;
      driver.textContent = trip.driver
        ? `Driver: ${trip.driver.firstName}${car ? ` · ${car.colour} ${car.make} ${car.model} · ${car.plate}` : ""}`
        : "No driver yet";
      eta.textContent =
        trip.etaSec === null
          ? ""
          : `${trip.status === "in_progress" ? "Arriving" : "Pickup"} in ${minutes(trip.etaSec)}`;
      map.setMarker("driver", trip.position, "driver", trip.driver ? trip.driver.firstName : "Driver");
      updated.textContent = `Updated ${clock(Date.now())} · link valid until ${clock(trip.expiresAt)}`;
    } catch (err) {
      if (isRidewireError(err) && (err.code === "share_ended" || err.code === "not_found" || err.status === 400)) {
        // For good: nothing to ask again.
        status.textContent =
          "This link does not work (any more): the trip is over, or the link was revoked or has expired.";
        status.dataset.status = "ended";
        fill(driver);
        fill(eta);
        // Not "link valid until" under "this link does not work".
        fill(updated);
        map.setMarker("driver", null, "driver", "");
        return;
      }
      updated.textContent = describeError(err);
    }
    if (!stopped) timer = setTimeout(poll, waitMs);
  };
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
