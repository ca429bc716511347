/**
 * @module http/routes/attachments
 * A chat room's attachments (docs/API.md, "Attachments"): a member asks for an upload URL for
 * one file (its name, type and size are checked here; the URL is a signed, short-lived grant,
 * files/upload-grant.ts, and the upload itself is http/routes/uploads.ts), and a current member
 * downloads a stored file, served as http/file-download.ts serves every stored upload.
 */
import { Hono } from "hono";
import { newAttachmentKey, signUploadGrant } from "../../files/upload-grant";
import { ApiError, badRequest, forbidden, notFound, unwrap } from "../../errors";
import { type AttachmentGrant, AttachmentKey, AttachmentRequestBody } from "../../protocol/attachments";
import { chatRoom } from "../../rooms/stubs";
import { requireUser } from "../auth-middleware";
import { fileResponse } from "../file-download";
import type { AppEnv } from "../context";
import { readBody, readId } from "../validate";
import { requireKnownRoom } from "./rooms";

export const attachmentRoutes = new Hono<AppEnv>();

attachmentRoutes.use("/rooms/:id/attachments", requireUser);
attachmentRoutes.use("/rooms/:id/attachments/*", requireUser);

attachmentRoutes.post("/rooms/:id/attachments", async (c) => {
  const { userId } = c.get("identity");
  const [room, member] = await requireKnownRoom(c.env.DB, readId(c), userId);
  if (!member) throw forbidden("join the room first");
  const body = await readBody(c, AttachmentRequestBody);
  const { ATTACHMENT_MAX_BYTES: limit, UPLOAD_GRANT_TTL_SECONDS: ttl, JWT_SECRET } = c.get("config");
  if (body.size > limit)
    throw new ApiError(413, "payload_too_large", `attachments are limited to ${limit} bytes`, { limit });
  const key = newAttachmentKey(room.id);
  const expiresAt = Date.now() + ttl * 1000;
  // The room records the URL before it exists, and refuses it past the member's quota of
  // unattached bytes: the grant's upload can claim only a key its room recorded.
  unwrap(
    await chatRoom(c.env, room.id).grantUpload(
      { key, userId, contentType: body.contentType, filename: body.filename, size: body.size },
      expiresAt,
    ),
  );
  const token = await signUploadGrant(
    {
      key,
      target: { kind: "room", roomId: room.id },
      userId,
      contentType: body.contentType,
      filename: body.filename,
      maxSize: body.size,
      exp: expiresAt,
    },
    JWT_SECRET,
  );
  const grant: AttachmentGrant = {
    key,
    uploadUrl: new URL(`/v1/uploads/${token}`, c.req.url).toString(),
    method: "PUT",
    headers: { "Content-Type": body.contentType },
    expiresAt,
    maxSize: body.size,
  };
  return c.json(grant, 201);
});

attachmentRoutes.get("/rooms/:id/attachments/:file", async (c) => {
  const roomId = readId(c);
  const parsed = AttachmentKey.safeParse(`rooms/${roomId}/${c.req.param("file")}`);
  if (!parsed.success) throw badRequest("invalid attachment");
  // The room answers who may read it: a current member, for an upload stored in this room.
  const attachment = unwrap(await chatRoom(c.env, roomId).attachment(c.get("identity"), parsed.data));
  const object = await c.env.FILES.get(attachment.key);
  if (!object) throw notFound("attachment not found");
  return fileResponse(object, attachment);
});
