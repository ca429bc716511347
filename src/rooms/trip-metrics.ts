/**
 * @module rooms/trip-metrics
 * What a trip's moves count (src/metrics.ts), by the city of its pickup (the service area's name):
 * dispatch requests, offers sent, accepted, declined and expired, rides that found no driver, and
 * the two dispatch timings, request→first offer and request→accepted. Read from the events a
 * committed move made, so a refused or repeated move counts nothing.
 */
import type { Config } from "../config";
import { areaAt } from "../domain/service-area";
import { openOffers, type TripEvent, type TripState } from "../domain/trip";
import { type MetricDataset, metrics } from "../metrics";

/** The service area of a point, by name; "" outside every named one (or with none configured). */
export function cityOf(config: Pick<Config, "SERVICE_AREAS">, point: TripState["pickup"]): string {
  return areaAt(config.SERVICE_AREAS, point)?.name ?? "";
}

/** A trip requested for now starts dispatch as it is made (a scheduled one with `dispatch_started`). */
export function countDispatchRequest(config: Pick<Config, "SERVICE_AREAS">, state: TripState): void {
  metrics.count("dispatch_request", "", cityOf(config, state.pickup));
}

/** Counts a committed move's dispatch events; `dataset` takes the timings as they happen. */
export function countTripEvents(
  dataset: MetricDataset | undefined,
  config: Pick<Config, "SERVICE_AREAS">,
  before: TripState,
  after: TripState,
  events: readonly TripEvent[],
): void {
  let city: string | undefined;
  const where = () => {
    city ??= cityOf(config, after.pickup);
    return city;
  };
  // The trip's first offer: none open before this move, and no driver passed on it yet.
  let firstOffer = openOffers(before).length === 0 && before.excludedDrivers.length === 0;
  for (const event of events) {
    switch (event.type) {
      case "dispatch_started":
        metrics.count("dispatch_request", "", where());
        break;
      case "offered":
        metrics.count("offer_sent", "", where());
        if (firstOffer) metrics.timing(dataset, "dispatch_offer_ms", event.at - after.matchingStartedAt, where());
        firstOffer = false;
        break;
      case "accepted":
        metrics.count("offer_accepted", "", where());
        metrics.timing(dataset, "dispatch_match_ms", event.at - after.matchingStartedAt, where());
        break;
      case "offer_declined":
        metrics.count("offer_declined", "", where());
        break;
      case "offer_expired":
        metrics.count("offer_expired", "", where());
        break;
      case "no_driver":
        metrics.count("no_driver", "", where());
        break;
    }
  }
}
