// An operator's force-cancel in the trip state machine: from every status that is not over,
// in progress included, never a fee (whatever the time since acceptance), the driver or the
// offered driver released, and the settlement a release of the hold.
import { describe, expect, it } from "vitest";
import { settlementOf } from "../../../src/domain/settlement";
import { apply, type TripState } from "../../../src/domain/trip";
import { newTrip, T0 } from "./fixtures";
import { accepted, arrived, fare, inProgress, must, offered, refused, run } from "./trip-helpers";

const LATE = T0 + 60 * 60_000;
const adminCancel = (state: TripState, now = LATE) =>
  apply(state, { type: "admin_cancel", adminId: "ops-1", now, reason: "rider reported the driver" });

describe("an operator's cancel", () => {
  it("ends the trip from every status that is not over, in progress too, with no fee", () => {
    const cases: [TripState, string | null][] = [
      [newTrip(), null],
      [offered("d1"), "d1"],
      [accepted(), "d1"],
      [arrived(), "d1"],
      [inProgress(), "d1"],
    ];
    for (const [state, released] of cases) {
      const result = must(adminCancel(state));
      expect(result.state).toMatchObject({
        status: "cancelled",
        driverId: null,
        offer: null,
        cancellationFee: null,
        cancelReason: "rider reported the driver",
        cancelledAt: LATE,
      });
      expect(result.events).toEqual([
        {
          type: "cancelled",
          at: LATE,
          by: "admin",
          releasedDriverId: released,
          cancellationFee: null,
          reason: "rider reported the driver",
          reasonCode: "admin",
          userId: "ops-1",
        },
      ]);
      // No fee, so the trip's hold is released whole.
      expect(settlementOf(result.state, result.events)).toMatchObject({ type: "release" });
    }
  });

  it("where a rider cancelling as late would pay the fee", () => {
    // A rider may cancel up to the pickup (in progress they cannot), so the late fee's case is an arrived driver.
    const rider = must(apply(arrived(), { type: "cancel", by: "rider", userId: "rider-1", now: LATE }));
    expect(rider.state.cancellationFee).toEqual({ amount: 500, currency: "USD" });
    expect(must(adminCancel(arrived())).state.cancellationFee).toBeNull();
    expect(must(adminCancel(inProgress())).state.cancellationFee).toBeNull();
  });

  it("is refused once the trip is over", () => {
    const completed = run(inProgress(), { type: "complete", driverId: "d1", now: T0 + 900_000, fare });
    const gaveUp = run(newTrip(), { type: "give_up", now: T0 + 1_000 });
    const cancelled = must(adminCancel(accepted())).state;
    for (const state of [completed, gaveUp, cancelled]) refused(adminCancel(state), "conflict");
  });
});
