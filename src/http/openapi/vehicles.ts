/**
 * @module http/openapi/vehicles
 * Drivers' vehicles and documents (routes/vehicles.ts) and operators' review of them
 * (routes/admin-vehicles.ts). A document's bytes go to `PUT /v1/uploads/{token}`, listed with
 * the attachments' operations.
 */
import { z } from "zod";
import {
  DocumentContentType,
  DocumentGrant,
  DocumentRequestBody,
  DriverApproval,
  DriverDocument,
  DriverFile,
  ReviewBody,
  Vehicle,
  VehicleBody,
} from "../../protocol/vehicles";
import type { Operation } from "./operation";

const VehicleResponse = z.object({ vehicle: Vehicle });
const DocumentResponse = z.object({ document: DriverDocument });
const DOCUMENT_TYPES = DocumentContentType.options;

export const vehicleOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/drivers/me/vehicles",
    summary:
      "Register a vehicle, pending review (drivers; tier from VEHICLE_TIERS, seats 1-8); 409 plate_taken, " +
      "409 too_many_vehicles past VEHICLES_PER_DRIVER",
    auth: true,
    body: VehicleBody,
    status: 201,
    response: VehicleResponse,
  },
  {
    method: "get",
    path: "/v1/drivers/me/vehicles",
    summary: "The calling driver's vehicles with their review status, newest first",
    auth: true,
    status: 200,
    response: z.object({ vehicles: z.array(Vehicle) }),
  },
  {
    method: "post",
    path: "/v1/drivers/me/documents",
    summary:
      "An upload URL for a licence, or a vehicle's registration or insurance (PDF, JPEG or PNG, up to " +
      "DRIVER_DOCUMENT_MAX_BYTES): signed, valid UPLOAD_GRANT_TTL_SECONDS, used once; 404 for a vehicle not yours",
    auth: true,
    body: DocumentRequestBody,
    status: 201,
    response: DocumentGrant,
  },
  {
    method: "get",
    path: "/v1/drivers/me/documents",
    summary: "The calling driver's documents with their upload and review status (and a rejection's reason)",
    auth: true,
    status: 200,
    response: z.object({ documents: z.array(DriverDocument) }),
  },
  {
    method: "get",
    path: "/v1/drivers/me/documents/{id}/file",
    summary: "Download one of your own documents (404 for anyone else's)",
    auth: true,
    status: 200,
    fileResponse: DOCUMENT_TYPES,
  },
  {
    method: "get",
    path: "/v1/drivers/me/approval",
    summary: "Whether you may go online where approval is required, what is missing, and the vehicle you would use",
    auth: true,
    status: 200,
    response: DriverApproval,
  },
];

/** The driver's photo, where the trips' operations are (openapi/index.ts puts it after them). */
export const driverPhotoOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/trips/{id}/driver-photo",
    summary:
      "The assigned driver's approved photo (the trip's rider and driver, from acceptance on; 404 when there is none)",
    auth: true,
    status: 200,
    fileResponse: ["image/jpeg", "image/png"],
  },
];

export const adminVehicleOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/admin/drivers/{id}/vehicles",
    summary: "A driver's vehicles and documents, for review (operators)",
    auth: true,
    status: 200,
    response: DriverFile,
  },
  {
    method: "post",
    path: "/v1/admin/vehicles/{id}/review",
    summary:
      "Approve or reject a vehicle (operators; a rejection needs a reason; audited); 409 documents_not_approved " +
      "until its registration and insurance are approved",
    auth: true,
    body: ReviewBody,
    status: 200,
    response: VehicleResponse,
  },
  {
    method: "post",
    path: "/v1/admin/documents/{id}/review",
    summary: "Approve or reject an uploaded document (operators; a rejection needs a reason; audited)",
    auth: true,
    body: ReviewBody,
    status: 200,
    response: DocumentResponse,
  },
  {
    method: "get",
    path: "/v1/admin/documents/{id}/file",
    summary: "Download a driver's document (operators)",
    auth: true,
    status: 200,
    fileResponse: DOCUMENT_TYPES,
  },
];
