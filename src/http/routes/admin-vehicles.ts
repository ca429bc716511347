/**
 * @module http/routes/admin-vehicles
 * Operators' review of drivers' vehicles and documents (`/v1/admin/…`, mounted under the admin
 * routes, whose middleware lets only operators in): a driver's file (their vehicles and
 * documents), a document's download, and a decision on a document or a vehicle, with a reason
 * for a rejection; each decision is audited (db/audit.ts) in the batch that makes it, then told
 * to the driver's session (http/driver-approval.ts). A vehicle is approved only once its
 * registration and insurance are.
 */
import { Hono } from "hono";
import { documentsOf, findDocument, publicDocument, reviewDocument } from "../../db/driver-documents";
import { findUserById } from "../../db/users";
import { reviewVehicle, vehiclesOf } from "../../db/vehicles";
import { ApiError, conflict, notFound } from "../../errors";
import { type DriverFile, ReviewBody } from "../../protocol/vehicles";
import type { AppEnv } from "../context";
import { tellSessionOfReview } from "../driver-approval";
import { downloadDocument } from "../file-download";
import { readBody, readId } from "../validate";

export const adminVehicleRoutes = new Hono<AppEnv>();

adminVehicleRoutes.get("/drivers/:id/vehicles", async (c) => {
  const driverId = readId(c);
  const user = await findUserById(c.env.DB, driverId);
  if (user?.role !== "driver") throw notFound("driver not found");
  const [vehicles, documents] = await Promise.all([vehiclesOf(c.env.DB, driverId), documentsOf(c.env.DB, driverId)]);
  return c.json({ vehicles, documents: documents.map(publicDocument) } satisfies DriverFile);
});

adminVehicleRoutes.post("/vehicles/:id/review", async (c) => {
  const review = await readBody(c, ReviewBody);
  const outcome = await reviewVehicle(c.env.DB, readId(c), c.get("identity").userId, review, Date.now());
  if (outcome === "not_found") throw notFound("vehicle not found");
  if ("missing" in outcome)
    throw new ApiError(409, "documents_not_approved", `approve the vehicle's ${outcome.missing.join(" and ")} first`, {
      missing: outcome.missing,
    });
  return c.json({ vehicle: outcome });
});

adminVehicleRoutes.post("/documents/:id/review", async (c) => {
  const review = await readBody(c, ReviewBody);
  const outcome = await reviewDocument(c.env.DB, readId(c), c.get("identity").userId, review, Date.now());
  if (outcome === "not_found") throw notFound("document not found");
  if (outcome === "not_uploaded") throw conflict("the document's file has not been uploaded (or was refused)");
  await tellSessionOfReview(c.env, outcome.driverId);
  return c.json({ document: publicDocument(outcome) });
});

adminVehicleRoutes.get("/documents/:id/file", async (c) => {
  const document = await findDocument(c.env.DB, readId(c));
  if (!document) throw notFound("document not found");
  return downloadDocument(c.env.FILES, document);
});
