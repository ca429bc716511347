/**
 * @module protocol/vehicles
 * Drivers' vehicles and documents on the wire (docs/API.md, "Drivers and vehicles"): what a
 * driver registers, the documents they upload for review (their licence; a vehicle's
 * registration and insurance), an operator's review, what a driver lacks before going online,
 * and the driver and car a rider sees once a driver accepted. Shared by the Worker, the room
 * objects, the client SDK and the tests.
 */
import { z } from "zod";
import { AttachmentFilename } from "./attachments";

/** A short free-text field (make, model, colour): trimmed, 1 to `max` characters, no control characters. */
const Label = (max: number) =>
  z
    .string()
    .max(200)
    .transform((s) => s.trim().replace(/\s+/g, " "))
    .pipe(
      z
        .string()
        .min(1)
        .max(max)
        .regex(/^[^\p{Cc}\p{Cf}<>]+$/u, "letters, digits and punctuation only"),
    );

/**
 * A number plate as shown: upper case, single spaces, 2 to 12 letters, digits, spaces and
 * hyphens, starting and ending with a letter or digit. Two plates are the same plate when they
 * differ only in spaces and hyphens (`plateKey`).
 */
export const Plate = z
  .string()
  .max(64)
  .transform((s) => s.trim().toUpperCase().replace(/\s+/g, " "))
  .pipe(
    z.string().regex(/^[A-Z0-9][A-Z0-9 -]{0,10}[A-Z0-9]$/, "a plate is 2 to 12 letters, digits, spaces or hyphens"),
  );

/** The plate's identity: its letters and digits alone. */
export const plateKey = (plate: string): string => plate.replace(/[^A-Z0-9]/g, "");

/** A tier's name as configured (VEHICLE_TIERS); which names exist is the Worker's config's to say. */
export const VehicleTier = z.string().regex(/^[a-z][a-z0-9_-]{0,19}$/, "a tier is a lower-case name");

/** `POST /v1/drivers/me/vehicles`. Seats are the passengers the car takes, the driver not counted. */
export const VehicleBody = z.object({
  make: Label(40),
  model: Label(40),
  colour: Label(30),
  plate: Plate,
  seats: z.number().int().min(1).max(8),
  tier: VehicleTier,
});
export type VehicleBody = z.infer<typeof VehicleBody>;

export const ReviewStatus = z.enum(["pending", "approved", "rejected"]);
export type ReviewStatus = z.infer<typeof ReviewStatus>;

export const Vehicle = z.object({
  id: z.string(),
  driverId: z.string(),
  make: z.string(),
  model: z.string(),
  colour: z.string(),
  plate: z.string(),
  seats: z.number().int(),
  tier: z.string(),
  status: ReviewStatus,
  /** The operator's reason for the last decision; null before any. */
  reviewReason: z.string().nullable(),
  reviewedAt: z.number().int().nullable(),
  createdAt: z.number().int(),
});
export type Vehicle = z.infer<typeof Vehicle>;

/**
 * The documents a driver uploads: their licence, each vehicle's registration and insurance, and
 * a photo of themselves (optional; once approved, their riders see it).
 */
export const DocumentKind = z.enum(["licence", "registration", "insurance", "photo"]);
export type DocumentKind = z.infer<typeof DocumentKind>;

/** Kinds that belong to a vehicle (the rest belong to the driver). */
export const VEHICLE_DOCUMENT_KINDS: readonly DocumentKind[] = ["registration", "insurance"];

/** A scan or a photo of a paper: PDF, JPEG or PNG, checked against the file's bytes (files/file-types.ts). */
export const DocumentContentType = z.enum(["application/pdf", "image/jpeg", "image/png"]);
export type DocumentContentType = z.infer<typeof DocumentContentType>;

/** The object key of a document: `drivers/<driverId>/<random id>`, as its grant names it. */
export const DocumentKey = z
  .string()
  .max(256)
  .regex(/^drivers\/[A-Za-z0-9_-]{1,128}\/[A-Za-z0-9_-]{16,64}$/, "not a document key");

/**
 * Where a document is: `awaiting_upload` until its upload starts (`uploading`) and passes its checks, then
 * `pending` review, `approved` or `rejected`; `upload_failed` when the bytes were refused.
 */
export const DocumentStatus = z.enum([
  "awaiting_upload",
  "uploading",
  "pending",
  "approved",
  "rejected",
  "upload_failed",
]);
export type DocumentStatus = z.infer<typeof DocumentStatus>;

