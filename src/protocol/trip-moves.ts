/**
 * @module protocol/trip-moves
 * The driver channel's frames that move a trip, and the move each is: the route
 * `POST /v1/trips/:id/<move>` and the trip object's method of that name. A plain table with no
 * zod in it, so the client SDK carries it at no cost (it posts these frames to their routes on
 * the SSE fallback); `protocol/dispatch` re-exports it next to the frames' schemas.
 */
export const TRIP_MOVE_OF_FRAME = {
  "offer.accept": "accept",
  "offer.decline": "decline",
  "trip.arrived": "arrived",
  "trip.start": "start",
  "trip.complete": "complete",
  "trip.cancel": "cancel",
} as const;
export type TripMoveFrameType = keyof typeof TRIP_MOVE_OF_FRAME;
