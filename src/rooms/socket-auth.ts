/**
 * @module rooms/socket-auth
 * Renewing an open socket's token in-band (the `auth` frame), checked in the room object: a
 * valid token of the same user, expiring later than the one the socket has, of a session that
 * has not been revoked. The session check reads the user's partition database once per renewal (every ~15 minutes per
 * socket), never per frame.
 */
import { verifyAccessToken } from "../auth/jwt";
import type { Config } from "../config";
import { sessionIsLive } from "../db/sessions";
import { ApiError, badRequest, forbidden, unauthorized } from "../errors";
import { AuthFrame } from "../protocol/frames";
import { describeIssues, looseFrameOf } from "./frame-intake";
import type { SocketAttachment, SocketSession } from "./identity";

/** What an `auth` frame got: the socket's new session, or the error its `error` frame carries. */
export type Renewal = { id?: string | undefined } & ({ session: SocketSession } | { error: ApiError });

/** Reads an `auth` frame (parsed JSON) and checks its token; `id` is echoed in the ack or error. */
export async function renewFromFrame(
  config: Config,
  env: Env,
  current: SocketAttachment,
  data: unknown,
  now: number,
): Promise<Renewal> {
  const parsed = AuthFrame.safeParse(data);
  if (!parsed.success)
    return { id: looseFrameOf(data)?.id, error: badRequest(`invalid auth frame: ${describeIssues(parsed.error)}`) };
  const { id, token } = parsed.data;
  try {
    return { id, session: await renewSocketSession(config, env, current, token, now) };
  } catch (err) {
    if (err instanceof ApiError) return { id, error: err };
    throw err;
  }
}

/** Throws the ApiError that the `error` frame carries; answers the socket's new session. */
async function renewSocketSession(
  config: Config,
  env: Env,
  current: SocketAttachment,
  token: string,
  now: number,
): Promise<SocketSession> {
  const grant = await verifyAccessToken(token, config.jwt, now);
  if (!grant) throw unauthorized("invalid or expired token");
  if (grant.identity.userId !== current.userId) throw forbidden("the token is another user's");
  if (grant.expiresAt <= current.expiresAt)
    throw badRequest("the token must expire later than the socket's current one");
  if (!(await sessionIsLive(env, grant.sid, grant.identity.userId)))
    throw unauthorized("this session has ended; sign in again");
  return { sid: grant.sid, expiresAt: grant.expiresAt };
}
