/**
 * @module web/driver-photo
 * The assigned driver's photo on the rider's trip card, from acceptance on, where the trip says
 * there is one (`driver.photo`; README, "Drivers and vehicles"). The picture is read with the
 * rider's token (GET /v1/trips/:id/driver-photo answers the trip's parties alone), once per trip
 * and driver, and shown from an object URL, released when the driver or the trip changes.
 */
import type { RidewireClient, Trip } from "@ridewire/client";
import { h } from "./dom";

export function driverPhoto(api: RidewireClient): { el: HTMLImageElement; show: (trip: Trip | null) => void } {
  const el = h("img", { class: "driver-photo", "data-testid": "driver-photo", hidden: true, alt: "" });
  /** Whose photo is shown (or being read): the trip and driver it belongs to. */
  let shownFor: string | null = null;
  let url: string | null = null;

  const clear = () => {
    el.hidden = true;
    el.removeAttribute("src");
    if (url) URL.revokeObjectURL(url);
    url = null;
  };

  function show(trip: Trip | null): void {
    const key = trip?.driver?.photo && trip.driverId ? `${trip.id}:${trip.driverId}` : null;
    if (key === shownFor) return;
    shownFor = key;
    clear();
    if (!trip || key === null) return;
    const name = trip.driver?.firstName ?? "your driver";
    api.driverPhoto(trip.id).then(
      (blob) => {
        // The trip moved on (another driver, another trip) while the picture was on its way.
        if (shownFor !== key) return;
        url = URL.createObjectURL(blob);
        el.src = url;
        el.alt = `Photo of ${name}`;
        el.hidden = false;
      },
      // No picture (rejected since, or the trip handed back): the card shows the name and car alone.
      () => undefined,
    );
  }

  return { el, show };
}
