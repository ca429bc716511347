// When a request may take a rider's active-trip slot from the trip holding it (domain/rider-slot.ts).
import { describe, expect, it } from "vitest";
import { SLOT_CREATE_GRACE_MS, slotHolderState } from "../../../src/domain/rider-slot";
import { ApiError, fail, ok } from "../../../src/errors";

const now = 1_000_000_000;

describe("slotHolderState", () => {
  it("keeps the slot for a trip that is not over and gives up the slot of one that is", () => {
    for (const status of ["matching", "accepted", "arrived", "in_progress", "scheduled"] as const)
      expect(slotHolderState(ok({ status }), now - 60 * 60_000, now)).toBe("active");
    for (const status of ["completed", "cancelled", "no_driver"] as const)
      expect(slotHolderState(ok({ status }), now, now)).toBe("over");
  });

  it("waits for a trip not created yet, until SLOT_CREATE_GRACE_MS after its claim", () => {
    const missing = fail(new ApiError(404, "not_found", "trip not found"));
    expect(slotHolderState(missing, now, now)).toBe("being_created");
    expect(slotHolderState(missing, now - SLOT_CREATE_GRACE_MS + 1, now)).toBe("being_created");
    expect(slotHolderState(missing, now - SLOT_CREATE_GRACE_MS, now)).toBe("over");
  });

  it("keeps the slot when the holder cannot say (any other error)", () => {
    const broken = fail(new ApiError(500, "internal", "storage failed"));
    expect(slotHolderState(broken, now - 24 * 60 * 60_000, now)).toBe("active");
  });
});
