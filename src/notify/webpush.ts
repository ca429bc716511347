/**
 * @module notify/webpush
 * Web Push as standardised, on WebCrypto alone:
 * - RFC 8291 message encryption: ECDH P-256 between a fresh key pair and the subscription's
 *   `p256dh`, HKDF-SHA-256 with the subscription's `auth` secret, then one AES-128-GCM record
 *   in the RFC 8188 `aes128gcm` content coding (salt, record size, key id = our public key).
 * - RFC 8292 VAPID: `Authorization: vapid t=<ES256 JWT>, k=<our public key>`, the JWT naming
 *   the push service's origin (`aud`), an expiry within 24 hours and a contact (`sub`).
 * - RFC 8030 delivery: a POST to the subscription's endpoint with a `TTL`; 201 means accepted,
 *   404 or 410 mean the subscription is gone for good.
 */
import { fromBase64Url, toBase64Url, utf8 } from "../auth/encoding";
import { httpErrorClass, type DeliveryResult } from "./delivery-result";

/** The record size we declare; the message is always one record. */
const RECORD_SIZE = 4096;
/**
 * Push services take at most 4096 bytes of body: 86 of header, 16 of tag and 1 delimiter leave 3993 for text (RFC 8291
 * §4).
 */
export const MAX_PLAINTEXT_BYTES = 3993;
const VAPID_TTL_SECONDS = 12 * 60 * 60;

export type VapidKeys = { publicKey: string; privateKey: string; subject: string };
export type PushTarget = { endpoint: string; p256dh: string; auth: string };

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function hkdf(
  salt: Uint8Array,
  ikm: Uint8Array,
  info: Uint8Array,
  bytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

/**
 * Encrypts `plaintext` for a subscription (RFC 8291 §3.4 and §4). `salt` and `senderKeys` are
 * fresh for every message; they are parameters only so that a test can pin them.
 */
export async function encryptPayload(
  plaintext: Uint8Array,
  target: { p256dh: string; auth: string },
  fixed: { salt?: Uint8Array<ArrayBuffer>; senderKeys?: CryptoKeyPair } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (plaintext.length > MAX_PLAINTEXT_BYTES)
    throw new Error(`push payload of ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT_BYTES}`);
  const uaPublicBytes = fromBase64Url(target.p256dh);
  const authSecret = fromBase64Url(target.auth);
  const uaPublic = await crypto.subtle.importKey(
    "raw",
    uaPublicBytes,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const sender =
    fixed.senderKeys ??
    ((await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair);
  const senderPublic = new Uint8Array((await crypto.subtle.exportKey("raw", sender.publicKey)) as ArrayBuffer);
  // The standard member is `public`; the generated types spell it `$public`, so the algorithm
  // is built as a variable (no excess-property check) rather than an object literal.
  const ecdhAlgorithm = { name: "ECDH", public: uaPublic };
  const ecdhSecret = new Uint8Array(await crypto.subtle.deriveBits(ecdhAlgorithm, sender.privateKey, 256));

  // IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 || ua_public || as_public, 32)
  const keyInfo = concat(utf8("WebPush: info\0"), uaPublicBytes, senderPublic);
  const ikm = await hkdf(authSecret, ecdhSecret, keyInfo, 32);
  const salt = fixed.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const cek = await hkdf(salt, ikm, utf8("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, utf8("Content-Encoding: nonce\0"), 12);

  // One record, so it is the last: the padding delimiter is 0x02 and no padding follows.
  const record = concat(plaintext, new Uint8Array([2]));
  const aesKey = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, aesKey, record));

  // RFC 8188 header: salt (16) || rs (uint32, big-endian) || idlen (1) || keyid (our public key).
  const header = new Uint8Array(16 + 4 + 1 + senderPublic.length);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = senderPublic.length;
  header.set(senderPublic, 21);
  return concat(header, ciphertext);
}

/** The VAPID private key as a JWK: WebCrypto cannot import a raw EC private scalar. */
function vapidSigningKey(keys: VapidKeys): Promise<CryptoKey> {
  const publicBytes = fromBase64Url(keys.publicKey);
  const jwk: JsonWebKey = {
    kty: "EC",
    crv: "P-256",
    x: toBase64Url(publicBytes.slice(1, 33)),
    y: toBase64Url(publicBytes.slice(33, 65)),
    d: keys.privateKey,
    ext: false,
  };
  return crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}

/** `vapid t=<JWT>, k=<key>` for requests to this endpoint's push service (RFC 8292 §2-3). */
export async function vapidAuthorization(endpoint: string, keys: VapidKeys, now: number): Promise<string> {
  const encode = (value: object) => toBase64Url(utf8(JSON.stringify(value)));
  const header = encode({ typ: "JWT", alg: "ES256" });
  const claims = encode({
    aud: new URL(endpoint).origin,
    exp: Math.floor(now / 1000) + VAPID_TTL_SECONDS,
    sub: keys.subject,
  });
  // WebCrypto's ECDSA signature is already JWS's r || s (64 bytes), not DER.
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    await vapidSigningKey(keys),
    utf8(`${header}.${claims}`),
  );
  return `vapid t=${header}.${claims}.${toBase64Url(new Uint8Array(signature))}, k=${keys.publicKey}`;
}

export async function sendWebPush(
  target: PushTarget,
  payload: string,
  keys: VapidKeys,
  options: { now: number; ttlSeconds: number; timeoutMs: number; urgency: "normal" | "high" },
): Promise<DeliveryResult> {
  const body = await encryptPayload(utf8(payload), target);
  const res = await fetch(target.endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Encoding": "aes128gcm",
      TTL: String(options.ttlSeconds),
      Urgency: options.urgency,
      Authorization: await vapidAuthorization(target.endpoint, keys, options.now),
    },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  await res.body?.cancel();
  if (res.ok) return { kind: "delivered" };
  if (res.status === 404 || res.status === 410) return { kind: "gone", reason: `push service answered ${res.status}` };
  return { kind: "failed", reason: httpErrorClass(res.status) };
}
