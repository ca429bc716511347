/**
 * @module protocol/attachments
 * Chat attachments on the wire (docs/API.md, "Attachments"): the types a member may upload, the
 * request for an upload URL, the grant it answers, and the descriptor a message carries. Shared
 * by the Worker, the room objects, the client SDK and the tests.
 */
import { z } from "zod";

/**
 * The types a member may upload: images a chat shows inline, and PDF and plain text files. Each
 * has a signature the upload is checked against (src/files/file-types.ts), except text, which is
 * checked to be UTF-8 with no NUL bytes.
 */
export const AttachmentContentType = z.enum([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "application/pdf",
  "text/plain",
]);
export type AttachmentContentType = z.infer<typeof AttachmentContentType>;

/** How many attachments one message may carry. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/**
 * A file's name as shown and offered on download: 1 to 255 characters once cleaned. Any path
 * (`../`, `C:\`) is cut to its last part, and control characters, quotes and the characters
 * Windows refuses in names become `_`, so the name cannot escape a `Content-Disposition` header
 * or a download folder. A name that is nothing once cleaned (`..`) is refused.
 */
export const AttachmentFilename = z
  .string()
  .max(1_024)
  .transform((name) =>
    (name.split(/[\\/]/).pop() ?? "")
      .replace(/[\p{Cc}\p{Cf}"<>:|?*]/gu, "_")
      .trim()
      .replace(/^\.+/, "")
      .slice(0, 255),
  )
  .pipe(z.string().min(1, "the filename is empty once its path and unsafe characters are removed"));
export type AttachmentFilename = z.infer<typeof AttachmentFilename>;

/** The object key of an upload: `rooms/<roomId>/<random id>`, as a grant names it. */
export const AttachmentKey = z
  .string()
  .max(256)
  .regex(/^rooms\/[A-Za-z0-9_-]{1,128}\/[A-Za-z0-9_-]{16,64}$/, "not an attachment key");

/** `POST /v1/rooms/:id/attachments`: what the member means to upload. */
export const AttachmentRequestBody = z.object({
  filename: AttachmentFilename,
  contentType: AttachmentContentType,
  /** The file's size in bytes; the upload may not be larger. */
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type AttachmentRequestBody = z.infer<typeof AttachmentRequestBody>;

/** The grant: PUT the file's bytes to `uploadUrl` (with `method` and `headers`) before `expiresAt`. */
export const AttachmentGrant = z.object({
  key: AttachmentKey,
  uploadUrl: z.string(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.number().int(),
  maxSize: z.number().int(),
});
export type AttachmentGrant = z.infer<typeof AttachmentGrant>;

/**
 * A stored upload as a message carries it: its key, checked type, actual size, the cleaned
 * filename, and for images the dimensions read from the file's header.
 */
export const Attachment = z.object({
  key: AttachmentKey,
  contentType: AttachmentContentType,
  size: z.number().int(),
  filename: z.string(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
});
export type Attachment = z.infer<typeof Attachment>;

/** `PUT /v1/uploads/:token` answers the stored attachment. */
export const UploadResponse = z.object({ attachment: Attachment });
export type UploadResponse = z.infer<typeof UploadResponse>;

/**
 * What a message names: the keys of uploads its sender completed in the same room. The room
 * fills in the rest from its own record, so a client cannot claim another type or size.
 */
export const AttachmentRefs = z
  .array(z.object({ key: AttachmentKey }))
  .min(1)
  .max(MAX_ATTACHMENTS_PER_MESSAGE)
  .refine((refs) => new Set(refs.map((r) => r.key)).size === refs.length, "an attachment is named twice");
export type AttachmentRefs = z.infer<typeof AttachmentRefs>;
