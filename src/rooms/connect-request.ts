/**
 * @module rooms/connect-request
 * The checks on a request to open a socket or an SSE stream that need no room state: its
 * `since` and the user's connection count. Each throws the ApiError the request is answered with.
 */
import { ApiError, badRequest } from "../errors";
import { SinceQuery } from "../protocol/http";

/** The seq a reconnecting client asks to resume after; null when it asks for none. */
export function sinceOf(url: URL): number | null {
  const param = url.searchParams.get("since");
  if (param === null) return null;
  const since = SinceQuery.safeParse(param);
  if (!since.success) throw badRequest("since must be a non-negative integer");
  return since.data;
}

/**
 * Sockets and streams cost the room memory and a send per event each: a user gets a few (tabs,
 * a reconnect racing its old socket's close), not hundreds.
 */
export function checkConnectionLimit(open: number, max: number): void {
  if (open >= max)
    throw new ApiError(
      429,
      "too_many_connections",
      `at most ${max} open sockets and streams per user here; close one first`,
      {
        max,
      },
    );
}
