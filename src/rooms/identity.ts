/**
 * @module rooms/identity
 * How the Worker tells a room object who is connecting. The Worker verifies the token, then
 * forwards the upgrade with this header; a room object is reachable only through the Worker,
 * which builds the forwarded request itself, so a client cannot set it.
 */
import { z } from "zod";
import type { Identity } from "../auth/jwt";
import { Role } from "../protocol/common";
import { CityArea } from "../protocol/ops";

export const IDENTITY_HEADER = "X-Ridewire-Identity";
/** The verified token's session and expiry, next to the identity: a socket lives no longer than its token. */
export const SESSION_HEADER = "X-Ridewire-Session";

export const IdentitySchema = z.object({ userId: z.string().min(1), role: Role, name: z.string() });

export function identityHeader(identity: Identity): Record<string, string> {
  return { [IDENTITY_HEADER]: JSON.stringify(identity) };
}

export function readIdentity(request: Request): Identity | null {
  const raw = request.headers.get(IDENTITY_HEADER);
  if (!raw) return null;
  try {
    const parsed = IdentitySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const SocketSession = z.object({ sid: z.string().min(1), expiresAt: z.number().int() });
export type SocketSession = z.infer<typeof SocketSession>;

export function sessionHeader(session: SocketSession): Record<string, string> {
  return { [SESSION_HEADER]: JSON.stringify(session) };
}

export function readSession(request: Request): SocketSession | null {
  const raw = request.headers.get(SESSION_HEADER);
  if (!raw) return null;
  try {
    const parsed = SocketSession.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * What each hibernatable socket carries in its attachment, to survive the object sleeping:
 * who, since when, and the session and expiry of its token (the alarm closes it then, unless
 * an `auth` frame brought a later one).
 */
export const SocketAttachment = IdentitySchema.extend({
  connectedAt: z.number().int(),
  /** The area of the city an operations page asked the desk to push (rooms/ops-desk); absent on every other socket. */
  cityWatch: CityArea.optional(),
}).extend(SocketSession.shape);
export type SocketAttachment = z.infer<typeof SocketAttachment>;
