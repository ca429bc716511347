/**
 * @module http/openapi/attachments
 * Chat attachments (routes/attachments.ts, routes/uploads.ts): the upload URL, the upload
 * itself (also a driver's document's, openapi/vehicles.ts), and the member-only download.
 */
import { z } from "zod";
import {
  AttachmentContentType,
  AttachmentGrant,
  AttachmentRequestBody,
  UploadResponse,
} from "../../protocol/attachments";
import { DocumentUploadResponse } from "../../protocol/vehicles";
import type { Operation } from "./operation";

const FILE_TYPES = AttachmentContentType.options;

export const attachmentOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/rooms/{id}/attachments",
    summary:
      "An upload URL for one file (members; type from the allow-list, size up to ATTACHMENT_MAX_BYTES): " +
      "signed, valid UPLOAD_GRANT_TTL_SECONDS, used once; 429 upload_quota_exceeded past UPLOAD_PENDING_MAX_BYTES " +
      "of the caller's uploads in the room that no message carries (swept after UPLOAD_UNATTACHED_TTL_MS)",
    auth: true,
    body: AttachmentRequestBody,
    status: 201,
    response: AttachmentGrant,
  },
  {
    method: "put",
    path: "/v1/uploads/{token}",
    summary:
      "Upload a file's bytes to the URL a grant returned (the URL is the permission; no Authorization): " +
      "the declared Content-Type, at most the declared size; 422 upload_rejected when the bytes are another type; " +
      "answers the attachment, or for a driver's document the document, now pending review",
    auth: false,
    fileBody: FILE_TYPES,
    status: 201,
    response: z.union([UploadResponse, DocumentUploadResponse]),
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/attachments/{file}",
    summary:
      "Download an attachment (current members only; {file} is the last part of its key), with its checked " +
      "type, nosniff and a sandboxing Content-Security-Policy",
    auth: true,
    status: 200,
    fileResponse: FILE_TYPES,
  },
];
