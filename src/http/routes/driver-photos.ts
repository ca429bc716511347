/**
 * @module http/routes/driver-photos
 * `GET /v1/trips/:id/driver-photo`: the assigned driver's approved photo, for the trip's rider
 * (and the driver) from acceptance on (README, "Drivers and vehicles"). The trip room says whom
 * it shows and which document (the photo came with the driver's reservation, as the car did);
 * the file is then served from R2 only if it is still that driver's approved photo.
 */
import { Hono } from "hono";
import { findDocument } from "../../db/driver-documents";
import { notFound, unwrap } from "../../errors";
import { tripRoom } from "../../rooms/stubs";
import { requireUser } from "../auth-middleware";
import type { AppEnv } from "../context";
import { downloadDocument } from "../file-download";
import { readId } from "../validate";

export const driverPhotoRoutes = new Hono<AppEnv>();

driverPhotoRoutes.get("/trips/:id/driver-photo", requireUser, async (c) => {
  const { driverId, documentId } = unwrap(await tripRoom(c.env, readId(c)).driverPhoto(c.get("identity")));
  const photo = await findDocument(c.env.DB, documentId);
  // Rejected since the driver went online, or not theirs: nothing to show.
  if (photo?.kind !== "photo" || photo.driverId !== driverId || photo.status !== "approved")
    throw notFound("no driver photo");
  return downloadDocument(c.env.FILES, photo);
});
