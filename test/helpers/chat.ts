/**
 * Test helpers for chat rooms and the room hub: error-body checks, the room's Durable Object
 * stub, its outbox and log as stored in the object's SQLite, D1's copy of its messages, and a
 * frame wait that does not consume frames (TestSocket.next does).
 */
import type { EventLog } from "../../src/rooms/event-log";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Identity } from "../../src/auth/jwt";
import type { Message } from "../../src/protocol/common";
import {
  call,
  connectOk,
  createRoom,
  joinRoom,
  registerUser,
  type TestSocket,
  type TestUser,
  type WireJson,
} from "./api";
import { chatShard } from "./shards";

/** Asserts API.md's error response: the status, and a body `{ error: { code, message, details?, traceId } }`. */
export function expectError(res: { status: number; body: unknown }, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({
    status,
    body: { error: { code, message: expect.any(String) } },
  });
  const error = (res.body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).every((key) => ["code", "message", "details", "traceId"].includes(key))).toBe(true);
  expect(error.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(Object.keys(res.body as object)).toEqual(["error"]);
}

export const wsPath = (roomId: string, query = "") => `/v1/rooms/${roomId}/ws${query}`;

/** A public room with two members, ada (its creator) and bob, each with one socket past its welcome. */
export async function roomOfTwo(): Promise<{
  roomId: string;
  ada: TestUser;
  bob: TestUser;
  a: TestSocket;
  b: TestSocket;
}> {
  const ada = await registerUser("rider", "Ada");
  const bob = await registerUser("driver", "Bob");
  const room = await createRoom(ada);
  await joinRoom(bob, room.id);
  const a = await connectOk(wsPath(room.id), ada.token);
  await a.nextOfType("welcome");
  const b = await connectOk(wsPath(room.id), bob.token);
  await b.nextOfType("welcome");
  // Ada sees bob arrive; from here on both sockets are quiet.
  await a.next((f) => f.type === "presence" && f.userId === bob.user.id);
  return { roomId: room.id, ada, bob, a, b };
}

export function identityOf(user: TestUser): Identity {
  return { userId: user.user.id, role: user.user.role, name: user.user.name };
}

export function roomStub(roomId: string) {
  return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(roomId));
}

/**
 * The event storage inside a room object (inside `runInDurableObject`), for tests that do what
 * only the alarm or a future kind of event does: trim it, or append an event not meant for D1.
 */
export function eventStorageOf(instance: unknown): EventLog {
  return (instance as { kept: { opened: { log: { events: EventLog } } } }).kept.opened.log.events;
}

export async function postMessage(
  user: TestUser,
  roomId: string,
  text: string,
  headers?: Record<string, string>,
): Promise<Message> {
  const res = await call("POST", `/v1/rooms/${roomId}/messages`, {
    token: user.token,
    body: { text },
    ...(headers ? { headers } : {}),
  });
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message as Message;
}

/** What the room object holds: its log's range and how many events wait for D1 (its outbox). */
export async function roomStorage(
  roomId: string,
): Promise<{ firstSeq: number | null; lastSeq: number | null; events: number; outbox: number }> {
  return runInDurableObject(roomStub(roomId), (_instance, state) => {
    const log = state.storage.sql
      .exec<{ first: number | null; last: number | null; events: number }>(
        `SELECT MIN(seq) AS first, MAX(seq) AS last, COUNT(*) AS events FROM events`,
      )
      .one();
    // The events still to be copied: above the watermark, and meant for D1.
    const outbox = state.storage.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM events WHERE archive = 1 AND seq > COALESCE((SELECT value FROM log_meta WHERE key ` +
          `= 'flushed_through'), 0)`,
      )
      .one().n;
    return { firstSeq: log.first, lastSeq: log.last, events: log.events, outbox };
  });
}

/**
 * Runs the room's alarm until its outbox is empty. The alarm is a real one too (set
 * MESSAGE_ARCHIVE_DELAY_MS after a message), so it may already be running when we look; then
 * there is nothing to run and we look again until the deadline.
 */
export async function flushOutbox(roomId: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await runDurableObjectAlarm(roomStub(roomId));
    const { outbox } = await roomStorage(roomId);
    if (outbox === 0) return;
    if (Date.now() > deadline)
      throw new Error(`outbox of ${roomId} still holds ${outbox} events after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** D1's copy of a room's messages (in the room's chat shard), by seq. */
export async function archivedSeqs(roomId: string, table = "messages"): Promise<number[]> {
  const { results } = await chatShard(roomId)
    .prepare(`SELECT seq FROM ${table} WHERE room_id = ? ORDER BY seq`)
    .bind(roomId)
    .all<{ seq: number }>();
  return results.map((r) => r.seq);
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Resolves with the first frame received at or after index `from` that matches, without
 * moving the socket's cursor; rejects after `timeoutMs` or when the socket closes.
 */
export function frameAfter(
  socket: TestSocket,
  from: number,
  match: (frame: WireJson) => boolean,
  timeoutMs = 3_000,
): Promise<WireJson> {
  return new Promise((resolve, reject) => {
    const find = () => socket.frames.slice(from).find(match);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      socket.ws.removeEventListener("message", onEvent);
      socket.ws.removeEventListener("close", onEvent);
      settle();
    };
    const onEvent = () => {
      const frame = find();
      if (frame) done(() => resolve(frame));
      else if (socket.closed)
        done(() =>
          reject(
            new Error(
              `socket closed (${socket.closed?.code}) while waiting; frames: ` +
                `${JSON.stringify(socket.frames.slice(from))}`,
            ),
          ),
        );
    };
    const timer = setTimeout(
      () =>
        done(() =>
          reject(new Error(`timed out waiting for a frame; frames: ${JSON.stringify(socket.frames.slice(from))}`)),
        ),
      timeoutMs,
    );
    socket.ws.addEventListener("message", onEvent);
    socket.ws.addEventListener("close", onEvent);
    onEvent();
  });
}

/**
 * A round trip through the room object: once it returns, every frame the room sent this socket
 * before handling the probe has arrived. Returns the frames index after the probe's answer.
 */
let probes = 0;
export async function settle(socket: TestSocket): Promise<number> {
  const id = `probe-${probes++}`;
  const from = socket.frames.length;
  // A read mark of 0 never moves a mark, so the room only acknowledges it.
  socket.send({ type: "read", id, seq: 0 });
  await frameAfter(socket, from, (f) => f.type === "ack" && f.id === id);
  return socket.frames.length;
}

/** Frames of `type` among those received from index `from` on. */
export function framesOf(socket: TestSocket, type: string, from = 0): WireJson[] {
  return socket.frames.slice(from).filter((f) => f.type === type);
}
