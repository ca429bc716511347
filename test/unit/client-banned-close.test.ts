// The client SDK and a ban: a socket the server closes with 4004 (src/rooms/disconnect.ts), or
// with 4403 (no longer a member of the room), ends the connection for good, where any other
// close reconnects.
import { describe, expect, it } from "vitest";
import { RidewireClient } from "@ridewire/client";
import type { SocketLike } from "@ridewire/client";

type Listener = (event: never) => void;

/** A WebSocket that does nothing until the test closes it from the "server" side. */
class FakeSocket implements SocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  private readonly listeners = new Map<string, Listener[]>();
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  serverCloses(code: number, reason: string): void {
    this.readyState = 3;
    for (const listener of this.listeners.get("close") ?? [])
      (listener as (e: { code: number; reason: string }) => void)({ code, reason });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connectionClosedWith(code: number) {
  FakeSocket.made = [];
  const api = new RidewireClient({
    baseUrl: "http://ridewire.test",
    token: "t",
    fetch: async () => new Response("{}", { status: 200 }),
  });
  const room = api.room("room_1", {
    WebSocket: FakeSocket,
    backoff: { initialDelayMs: 1, maxDelayMs: 1 },
    heartbeat: false,
  });
  const closed: string[] = [];
  const disconnects: (number | undefined)[] = [];
  room.on("closed", (e) => closed.push(e.reason));
  room.on("disconnect", (e) => disconnects.push(e.code));
  await sleep(20);
  const reason = code === 4004 ? "banned" : code === 4403 ? "removed from the room" : "server restart";
  FakeSocket.made[0]?.serverCloses(code, reason);
  await sleep(100);
  const result = {
    state: room.state,
    closed: [...closed],
    disconnects: [...disconnects],
    sockets: FakeSocket.made.length,
  };
  room.close();
  return result;
}

describe("a banned account's socket", () => {
  it("closes the connection for good on 4004", async () => {
    expect(await connectionClosedWith(4004)).toEqual({
      state: "closed",
      closed: ["banned"],
      disconnects: [4004],
      sockets: 1,
    });
  });

  it("and on 4403, when the user is no longer a member of the room", async () => {
    expect(await connectionClosedWith(4403)).toEqual({
      state: "closed",
      closed: ["removed from the room"],
      disconnects: [4403],
      sockets: 1,
    });
  });

  it("while any other close reconnects", async () => {
    const result = await connectionClosedWith(1011);
    expect(result.closed).toEqual([]);
    expect(result.sockets).toBeGreaterThan(1);
  });
});
