/**
 * @module auth/jwt
 * HS256 JSON Web Tokens on WebCrypto. The algorithm is pinned: a token whose header says
 * anything but HS256 (`none` included) is rejected before its signature is looked at, and
 * `exp`, `iss` and `aud` are always checked. Every token names its session (`sid`, the family
 * of refresh tokens it came from), so that ending a session can reach what it opened.
 */
import { z } from "zod";
import { Role } from "../protocol/common";
import { fromBase64Url, toBase64Url, utf8 } from "./encoding";

export const TokenClaims = z.object({
  sub: z.string().min(1),
  role: Role,
  name: z.string(),
  iss: z.string(),
  aud: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
  sid: z.string().min(1).max(64),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

/** Who a verified token speaks for; what the Worker hands to the room objects. */
export type Identity = { userId: string; role: Role; name: string };

/** A verified access token: who, which session, and until when (epoch ms). */
export type AccessGrant = { identity: Identity; sid: string; expiresAt: number };

export type JwtSettings = { secret: string; issuer: string; audience: string; ttlSeconds: number };

const Header = z.object({ alg: z.literal("HS256"), typ: z.literal("JWT").optional() });

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

const encodeJson = (value: unknown) => toBase64Url(utf8(JSON.stringify(value)));

export async function signToken(
  identity: Identity,
  settings: JwtSettings,
  nowMs: number,
  sid: string,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const claims: TokenClaims = {
    sub: identity.userId,
    role: identity.role,
    name: identity.name,
    iss: settings.issuer,
    aud: settings.audience,
    iat,
    exp: iat + settings.ttlSeconds,
    sid,
  };
  const signingInput = `${encodeJson({ alg: "HS256", typ: "JWT" })}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(settings.secret), utf8(signingInput));
  return `${signingInput}.${toBase64Url(new Uint8Array(signature))}`;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64Url(part)));
  } catch {
    return undefined;
  }
}

/** Returns the identity, or null for any token that is malformed, forged, expired or foreign. */
export async function verifyToken(token: string, settings: JwtSettings, nowMs: number): Promise<Identity | null> {
  return (await verifyAccessToken(token, settings, nowMs))?.identity ?? null;
}

/** The identity, session and expiry of a valid token; null as `verifyToken`. */
export async function verifyAccessToken(
  token: string,
  settings: JwtSettings,
  nowMs: number,
): Promise<AccessGrant | null> {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  if (!Header.safeParse(decodeJson(headerPart)).success) return null;
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = fromBase64Url(signaturePart);
  } catch {
    return null;
  }
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(settings.secret),
    signature,
    utf8(`${headerPart}.${payloadPart}`),
  );
  if (!valid) return null;
  const claims = TokenClaims.safeParse(decodeJson(payloadPart));
  if (!claims.success) return null;
  const { sub, role, name, iss, aud, exp, sid } = claims.data;
  if (iss !== settings.issuer || aud !== settings.audience) return null;
  if (exp * 1000 <= nowMs) return null;
  return { identity: { userId: sub, role, name }, sid, expiresAt: exp * 1000 };
}
