/**
 * @module http/routes/uploads
 * `PUT /v1/uploads/:token`: the upload URL a grant returns, for a chat attachment
 * (http/routes/attachments.ts) or a driver's document (http/routes/vehicles.ts). The token is the
 * permission, as with an R2 presigned URL (files/upload-grant.ts says why the Worker signs its
 * own): no Authorization header is needed, and the bytes go to R2 only once the token verifies,
 * its uploader is not banned (and for a room still a member), the declared type and length match
 * the grant, and the file's owner has taken the key for this one upload
 * (http/upload-destinations.ts). The bytes then pass the upload check (files/scan.ts); a refused
 * file is deleted and the URL is spent.
 */
import { Hono } from "hono";
import { FILE_HEAD_BYTES, type FileTypeVerdict } from "../../files/file-types";
import { scanUpload } from "../../files/scan";
import { type UploadGrantClaims, verifyUploadGrant } from "../../files/upload-grant";
import { ApiError, badRequest, forbidden } from "../../errors";
import { assertNotBanned } from "../ban-check";
import type { AppContext, AppEnv } from "../context";
import { limitUser } from "../rate-limit";
import { uploadDestination } from "../upload-destinations";

export const uploadRoutes = new Hono<AppEnv>();

/** The request's declared body length: required (R2 stores a stream of known length), 1 to the grant's size. */
function declaredLength(c: AppContext, grant: UploadGrantClaims): number {
  const header = c.req.header("Content-Length");
  if (header === undefined || !/^[0-9]{1,16}$/.test(header)) throw badRequest("Content-Length is required");
  const length = Number(header);
  if (length === 0) throw badRequest("the file is empty");
  if (length > grant.maxSize)
    throw new ApiError(413, "payload_too_large", `this upload is limited to ${grant.maxSize} bytes, as declared`, {
      limit: grant.maxSize,
    });
  return length;
}

uploadRoutes.put("/uploads/:token", async (c) => {
  const config = c.get("config");
  const grant = await verifyUploadGrant(c.req.param("token"), config.JWT_SECRET, Date.now());
  if (!grant) throw forbidden("this upload URL is invalid or has expired");
  await limitUser(c, grant.userId);
  await assertNotBanned(c.env.DB, grant.userId, config.BAN_CACHE_MS, Date.now());
  const contentType = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (contentType !== grant.contentType)
    throw badRequest(`Content-Type must be ${grant.contentType}, as declared`, { expected: grant.contentType });
  const length = declaredLength(c, grant);
  const body = c.req.raw.body;
  if (!body) throw badRequest("the file is empty");

  const destination = uploadDestination(c.env, grant);
  await destination.claim();
  // Whatever ends the upload from here on (a refusal, a scanner that throws) deletes the bytes
  // and spends the URL: no unchecked file stays behind, nor a claim waiting forever.
  const refuse = async (error: unknown): Promise<never> => {
    await c.env.FILES.delete(grant.key);
    await destination.reject();
    throw error;
  };

  let size: number;
  try {
    const stored = await c.env.FILES.put(grant.key, body, {
      httpMetadata: { contentType: grant.contentType },
      customMetadata: { ...grant.target, userId: grant.userId },
    });
    size = stored?.size ?? 0;
  } catch {
    // A body shorter or longer than its Content-Length ends the stream with an error.
    return refuse(badRequest("the body does not match its Content-Length"));
  }
  if (size !== length || size > grant.maxSize) return refuse(badRequest("the body does not match its Content-Length"));

  let verdict: FileTypeVerdict;
  try {
    const head = await c.env.FILES.get(grant.key, { range: { offset: 0, length: FILE_HEAD_BYTES } });
    verdict = await scanUpload({
      bucket: c.env.FILES,
      key: grant.key,
      contentType: grant.contentType,
      size,
      head: new Uint8Array(head ? await head.arrayBuffer() : new ArrayBuffer(0)),
    });
  } catch (err) {
    return refuse(err);
  }
  if (!verdict.ok) return refuse(new ApiError(422, "upload_rejected", verdict.reason));
  const stored = await destination.store({
    size,
    ...(verdict.width === undefined ? {} : { width: verdict.width }),
    ...(verdict.height === undefined ? {} : { height: verdict.height }),
  });
  return c.json(stored, 201);
});
