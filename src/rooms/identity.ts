/**
 * @module rooms/identity
 * How the Worker tells a room object who is connecting. The Worker verifies the token, then
 * forwards the upgrade with this header; a room object is reachable only through the Worker,
 * which builds the forwarded request itself, so a client cannot set it.
 */
import { z } from "zod";
import type { Identity } from "../auth/jwt";
import { Role } from "../protocol/common";

export const IDENTITY_HEADER = "X-Ridewire-Identity";

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

/** What each hibernatable socket carries in its attachment, to survive the object sleeping. */
export const SocketAttachment = IdentitySchema.extend({ connectedAt: z.number().int() });
export type SocketAttachment = z.infer<typeof SocketAttachment>;
