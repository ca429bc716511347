/**
 * @module redact
 * Takes secrets out of text before it is logged: the values of token-like query parameters
 * in any URL (`access_token`, `refresh_token`, `token`, `sig`, `secret`, `key`, `password`, …)
 * and anything shaped like a JWT. Error messages of the platform quote URLs (a failed fetch
 * names its URL), so every log line that carries a message or a URL goes through here.
 */

/** Query parameter names whose values are credentials. */
const SECRET_PARAM = /(?:token|secret|sig(?:nature)?|key|password|passwd|auth|code|session|sid|credential)/i;
/** `name=value` in a query string (after `?` or `&`). */
const QUERY_PAIR = /([?&])([^=&#\s"']+)=([^&#\s"']*)/g;
/** Three base64url parts, the first starting like a JSON object ("{" is "ey" in base64). */
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

export const REDACTED = "[redacted]";

export function redactSecrets(text: string): string {
  return text
    .replace(QUERY_PAIR, (pair, lead: string, name: string) =>
      SECRET_PARAM.test(safeDecode(name)) ? `${lead}${name}=${REDACTED}` : pair,
    )
    .replace(JWT, REDACTED);
}

/**
 * An error as a log line may carry it: its class and message with secrets redacted (a platform
 * error's message may quote a URL with its query), or only the type of a thrown non-Error.
 */
export function errorReason(err: unknown): string {
  return err instanceof Error ? redactSecrets(`${err.name}: ${err.message}`) : typeof err;
}

/** A URL as it may be logged: path and query, with secret values redacted. */
export function loggableUrl(url: string): string {
  return redactSecrets(url);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
