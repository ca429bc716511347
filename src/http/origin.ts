/**
 * @module http/origin
 * Cross-site WebSocket hijacking guard. Browsers always send `Origin` on a WebSocket
 * upgrade and do not apply CORS to it, so a foreign page could otherwise open a socket with
 * a token it got hold of (an `access_token` in a URL). Native clients send no Origin and pass.
 * The same list decides which origins CORS lets read the HTTP API (http/app.ts).
 */

const LOCAL_DEV_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*"];

function matches(origin: string, pattern: string): boolean {
  if (pattern === origin) return true;
  if (!pattern.endsWith(":*")) return false;
  const base = pattern.slice(0, -2);
  return origin === base || (origin.startsWith(`${base}:`) && /^\d{1,5}$/.test(origin.slice(base.length + 1)));
}

/** The service's own origin always passes; `allowed` empty adds local development origins. */
export function originAllowed(origin: string | undefined, requestUrl: string, allowed: string[]): boolean {
  if (origin === undefined) return true;
  const patterns = [new URL(requestUrl).origin, ...(allowed.length > 0 ? allowed : LOCAL_DEV_ORIGINS)];
  return patterns.some((pattern) => matches(origin, pattern));
}
