/**
 * @module rooms/stubs
 * The one way to reach a Durable Object: each object is named by what it owns (a trip, a
 * driver, an H3 cell, a chat room; the operations desk is one for the service), and
 * `idFromName` of that name finds the same object from any Worker or object. Typed by the
 * bindings' classes, so the RPC methods are checked.
 */

export const tripRoom = (env: Env, tripId: string) => env.TRIP_ROOM.get(env.TRIP_ROOM.idFromName(tripId));

export const driverSession = (env: Env, driverId: string) =>
  env.DRIVER_SESSION.get(env.DRIVER_SESSION.idFromName(driverId));

export const geoCell = (env: Env, cell: string) => env.GEO_CELL.get(env.GEO_CELL.idFromName(cell));

export const chatRoom = (env: Env, roomId: string) => env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(roomId));

export const opsDesk = (env: Env) => env.OPS_DESK.get(env.OPS_DESK.idFromName("ops"));
