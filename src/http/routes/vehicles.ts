/**
 * @module http/routes/vehicles
 * A driver's vehicles and documents (`/v1/drivers/me/…`, README "Drivers and vehicles"),
 * mounted under the driver routes (routes/drivers.ts), whose middleware lets only a signed-in
 * driver in. A driver registers a vehicle, asks for an upload URL for each document (a signed
 * grant, files/upload-grant.ts, used with `PUT /v1/uploads/:token`), reads their documents'
 * review status, downloads their own files, and sees what they still lack before going online.
 * Operators review at routes/admin-vehicles.ts.
 */
import { Hono } from "hono";
import { documentsOf, findDocument, insertDocument, publicDocument } from "../../db/driver-documents";
import { approvalOf, registerVehicle, vehiclesOf } from "../../db/vehicles";
import { ApiError, badRequest, notFound } from "../../errors";
import { newDocumentKey, signUploadGrant } from "../../files/upload-grant";
import { type DocumentGrant, DocumentRequestBody, type DriverApproval, VehicleBody } from "../../protocol/vehicles";
import { requireAccount } from "../auth-middleware";
import type { AppEnv } from "../context";
import { downloadDocument } from "../file-download";
import { readBody, readId } from "../validate";

export const vehicleRoutes = new Hono<AppEnv>();

/** Grants a driver may hold unused at once: each is a row waiting for its upload. */
const OPEN_DOCUMENT_GRANTS = 10;

vehicleRoutes.post("/vehicles", requireAccount, async (c) => {
  const body = await readBody(c, VehicleBody);
  const { VEHICLE_TIERS: tiers, VEHICLES_PER_DRIVER: max } = c.get("config");
  if (!tiers.includes(body.tier)) throw badRequest(`tier must be one of: ${tiers.join(", ")}`, { tiers });
  const vehicle = await registerVehicle(c.env.DB, c.get("identity").userId, body, max, Date.now());
  if (vehicle === "plate_taken")
    throw new ApiError(409, "plate_taken", "a vehicle with this plate is registered already");
  if (vehicle === "too_many")
    throw new ApiError(409, "too_many_vehicles", `a driver may have ${max} vehicles that are not rejected`, { max });
  return c.json({ vehicle }, 201);
});

vehicleRoutes.get("/vehicles", async (c) => {
  return c.json({ vehicles: await vehiclesOf(c.env.DB, c.get("identity").userId) });
});

vehicleRoutes.post("/documents", requireAccount, async (c) => {
  const body = await readBody(c, DocumentRequestBody);
  const driverId = c.get("identity").userId;
  const { DRIVER_DOCUMENT_MAX_BYTES: limit, UPLOAD_GRANT_TTL_SECONDS: ttl, JWT_SECRET } = c.get("config");
  if (body.size > limit)
    throw new ApiError(413, "payload_too_large", `documents are limited to ${limit} bytes`, { limit });
  const key = newDocumentKey(driverId);
  const now = Date.now();
  const document = await insertDocument(
    c.env.DB,
    {
      driverId,
      vehicleId: body.vehicleId ?? null,
      kind: body.kind,
      key,
      filename: body.filename,
      contentType: body.contentType,
    },
    OPEN_DOCUMENT_GRANTS,
    now,
  );
  // Someone else's vehicle and one that does not exist answer alike.
  if (document === "not_your_vehicle") throw notFound("vehicle not found");
  if (document === "too_many_open")
    throw new ApiError(409, "conflict", `upload your ${OPEN_DOCUMENT_GRANTS} waiting documents first`);
  const expiresAt = now + ttl * 1000;
  const token = await signUploadGrant(
    {
      key,
      target: { kind: "driver_document", documentId: document.id },
      userId: driverId,
      contentType: body.contentType,
      filename: body.filename,
      maxSize: body.size,
      exp: expiresAt,
    },
    JWT_SECRET,
  );
  const grant: DocumentGrant = {
    document: publicDocument(document),
    uploadUrl: new URL(`/v1/uploads/${token}`, c.req.url).toString(),
    method: "PUT",
    headers: { "Content-Type": body.contentType },
    expiresAt,
    maxSize: body.size,
  };
  return c.json(grant, 201);
});

vehicleRoutes.get("/documents", async (c) => {
  const documents = await documentsOf(c.env.DB, c.get("identity").userId);
  return c.json({ documents: documents.map(publicDocument) });
});

vehicleRoutes.get("/documents/:id/file", async (c) => {
  const document = await findDocument(c.env.DB, readId(c));
  // Another driver's document and an unknown id answer alike.
  if (!document || document.driverId !== c.get("identity").userId) throw notFound("document not found");
  return downloadDocument(c.env.FILES, document);
});

vehicleRoutes.get("/approval", async (c) => {
  const { missing, vehicle } = await approvalOf(c.env.DB, c.get("identity").userId);
  return c.json({ approved: missing.length === 0, missing, vehicle } satisfies DriverApproval);
});
