/**
 * @module http/openapi/drivers
 * A driver's own session (routes/drivers.ts): online and offline, the tiers they take, location fixes, and the driver
 * channel that carries offers, as a socket or as Server-Sent Events.
 */
import { z } from "zod";
import { Driver, DriverTiers, DriverTiersBody, LocationBody, OnlineBody } from "../../protocol/dispatch";
import type { Operation } from "./operation";

const DriverResponse = z.object({ driver: Driver });

export const driverOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/drivers/me",
    summary: "The calling driver's session",
    auth: true,
    status: 200,
    response: DriverResponse,
  },
  {
    method: "post",
    path: "/v1/drivers/me/online",
    summary: "Go online at a location (drivers)",
    auth: true,
    body: OnlineBody,
    status: 200,
    response: DriverResponse,
  },
  {
    method: "put",
    path: "/v1/drivers/me/tiers",
    summary:
      "Whether the driver also takes the lower tiers their vehicle's tier accepts, until they next go online " +
      "(drivers); answers the tiers they serve",
    auth: true,
    body: DriverTiersBody,
    status: 200,
    response: z.object({ tiers: DriverTiers }),
  },
  {
    method: "post",
    path: "/v1/drivers/me/offline",
    summary: "Go offline; 409 while on a trip (drivers)",
    auth: true,
    status: 200,
    response: DriverResponse,
  },
  {
    method: "get",
    path: "/v1/drivers/me/ws",
    summary: "Driver channel socket (WebSocket upgrade)",
    auth: true,
    status: 101,
    query: ["since", "access_token"],
  },
  {
    method: "get",
    path: "/v1/drivers/me/events",
    summary: "Driver channel as Server-Sent Events (offers, offer.expired, trip), for networks that break WebSockets",
    auth: true,
    status: 200,
    query: ["access_token"],
    sse: true,
  },
  {
    method: "post",
    path: "/v1/drivers/me/location",
    summary: "A location fix over HTTP, checked like the channel's location frame",
    auth: true,
    body: LocationBody,
    status: 200,
    response: z.object({ accepted: z.literal(true) }),
  },
];
