/**
 * @module files/scan
 * The check every upload passes before a message may carry it: the extension point for an
 * operator's own checks (docs/API.md, "Attachments"). The upload route (http/routes/uploads.ts)
 * calls `scanUpload` once the bytes are in R2; a refusal deletes the object and answers 422
 * `upload_rejected` with the reason, and the upload URL is spent.
 *
 * The default is the type check of files/file-types.ts (the bytes must be what the member
 * declared; images give their dimensions). To add a virus scanner, keep that check and call the
 * scanner after it, for example by reading the object (`upload.bucket.get(upload.key)`) and
 * posting it to a scanning service (ClamAV behind an HTTP front, or a vendor's API) whose
 * address and key come from configuration; answer `{ ok: false, reason }` for an infected file.
 * A scan that needs longer than a request may take belongs on a queue, with the attachment held
 * back until it passes; that is not built here.
 */
import type { AttachmentContentType } from "../protocol/attachments";
import { checkFileType, type FileTypeVerdict } from "./file-types";

/** An upload as it stands in R2, before any message may carry it. */
export type StoredUpload = {
  bucket: R2Bucket;
  key: string;
  /** The type the member declared. */
  contentType: AttachmentContentType;
  size: number;
  /** The first FILE_HEAD_BYTES of the object (all of it when smaller). */
  head: Uint8Array;
};

/** A check of a stored upload: passes it (with an image's dimensions) or refuses it with a reason. */
export type UploadScanner = (upload: StoredUpload) => Promise<FileTypeVerdict>;

/** The check the upload route runs: the type check of the bytes (replace or extend it here). */
export const scanUpload: UploadScanner = async (upload) => checkFileType(upload.contentType, upload.head);
