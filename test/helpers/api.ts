/**
 * Test helpers for the Workers runtime: HTTP calls against the Worker, users, rooms, and
 * WebSocket clients with waits that reject after a timeout instead of hanging.
 */
import { exports } from "cloudflare:workers";
import type { Role, Room, User } from "../../src/protocol/common";

const BASE = "http://ridewire.test";

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export type TestUser = { user: User; token: string; refreshToken?: string };

/**
 * JSON the Worker sent, as a test reads it: an HTTP body from `call` or a frame on a TestSocket.
 * Tests take it apart freely and check it with `expect`, which checks at run time what a static
 * type would only claim; where a test needs the shape, it names a type from src/protocol (or
 * parses with its schema). This alias is the one `any` under test/: it keeps the ~500 reads of
 * bodies and frames from each needing a cast.
 */
// biome-ignore lint/suspicious/noExplicitAny: unchecked wire JSON, asserted with expect() at run time (see above)
export type WireJson = any;

export async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await exports.default.fetch(`${BASE}${path}`, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await res.text();
  let json: WireJson = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

/** What a test rider's wallet starts with (minor units): trips hold their fare on it, 402 without. */
export const TEST_RIDER_FUNDS = 50_000;

/**
 * A new user. A rider's wallet is topped up with `funds` (TEST_RIDER_FUNDS unless given; 0 for
 * an empty wallet) through the sandbox payment provider, the same way a real rider pays in.
 */
export async function registerUser(
  role: Role = "rider",
  name = "Test User",
  options: { funds?: number } = {},
): Promise<TestUser> {
  const res = await call("POST", "/v1/auth/register", {
    body: { email: `${unique("u")}@example.com`, password: "password123", name, role },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  const user = res.body as TestUser;
  const funds = options.funds ?? (role === "rider" ? TEST_RIDER_FUNDS : 0);
  if (funds > 0) await topUp(user, funds);
  return user;
}

/** Tops the rider's wallet up through the sandbox provider; returns the top-up. */
export async function topUp(rider: TestUser, amount: number, key = unique("topup")) {
  const res = await call("POST", "/v1/wallet/top-ups", {
    token: rider.token,
    body: { amount: { amount, currency: "USD" } },
    headers: { "Idempotency-Key": key },
  });
  if (res.status !== 201) throw new Error(`top-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.topUp;
}

export async function createRoom(owner: TestUser, options: { private?: boolean; name?: string } = {}): Promise<Room> {
  const res = await call("POST", "/v1/rooms", {
    token: owner.token,
    body: { name: options.name ?? unique("room"), private: options.private ?? false },
  });
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room as Room;
}

export async function joinRoom(user: TestUser, roomId: string): Promise<void> {
  const res = await call("POST", `/v1/rooms/${roomId}/join`, { token: user.token });
  if (res.status !== 200) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A connected test socket that records every frame and can wait for the next matching one. */
export class TestSocket {
  readonly frames: WireJson[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(String(event.data)));
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Resolves with the next frame (after those already taken) that matches; rejects after `timeoutMs`. */
  async next(match: (frame: WireJson) => boolean = () => true, timeoutMs = 3_000): Promise<WireJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++];
        if (match(frame)) return frame;
      }
      if (this.closed)
        throw new Error(`socket closed (${this.closed.code}) while waiting; frames: ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  nextOfType(type: string, timeoutMs?: number) {
    return this.next((f) => f.type === type, timeoutMs);
  }

  async waitClosed(timeoutMs = 3_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("timed out waiting for close");
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closed;
  }

  close(code = 1000) {
    try {
      this.ws.close(code);
    } catch {
      // already closed
    }
  }
}

export async function connect(path: string, options: { token?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { Upgrade: "websocket", ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await exports.default.fetch(`${BASE}${path}`, { headers });
  if (!res.webSocket) return { status: res.status, body: await res.json().catch(() => null), socket: null };
  res.webSocket.accept();
  return { status: res.status, body: null, socket: new TestSocket(res.webSocket) };
}

export async function connectOk(path: string, token: string): Promise<TestSocket> {
  const res = await connect(path, { token });
  if (!res.socket) throw new Error(`upgrade refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.socket;
}

/**
 * An error body without its trace id (each request has its own): for tests that check two
 * answers are the same, so that a refusal tells nothing about what exists.
 */
export function withoutTraceId(body: WireJson): WireJson {
  if (typeof body !== "object" || body === null || typeof body.error !== "object") return body;
  const { traceId: _traceId, ...error } = body.error;
  return { ...body, error };
}