export const DriverDocument = z.object({
  id: z.string(),
  driverId: z.string(),
  kind: DocumentKind,
  /** The vehicle a registration or insurance is for; null for a licence. */
  vehicleId: z.string().nullable(),
  filename: z.string(),
  contentType: DocumentContentType,
  /** The stored size in bytes; null until uploaded. */
  size: z.number().int().nullable(),
  status: DocumentStatus,
  reviewReason: z.string().nullable(),
  reviewedAt: z.number().int().nullable(),
  createdAt: z.number().int(),
});
export type DriverDocument = z.infer<typeof DriverDocument>;

/** `POST /v1/drivers/me/documents`: the file to upload, and for a vehicle's papers, which vehicle. */
export const DocumentRequestBody = z
  .object({
    kind: DocumentKind,
    vehicleId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an id")
      .optional(),
    /** Cleaned as an attachment's name is. */
    filename: AttachmentFilename,
    contentType: DocumentContentType,
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  })
  .refine((b) => VEHICLE_DOCUMENT_KINDS.includes(b.kind) === (b.vehicleId !== undefined), {
    message: "a registration or insurance names its vehicleId; a licence or photo names none",
    path: ["vehicleId"],
  })
  .refine((b) => b.kind !== "photo" || b.contentType !== "application/pdf", {
    message: "a photo is a JPEG or PNG image",
    path: ["contentType"],
  });
export type DocumentRequestBody = z.infer<typeof DocumentRequestBody>;

/** The grant: PUT the file's bytes to `uploadUrl` (with `method` and `headers`) before `expiresAt`. */
export const DocumentGrant = z.object({
  document: DriverDocument,
  uploadUrl: z.string(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.number().int(),
  maxSize: z.number().int(),
});
export type DocumentGrant = z.infer<typeof DocumentGrant>;

/** `PUT /v1/uploads/:token` of a document's grant answers the document, now `pending` review. */
export const DocumentUploadResponse = z.object({ document: DriverDocument });
export type DocumentUploadResponse = z.infer<typeof DocumentUploadResponse>;

/** An operator's decision on a vehicle or a document; a rejection says why (the driver reads it). */
export const ReviewBody = z
  .object({
    decision: z.enum(["approve", "reject"]),
    reason: z
      .string()
      .max(500)
      .optional()
      .transform((r) => r?.trim() || undefined),
  })
  .refine((b) => b.decision === "approve" || b.reason !== undefined, {
    message: "a rejection needs a reason",
    path: ["reason"],
  });
export type ReviewBody = z.infer<typeof ReviewBody>;

/** What a driver still needs before going online: an approved licence, and an approved vehicle. */
export const ApprovalGap = z.enum(["licence", "vehicle"]);
export type ApprovalGap = z.infer<typeof ApprovalGap>;

/** `GET /v1/drivers/me/approval`. */
export const DriverApproval = z.object({
  approved: z.boolean(),
  missing: z.array(ApprovalGap),
  /** The vehicle the driver goes online with: their most recently approved one. */
  vehicle: Vehicle.nullable(),
});
export type DriverApproval = z.infer<typeof DriverApproval>;

/** The car a rider looks for: what the driver's session carries into a trip it is offered. */
export const TripVehicle = z.object({
  make: z.string(),
  model: z.string(),
  colour: z.string(),
  plate: z.string(),
  tier: z.string(),
});
export type TripVehicle = z.infer<typeof TripVehicle>;

/**
 * The assigned driver as the trip shows them from acceptance on: first name, rating (null
 * before any), whether they have a photo, and the car, or null for a driver who went online where
 * approval is not required and has no approved vehicle.
 */
export const TripDriver = z.object({
  firstName: z.string(),
  rating: z.number().nullable(),
  vehicle: TripVehicle.nullable(),
  /** Whether the driver has an approved photo: the trip's parties read it at GET /v1/trips/:id/driver-photo. */
  photo: z.boolean(),
});
export type TripDriver = z.infer<typeof TripDriver>;

/** `GET /v1/admin/drivers/:id/vehicles`: a driver's vehicles and documents, for review. */
export const DriverFile = z.object({ vehicles: z.array(Vehicle), documents: z.array(DriverDocument) });
export type DriverFile = z.infer<typeof DriverFile>;
