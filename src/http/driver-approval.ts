/**
 * @module http/driver-approval
 * The Worker's side of "only an approved driver with an approved vehicle goes online" (README,
 * "Drivers and vehicles"): the check when a driver goes online, and what an operator's review
 * tells the driver's session afterwards. Both read the driver's standing from D1 once
 * (db/vehicles' approvalOf); the session keeps the car for the trips that reserve the driver.
 */
import type { Config } from "../config";
import { approvalOf } from "../db/vehicles";
import { approvalRequiredAt } from "../domain/driver-approval";
import { ApiError, type Result, unwrap } from "../errors";
import type { LatLng } from "../protocol/common";
import type { Driver } from "../protocol/dispatch";
import type { TripVehicle, Vehicle } from "../protocol/vehicles";
import type { DriverProfile } from "../rooms/driver-record";
import { driverSession } from "../rooms/stubs";

/** The part of a vehicle a trip shows its rider. */
function tripVehicleOf(vehicle: Vehicle | null): TripVehicle | null {
  if (!vehicle) return null;
  const { make, model, colour, plate, tier } = vehicle;
  return { make, model, colour, plate, tier };
}

/**
 * The car and photo a driver goes online with at `location` (their newest approved vehicle and
 * photo, or null).
 * Where approval is required (domain/driver-approval), a driver lacking an approved licence or
 * vehicle is refused with 403 `driver_not_approved` and what is missing.
 */
export async function vehicleToGoOnlineWith(
  db: D1Database,
  config: Config,
  driverId: string,
  location: LatLng,
): Promise<DriverProfile> {
  const { missing, vehicle, photoId } = await approvalOf(db, driverId);
  if (missing.length > 0 && approvalRequiredAt(config.SERVICE_AREAS, config.DRIVER_APPROVAL_REQUIRED, location))
    throw new ApiError(
      403,
      "driver_not_approved",
      `an approved ${missing.join(" and an approved ")} are needed to go online here`,
      { missing },
    );
  return { vehicle: tripVehicleOf(vehicle), photoId };
}

/**
 * After an operator's review of one of `driverId`'s papers or vehicles: their session shows the
 * car and photo they now have to the trips it is offered, and a driver who lost their approval is taken
 * offline where it is required (the session decides, from where the driver is). A driver whose
 * session was never made has nothing to update; the next going online reads D1 again.
 */
export async function tellSessionOfReview(env: Env, driverId: string): Promise<void> {
  const { missing, vehicle, photoId } = await approvalOf(env.DB, driverId);
  const session = driverSession(env, driverId);
  unlessNeverOnline(await session.approvalChanged({ vehicle: tripVehicleOf(vehicle), photoId }, missing.length === 0));
}

/** A session's answer, where one that has no record yet (the driver never went online) is fine. */
function unlessNeverOnline(answer: Result<Driver>): void {
  if (answer.ok || answer.error.code === "not_found") return;
  unwrap(answer);
}
