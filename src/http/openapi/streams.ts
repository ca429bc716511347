/**
 * @module http/openapi/streams
 * The three ways into a room's sequenced log, written once for both kinds of room (chat rooms and
 * trip rooms): the socket, and its Server-Sent Events and long-poll fallbacks for networks that
 * break WebSockets (upgrade.ts forwards all three to the room's object).
 */
import { z } from "zod";
import type { Operation } from "./operation";

/** Frames are those of the room's socket; see docs/API.md. */
const PollResponse = z.object({ events: z.array(z.looseObject({ type: z.string() })), seq: z.number().int() });

/**
 * `since` resumes after a seq; `access_token` stands in for the Authorization header, which a
 * browser's WebSocket and EventSource cannot send. `names` are how the summaries call the room.
 */
export function roomStreamOperations(room: string, names: { socket: string; events: string }): Operation[] {
  return [
    {
      method: "get",
      path: `${room}/ws`,
      summary: `${names.socket} (WebSocket upgrade)`,
      auth: true,
      status: 101,
      query: ["since", "access_token"],
    },
    {
      method: "get",
      path: `${room}/events`,
      summary: `${names.events} as Server-Sent Events (id = seq; resumes from Last-Event-ID)`,
      auth: true,
      status: 200,
      query: ["since", "access_token"],
      sse: true,
    },
    {
      method: "get",
      path: `${room}/poll`,
      summary: "Long poll: { events, seq } after since, waiting up to timeout (0..30) s",
      auth: true,
      status: 200,
      response: PollResponse,
      query: ["since", "timeout", "access_token"],
    },
  ];
}
