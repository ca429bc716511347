/**
 * @module rooms/session-end
 * Carries the end of a session (logout, a reused refresh token) to the rooms where the user
 * may hold sockets or streams opened with it, so they close within seconds rather than at
 * their token's expiry. Kept small on purpose: the driver's own channel, the user's trips
 * still under way, and their most recent chat rooms (ROOMS_REACHED). A room it does not reach
 * still ends such a socket at its token's expiry (at most ACCESS_TOKEN_TTL_SECONDS), since the
 * socket's next `auth` frame is checked against the session.
 */

import { redactSecrets } from "../redact";

/** Chat rooms reached per session end, newest membership first. */
const ROOMS_REACHED = 50;
const TRIPS_REACHED = 3;

type RoomWithSockets = { endSessions(userId: string, sessions: string[] | "all"): Promise<number> };

/** Never throws: it runs behind the answer (waitUntil), and a room it misses ends the socket at expiry. */
export async function endSessionsOnSockets(env: Env, userId: string, sessions: string[] | "all"): Promise<void> {
  try {
    // One round trip: the user's role (drivers have a channel), their trips under way, their rooms.
    const [roles, trips, rooms] = (await env.DB.batch([
      env.DB.prepare(`SELECT role FROM users WHERE id = ?1`).bind(userId),
      env.DB.prepare(
        `SELECT trip_id AS id FROM active_trips WHERE rider_id = ?1
         UNION SELECT id FROM (SELECT id FROM trips
                                WHERE driver_id = ?1 AND status IN ('accepted', 'arrived', 'in_progress')
                                ORDER BY created_at DESC LIMIT ?2)`,
      ).bind(userId, TRIPS_REACHED),
      env.DB.prepare(`SELECT room_id AS id FROM room_members WHERE user_id = ?1 ORDER BY joined_at DESC LIMIT ?2`).bind(
        userId,
        ROOMS_REACHED,
      ),
    ])) as [D1Result<{ role: string }>, D1Result<{ id: string }>, D1Result<{ id: string }>];
    const targets: RoomWithSockets[] = [];
    if (roles.results[0]?.role === "driver")
      targets.push(env.DRIVER_SESSION.get(env.DRIVER_SESSION.idFromName(userId)));
    for (const { id } of trips.results) targets.push(env.TRIP_ROOM.get(env.TRIP_ROOM.idFromName(id)));
    for (const { id } of rooms.results) targets.push(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(id)));
    await Promise.allSettled(targets.map((room) => room.endSessions(userId, sessions)));
  } catch (err) {
    console.error(
      JSON.stringify({
        level: "error",
        where: "sessionEnd",
        reason: err instanceof Error ? redactSecrets(`${err.name}: ${err.message}`) : typeof err,
      }),
    );
  }
}
