/**
 * @module domain/driver-approval
 * Whether a driver going online at a place needs to be approved (an approved licence and an
 * approved vehicle): the service area there says so, or else the DRIVER_APPROVAL_REQUIRED
 * default. Cities differ in what they ask of drivers, as they do for trip PINs.
 */
import type { LatLng } from "../protocol/common";
import { areaAt, type ServiceArea } from "./service-area";

export function approvalRequiredAt(areas: readonly ServiceArea[], byDefault: boolean, location: LatLng): boolean {
  const area = areaAt(areas, location);
  return area !== null && "driverApproval" in area && area.driverApproval !== undefined
    ? area.driverApproval
    : byDefault;
}
