/**
 * @module rooms/disconnect
 * Ends a user's live connections everywhere they have one: every socket and SSE stream, in
 * every object that may hold one (a ban here; the end of a session in rooms/session-end.ts).
 * Nothing global lists a user's sockets (each object knows only its own), so the objects are
 * found from the record: the user's trips that are not over or ended lately (their trip history
 * in their partition, and `active_trips`, which a new trip's row reaches first), the chat rooms they belong to (D1
 * `room_members`), and, for a driver, their DriverSession (with the trip it holds, which D1's
 * history may not show yet). Each is asked over native RPC.
 */
import { placesOfUser } from "../db/users";
import { CLOSE_BANNED } from "../protocol/admin";
import { errorReason } from "../redact";
import { chatRoom, driverSession, tripRoom } from "./stubs";
import { logJson } from "../log";

/**
 * Close codes this service sends when it ends a user's connections (4000-4999 are the
 * application's own, RFC 6455 §7.4.2). A client that gets one should not reconnect on its own.
 */
export const CloseCode = {
  /** An operator banned the account. */
  banned: CLOSE_BANNED,
} as const;

/** Trips that ended this recently are asked too: their rider may still be watching, to rate. */
const RECENTLY_ENDED_MS = 60 * 60 * 1000;
/** The most trips asked: a user is a party to a handful at a time. */
const MAX_TRIPS = 100;
/** RPCs in flight at once, so that a member of many rooms does not open hundreds at a time. */
const CONCURRENCY = 16;

export type DisconnectOptions = {
  /**
   * Until when (epoch ms) the objects also refuse the user's new sockets and streams (403).
   * For a ban: it bridges the moments in which a Worker that has not heard of it yet may still
   * pass one through. Leave it out to close only what is open (a logout: the user may sign in
   * again at once).
   */
  refuseNewUntil?: number;
};

export type DisconnectResult = {
  /** Objects asked. */
  objects: number;
  /** Sockets and streams they closed. */
  closed: number;
  /** Objects that did not answer (their connections may still be open; logged). */
  failed: number;
};

/** What every object that may hold a user's sockets answers over RPC (the hub's methods). */
export type UserConnections = {
  closeUserConnections(userId: string, code: number, reason: string, refuseNewUntil: number | null): Promise<number>;
  endSessions(userId: string, sessions: string[] | "all"): Promise<number>;
};

export type UserObject = { kind: "DriverSession" | "TripRoom" | "ChatRoom"; id: string; stub: UserConnections };

/**
 * Every object that may hold `userId`'s sockets or streams: their trips not over or ended
 * lately, the chat rooms they belong to, and, for a driver, their DriverSession and the trip it
 * holds (which D1's history may not show yet). Two D1 round trips at once, plus the driver's session.
 */
export async function objectsHoldingUser(env: Env, userId: string, now: number): Promise<UserObject[]> {
  const places = await placesOfUser(env, userId, now - RECENTLY_ENDED_MS, MAX_TRIPS);
  const tripIds = new Set(places.tripIds);

  const objects: UserObject[] = [];
  if (places.role === "driver") {
    const session = driverSession(env, userId);
    const held = await session.get().catch(() => null);
    if (held?.ok && held.value.tripId) tripIds.add(held.value.tripId);
    objects.push({ kind: "DriverSession", id: userId, stub: session });
  }
  for (const id of tripIds) objects.push({ kind: "TripRoom", id, stub: tripRoom(env, id) });
  for (const roomId of places.roomIds) objects.push({ kind: "ChatRoom", id: roomId, stub: chatRoom(env, roomId) });
  return objects;
}

/**
 * Asks each object, CONCURRENCY at a time, and adds up what they closed; an object that fails is
 * counted and logged under `where`, never thrown.
 */
export async function askEach(
  objects: readonly UserObject[],
  where: string,
  ask: (stub: UserConnections) => Promise<number>,
): Promise<DisconnectResult> {
  const result: DisconnectResult = { objects: objects.length, closed: 0, failed: 0 };
  await forEachLimited(objects, CONCURRENCY, async (target) => {
    try {
      result.closed += await ask(target.stub);
    } catch (err) {
      result.failed++;
      logJson("error", { where, object: target.kind, reason: errorReason(err) });
    }
  });
  return result;
}

/**
 * Closes every socket (with close `code` and `reason`, e.g. CloseCode.banned and "banned") and
 * every SSE stream `userId` has open, in their trip rooms, chat rooms and driver session; with
 * `options.refuseNewUntil`, those objects also refuse the user's new ones until then. Resolves
 * once every object has answered or failed; never throws for one object's failure.
 */
export async function disconnectUser(
  env: Env,
  userId: string,
  code: number,
  reason: string,
  options: DisconnectOptions = {},
): Promise<DisconnectResult> {
  const objects = await objectsHoldingUser(env, userId, Date.now());
  const refuseNewUntil = options.refuseNewUntil ?? null;
  return askEach(objects, "disconnectUser", (stub) => stub.closeUserConnections(userId, code, reason, refuseNewUntil));
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
