/**
 * @module http/openapi/trips
 * Rides (routes/trips.ts): quotes, requests, the driver's actions, cancel and rating, and the trip
 * room's chat, socket and fallbacks.
 */
import { z } from "zod";
import {
  CancelBody,
  Quote,
  QuoteBody,
  RatingBody,
  ScheduledTripsResponse,
  StartBody,
  Trip,
  TripHistoryResponse,
  TripRequestBody,
} from "../../protocol/dispatch";
import { MessageResponse, PostMessageBody } from "../../protocol/http";
import type { Operation } from "./operation";
import { roomStreamOperations } from "./streams";

const TripResponse = z.object({ trip: Trip });

export const tripOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/quotes",
    summary:
      "Price a ride (riders): one quote per tier offered near the pickup, or the tier named; quote is quotes[0] " +
      "(the default tier's); 400 tier_unavailable",
    auth: true,
    body: QuoteBody,
    status: 201,
    response: z.object({ quote: Quote, quotes: z.array(Quote) }),
  },
  {
    method: "post",
    path: "/v1/trips",
    summary:
      "Request a trip (riders), now or with scheduledAt for a later pickup (400 schedule_out_of_range, " +
      "409 too_many_scheduled); 429 rate_limited with Retry-After beyond the request limit or in a cancel cool-down",
    auth: true,
    body: TripRequestBody,
    status: 201,
    response: TripResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/trips",
    summary:
      "The caller's trips (rode or drove), newest first, each with its receipt link, route and ratings; " +
      "filtered by since, to, status and as (rider | driver); cursor pagination (nextCursor)",
    auth: true,
    status: 200,
    response: TripHistoryResponse,
    query: ["limit", "cursor", "before", "since", "to", "status", "as"],
  },
  {
    method: "get",
    path: "/v1/trips/scheduled",
    summary: "The rider's upcoming scheduled rides, soonest pickup first (riders)",
    auth: true,
    status: 200,
    response: ScheduledTripsResponse,
  },
  {
    method: "get",
    path: "/v1/trips/current",
    summary: "The caller's trip in progress, live (a rider's from request to end, a driver's once accepted), or null",
    auth: true,
    status: 200,
    response: z.object({ trip: Trip.nullable() }),
  },
  {
    method: "get",
    path: "/v1/trips/{id}",
    summary: "One trip (its rider or driver)",
    auth: true,
    status: 200,
    response: TripResponse,
  },
  ...(["accept", "decline", "arrived"] as const).map((action) => ({
    method: "post" as const,
    path: `/v1/trips/{id}/${action}`,
    summary: `Driver action: ${action}`,
    auth: true,
    status: 200,
    response: TripResponse,
  })),
  {
    method: "post",
    path: "/v1/trips/{id}/start",
    summary:
      "Driver action: start, with the rider's PIN where the trip needs one (400 pin_required, 403 wrong_pin, " +
      "429 pin_locked with Retry-After)",
    auth: true,
    body: StartBody,
    bodyOptional: true,
    status: 200,
    response: TripResponse,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/complete",
    summary: "Driver action: complete",
    auth: true,
    status: 200,
    response: TripResponse,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/cancel",
    summary:
      "Cancel (rider, before the ride starts; 409 once in progress), or hand the trip back (driver), " +
      "with a reasonCode of the caller's side (and a note, required for other)",
    auth: true,
    body: CancelBody,
    bodyOptional: true,
    status: 200,
    response: TripResponse,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/rating",
    summary: "Rate the other party after completion",
    auth: true,
    body: RatingBody,
    status: 201,
  },
  {
    method: "post",
    path: "/v1/trips/{id}/messages",
    summary: "Post to the trip chat",
    auth: true,
    body: PostMessageBody,
    status: 201,
    response: MessageResponse,
    idempotent: true,
  },
  ...roomStreamOperations("/v1/trips/{id}", { socket: "Trip room socket", events: "Trip events" }),
];
