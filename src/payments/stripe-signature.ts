/**
 * @module payments/stripe-signature
 * Stripe's webhook signatures (https://docs.stripe.com/webhooks#verify-manually): the header
 * `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each v1 is
 * HMAC-SHA256(key = the endpoint's signing secret `whsec_…` as UTF-8, message = `${t}.${raw body}`).
 * The raw body must be the exact bytes received: re-serialised JSON would not match. A timestamp
 * outside the tolerance is refused (a replayed old event), and the comparison is constant-time.
 * WebCrypto only, so this runs on workerd and in Node alike.
 */
const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Equal strings in time that depends on the length only, never on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The header Stripe would send for `payload` at `timestampSec` (the tests' stand-in signs with it). */
export async function signStripePayload(payload: string, secret: string, timestampSec: number): Promise<string> {
  return `t=${timestampSec},v1=${await hmacHex(secret, `${timestampSec}.${payload}`)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export async function verifyStripeSignature(
  payload: string,
  header: string | null | undefined,
  secret: string,
  toleranceSec: number,
  nowSec: number,
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: "no Stripe-Signature header" };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [name, ...rest] = part.trim().split("=");
    const value = rest.join("=");
    if (name === "t" && /^\d+$/.test(value)) timestamp = Number(value);
    else if (name === "v1" && value) signatures.push(value);
  }
  if (timestamp === undefined) return { ok: false, reason: "no timestamp in Stripe-Signature" };
  if (signatures.length === 0) return { ok: false, reason: "no v1 signature in Stripe-Signature" };
  if (Math.abs(nowSec - timestamp) > toleranceSec) return { ok: false, reason: "timestamp outside the tolerance" };
  const expected = await hmacHex(secret, `${timestamp}.${payload}`);
  // Every candidate is compared, so the time taken does not reveal which one matched.
  let matched = false;
  for (const candidate of signatures) matched = constantTimeEqual(candidate, expected) || matched;
  return matched ? { ok: true } : { ok: false, reason: "signature mismatch" };
}
