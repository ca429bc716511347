/**
 * @module rooms/last-seen
 * Writes a user's last seen (db/presence.ts) from a room object as their presence there
 * changes: when their first connection opens and when their last one closes, never per frame.
 * Which of those changes write is socket-hub's (domain/last-seen.ts's throttle; the trip room writes none).
 * The write goes to the user's partition database, behind the event (`waitUntil`): D1 is not on
 * the path of a socket's open or close, and a failed write is logged and left (the next open or
 * close writes again).
 */
import { noteLastSeen } from "../db/presence";

export function writeLastSeen(
  ctx: DurableObjectState,
  env: Env,
  userId: string,
  logError: (where: string, err: unknown) => void,
): void {
  ctx.waitUntil(noteLastSeen(env, userId, Date.now()).catch((err: unknown) => logError("lastSeen", err)));
}
