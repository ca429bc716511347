/**
 * @module files/upload-grant
 * The upload URL's token: a grant the Worker signs with HMAC-SHA256 naming the object key, what
 * the file is for (a chat room's attachment, or a driver's document for review), the uploader,
 * the declared type, the largest size and filename, and an expiry. It plays
 * the part of an R2 presigned URL: R2's own presigned URLs are signed with S3 API credentials,
 * which a local R2 (Miniflare) does not have and which would send the bytes past the Worker's
 * checks. Here the URL points at the Worker itself (`PUT /v1/uploads/:token`), which streams the
 * bytes into the R2 binding; the file's owner (the room, or the document's row in D1) records
 * each key once, so a token uploads once.
 *
 * The key is derived from JWT_SECRET for this one purpose (HMAC of a fixed label), so a grant
 * can never pass for an access token nor an access token for a grant.
 */
import { z } from "zod";
import { AttachmentContentType, AttachmentKey } from "../protocol/attachments";
import { DocumentKey } from "../protocol/vehicles";
import { fromBase64Url, timingSafeEqual, toBase64Url, utf8 } from "../auth/encoding";

/** What the upload is for; its key lies in that owner's prefix (`rooms/<id>/…`, `drivers/<id>/…`). */
export const UploadTarget = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("room"), roomId: z.string().min(1) }),
  z.object({ kind: z.literal("driver_document"), documentId: z.string().min(1) }),
]);
export type UploadTarget = z.infer<typeof UploadTarget>;

export const UploadGrantClaims = z.object({
  key: z.union([AttachmentKey, DocumentKey]),
  target: UploadTarget,
  userId: z.string().min(1),
  contentType: AttachmentContentType,
  filename: z.string().min(1),
  /** The most bytes the upload may have: the size the member declared. */
  maxSize: z.number().int().min(1),
  /** Epoch ms after which the token is refused. */
  exp: z.number().int(),
});
export type UploadGrantClaims = z.infer<typeof UploadGrantClaims>;

const LABEL = "ridewire upload grant v1";

const keys = new Map<string, Promise<CryptoKey>>();
/** The grants' own HMAC key, derived from the service secret; cached per secret. */
function grantKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const root = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
      ]);
      const derived = new Uint8Array(await crypto.subtle.sign("HMAC", root, utf8(LABEL)));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    keys.set(secret, key);
  }
  return key;
}

async function signature(secret: string, payload: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await grantKey(secret), utf8(payload)));
}

/** `<claims as base64url JSON>.<signature>`: URL-safe, one path segment. */
export async function signUploadGrant(claims: UploadGrantClaims, secret: string): Promise<string> {
  const payload = toBase64Url(utf8(JSON.stringify(claims)));
  return `${payload}.${toBase64Url(await signature(secret, payload))}`;
}

/** The claims of a token this service signed and that has not expired; null for anything else. */
export async function verifyUploadGrant(
  token: string,
  secret: string,
  nowMs: number,
): Promise<UploadGrantClaims | null> {
  const parts = token.split(".");
  if (parts.length !== 2) return null;
  const [payload = "", mac = ""] = parts;
  let presented: Uint8Array;
  let json: unknown;
  try {
    presented = fromBase64Url(mac);
    json = JSON.parse(new TextDecoder().decode(fromBase64Url(payload)));
  } catch {
    return null;
  }
  if (!timingSafeEqual(presented, await signature(secret, payload))) return null;
  const claims = UploadGrantClaims.safeParse(json);
  if (!claims.success || claims.data.exp <= nowMs) return null;
  return claims.data;
}

const randomName = () => toBase64Url(crypto.getRandomValues(new Uint8Array(16)));

/** A new object key in `roomId`'s prefix: 128 random bits, so nobody guesses another's. */
export function newAttachmentKey(roomId: string): string {
  return `rooms/${roomId}/${randomName()}`;
}

/** A new object key in the driver's prefix, for one of their documents. */
export function newDocumentKey(driverId: string): string {
  return `drivers/${driverId}/${randomName()}`;
}
