// What a scheduled ride's rider reads when the service ends it (README, "Scheduled rides"): the
// push says which ride and why, where a ride for now gets the bare status.
import { describe, expect, it } from "vitest";
import { deliveryPayload, NotificationMessage, tripStatusNotification } from "../../src/notify/message";
import type { Trip } from "../../src/protocol/dispatch";

const pickup = { lat: 1, lng: 1 };
const dropoff = { lat: 1.01, lng: 1 };
const base: Trip = {
  id: "trip_1",
  riderId: "usr_rider",
  driverId: null,
  status: "cancelled",
  pickup,
  dropoff,
  quote: {
    id: "qt",
    pickup,
    dropoff,
    distanceKm: 1.1,
    durationMin: 4,
    fare: { amount: 700, currency: "USD" },
    surge: 1,
    pickupEtaSec: null,
    expiresAt: 0,
  },
  fare: null,
  driverLocation: null,
  etaSec: null,
  createdAt: 1,
  updatedAt: 2,
};

const bodyOf = (trip: Trip) => {
  const message = tripStatusNotification(trip, 2);
  // What the queue carries must read back as it was sent.
  expect(NotificationMessage.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
  return deliveryPayload(message).body;
};

describe("a scheduled ride's status notification", () => {
  it("says why the service cancelled it", () => {
    const scheduled = { ...base, scheduledAt: 1_000, cancelledBy: "system" as const };
    expect(bodyOf({ ...scheduled, cancellation: { reasonCode: "schedule_unfunded", note: "x" } })).toMatch(
      /wallet did not cover/,
    );
    expect(bodyOf({ ...scheduled, cancellation: { reasonCode: "schedule_rider_busy", note: "x" } })).toMatch(
      /on another ride/,
    );
    expect(bodyOf({ ...scheduled, status: "no_driver" })).toBe("No driver was found for your scheduled ride.");
  });

  it("leaves a ride for now, and a rider's own cancel, with the status alone", () => {
    expect(bodyOf({ ...base, cancellation: { reasonCode: "changed_plans", note: null } })).toBe(
      "Your trip was cancelled",
    );
    expect(bodyOf({ ...base, status: "no_driver" })).toBe("No driver was found for your trip");
    expect(
      bodyOf({ ...base, scheduledAt: 1_000, cancelledBy: "rider", cancellation: { reasonCode: null, note: null } }),
    ).toBe("Your trip was cancelled");
  });
});
