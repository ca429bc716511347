/**
 * @module http/file-download
 * How a stored upload is served, a chat attachment or a driver's document alike: so that no file
 * can act as a page of the API's origin. The checked type, `nosniff`, a sandboxing CSP, never
 * cached by a shared cache, and `attachment` for anything but images.
 */
import type { StoredDocument } from "../db/driver-documents";
import { notFound } from "../errors";

/** What a download names: the type the upload was checked against and its cleaned filename. */
export type DownloadedFile = { contentType: string; filename: string };

/** `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266); the name is already cleaned. */
function contentDisposition(file: DownloadedFile): string {
  const inline = file.contentType.startsWith("image/");
  const fallback = file.filename.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  // RFC 5987 leaves `'`, `(` and `)` out of a value; encodeURIComponent keeps them.
  const encoded = encodeURIComponent(file.filename).replace(/['()]/g, (ch) => `%${ch.charCodeAt(0).toString(16)}`);
  return `${inline ? "inline" : "attachment"}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export function fileResponse(object: R2ObjectBody, file: DownloadedFile): Response {
  const contentType = file.contentType === "text/plain" ? "text/plain; charset=utf-8" : file.contentType;
  return new Response(object.body, {
    headers: {
      "Content-Type": contentType,
      "Content-Length": String(object.size),
      "Content-Disposition": contentDisposition(file),
      "X-Content-Type-Options": "nosniff",
      // Opened as a page, a file may run nothing, load nothing and reach no origin.
      "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
      "Cache-Control": "private, no-store",
      ETag: object.httpEtag,
    },
  });
}

/**
 * A driver's document, for whoever the route let through (the driver, an operator): only once its
 * bytes passed the upload's checks; a document still waiting for them, or refused, is not found.
 */
export async function downloadDocument(bucket: R2Bucket, document: StoredDocument): Promise<Response> {
  const checked = document.status === "pending" || document.status === "approved" || document.status === "rejected";
  const object = checked ? await bucket.get(document.key) : null;
  if (!object) throw notFound("document not found");
  return fileResponse(object, document);
}
