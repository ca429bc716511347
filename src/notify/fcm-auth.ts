/**
 * @module notify/fcm-auth
 * OAuth 2.0 access tokens for FCM's HTTP v1 API from a Google service account (the JSON key in
 * the `FCM_SERVICE_ACCOUNT` secret), as Google's "service account JWT bearer" flow works
 * (RFC 7523): an RS256 JWT signed with the account's private key, naming the account (`iss`),
 * the token endpoint (`aud`) and the messaging scope, is exchanged at `token_uri` for an access
 * token that lives about an hour.
 *
 * The token is kept in this isolate's memory until a minute before it expires, and concurrent
 * deliveries wait for one exchange rather than start one each: a busy consumer exchanges once
 * an hour, not once per message.
 */
import { z } from "zod";
import { toBase64Url, utf8 } from "../auth/encoding";
import { httpErrorClass, type DeliveryErrorClass } from "./delivery-result";

/** The fields of a service account's JSON key that the flow needs (the key holds more). */
export const FcmServiceAccount = z.object({
  /** Part of the send URL's path: a project id's alphabet only. */
  project_id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "project_id must be a Firebase project id"),
  client_email: z.string().min(3).max(320),
  private_key_id: z.string().optional(),
  private_key: z.string().includes("-----BEGIN PRIVATE KEY-----", { message: "private_key must be a PKCS #8 PEM" }),
  token_uri: z.url({ protocol: /^https?$/ }).default("https://oauth2.googleapis.com/token"),
});
export type FcmServiceAccount = z.infer<typeof FcmServiceAccount>;

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** The assertion's own lifetime; Google accepts at most an hour. */
const ASSERTION_TTL_SECONDS = 3_600;
/** A cached token is replaced this long before it expires, so no send carries a dying one. */
export const EXPIRY_MARGIN_MS = 60_000;

/** Why no access token could be had: the class the notification log shows. */
export class FcmAuthError extends Error {
  constructor(readonly reason: DeliveryErrorClass) {
    super(`FCM token exchange failed: ${reason}`);
    this.name = "FcmAuthError";
  }
}

type Cached = { token: string; expiresAt: number };

// Per isolate, keyed by account and token endpoint: they live as long as the isolate, and the
// next exchange rebuilds them after an eviction. `exchanges` holds the one exchange in flight.
const cachedTokens = new Map<string, Cached>();
const exchanges = new Map<string, Promise<Cached>>();
const signingKeys = new Map<string, Promise<CryptoKey>>();

const cacheKey = (account: FcmServiceAccount) => `${account.client_email}\n${account.token_uri}`;

/** An access token for `account`: the cached one, the one being fetched, or a new exchange. */
export async function fcmAccessToken(account: FcmServiceAccount, timeoutMs: number): Promise<string> {
  const key = cacheKey(account);
  const cached = cachedTokens.get(key);
  if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return cached.token;
  let pending = exchanges.get(key);
  if (!pending) {
    pending = exchange(account, timeoutMs).finally(() => exchanges.delete(key));
    exchanges.set(key, pending);
  }
  const fresh = await pending;
  cachedTokens.set(key, fresh);
  return fresh.token;
}

/** FCM refused `token` (401): forget it, unless a newer one has replaced it already. */
export function forgetFcmAccessToken(account: FcmServiceAccount, token: string): void {
  const key = cacheKey(account);
  if (cachedTokens.get(key)?.token === token) cachedTokens.delete(key);
}

const TokenAnswer = z.object({
  access_token: z.string().min(1).max(4_096),
  expires_in: z.number().int().positive(),
});

async function exchange(account: FcmServiceAccount, timeoutMs: number): Promise<Cached> {
  const started = Date.now();
  let assertion: string;
  try {
    assertion = await signedAssertion(account, Math.floor(started / 1000));
  } catch {
    console.error(
      JSON.stringify({ level: "error", where: "notify.fcm", reason: "FCM_SERVICE_ACCOUNT's private_key cannot sign" }),
    );
    throw new FcmAuthError("fcm_auth");
  }
  let res: Response;
  try {
    res = await fetch(account.token_uri, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString(),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new FcmAuthError(err instanceof Error && err.name === "TimeoutError" ? "timeout" : "network");
  }
  if (!res.ok) {
    await res.body?.cancel();
    // 400/401 (`invalid_grant`: a revoked key, a clock far off) needs the operator, not a retry
    // right away; the class says which, the log line too.
    console.error(
      JSON.stringify({ level: "error", where: "notify.fcm", reason: "token exchange refused", status: res.status }),
    );
    throw new FcmAuthError(res.status >= 500 ? httpErrorClass(res.status) : "fcm_auth");
  }
  const answer = TokenAnswer.safeParse(await res.json().catch(() => null));
  if (!answer.success) throw new FcmAuthError("fcm_auth");
  return { token: answer.data.access_token, expiresAt: started + answer.data.expires_in * 1000 };
}

/** The RS256 JWT that asks for a messaging token (RFC 7523 §2.1). */
export async function signedAssertion(account: FcmServiceAccount, iat: number): Promise<string> {
  const encode = (value: object) => toBase64Url(utf8(JSON.stringify(value)));
  const header = encode({
    alg: "RS256",
    typ: "JWT",
    ...(account.private_key_id ? { kid: account.private_key_id } : {}),
  });
  const claims = encode({
    iss: account.client_email,
    scope: FCM_SCOPE,
    aud: account.token_uri,
    iat,
    exp: iat + ASSERTION_TTL_SECONDS,
  });
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    await signingKey(account),
    utf8(`${header}.${claims}`),
  );
  return `${header}.${claims}.${toBase64Url(new Uint8Array(signature))}`;
}

/** The imported private key, once per isolate and key (importing parses the whole PEM). */
function signingKey(account: FcmServiceAccount): Promise<CryptoKey> {
  let key = signingKeys.get(account.private_key);
  if (!key) {
    key = importPrivateKey(account.private_key);
    key.catch(() => signingKeys.delete(account.private_key));
    signingKeys.set(account.private_key, key);
  }
  return key;
}

function importPrivateKey(pem: string): Promise<CryptoKey> {
  const base64 = pem
    .replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "")
    .replace(/\\n/g, "")
    .replace(/\s+/g, "");
  const der = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
}
