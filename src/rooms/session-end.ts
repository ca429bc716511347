/**
 * @module rooms/session-end
 * Carries the end of a session (logout, a reused refresh token) to every object where the user
 * may hold sockets or streams opened with it (found as a ban finds them: rooms/disconnect.ts),
 * so they close within seconds rather than at their token's expiry. A room it does not reach
 * still ends such a socket at its token's expiry (at most ACCESS_TOKEN_TTL_SECONDS), since the
 * socket's next `auth` frame is checked against the session.
 */
import { errorReason } from "../redact";
import { askEach, objectsHoldingUser } from "./disconnect";
import { logJson } from "../log";

/** Never throws: it runs behind the answer (waitUntil), and a room it misses ends the socket at expiry. */
export async function endSessionsOnSockets(env: Env, userId: string, sessions: string[] | "all"): Promise<void> {
  try {
    const objects = await objectsHoldingUser(env, userId, Date.now());
    await askEach(objects, "sessionEnd", (stub) => stub.endSessions(userId, sessions));
  } catch (err) {
    logJson("error", { where: "sessionEnd", reason: errorReason(err) });
  }
}
