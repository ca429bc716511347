/**
 * An SSE stream whose client stops reading (README, "Security"): the room object does not
 * buffer it without bound. Past SSE_MAX_BUFFERED_BYTES unread, the stream ends with an
 * `error` frame (code `slow_consumer`, the newest seq it was given), the user counts as gone,
 * and a reconnect with Last-Event-ID replays what was missed.
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createRoom, joinRoom, registerUser } from "../helpers/api";
import { identityOf, roomStub } from "../helpers/chat";

const openStream = (roomId: string, token: string, lastEventId?: string) =>
  exports.default.fetch(`http://ridewire.test/v1/rooms/${roomId}/events`, {
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: "text/event-stream",
      ...(lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId }),
    },
  });

describe("SSE slow consumers", () => {
  it("cuts off a stream that is never read once it falls behind the bound, and lets it resume", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(bob);
    await joinRoom(ada, room.id);
    const stream = await openStream(room.id, ada.token);
    expect(stream.status).toBe(200);

    // Bob writes 4 KB messages while Ada's stream reads nothing: about four times the bound.
    const bound = Number(env.SSE_MAX_BUFFERED_BYTES);
    const count = Math.ceil((4 * bound) / 4_000);
    const online = await runInDurableObject(roomStub(room.id), async (instance) => {
      const seen: boolean[] = [];
      for (let i = 0; i < count; i++) {
        const result = await instance.postMessage(identityOf(bob), `${i} `.padEnd(4_000, "x"));
        if (!result.ok) throw new Error(JSON.stringify(result.error));
        if (i % 50 === 0)
          seen.push((instance as unknown as { isOnline(userId: string): boolean }).isOnline(ada.user.id));
      }
      seen.push((instance as unknown as { isOnline(userId: string): boolean }).isOnline(ada.user.id));
      return seen;
    });
    // She counted as online at first, and no longer once her stream was cut off.
    expect(online[0]).toBe(true);
    expect(online.at(-1)).toBe(false);

    // Reading now: what the stream held, then the frame that says where to resume, then the end.
    const text = await stream.text();
    const events = text.trim().split("\n\n");
    const last = events.at(-1)!;
    expect(last.startsWith("data: ")).toBe(true);
    const frame = JSON.parse(last.slice("data: ".length));
    expect(frame).toMatchObject({ type: "error", code: "slow_consumer", seq: expect.any(Number) });
    const ids = events
      .map((e) => /^id: (\d+)$/m.exec(e)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number);
    expect(ids.at(-1)).toBe(frame.seq);
    expect(frame.seq).toBeLessThan(count);
    expect(text.length).toBeLessThan(2 * bound);

    // Resuming from the last id replays the rest from the log, gaplessly. A replay is bounded
    // the same way, so catching up on more than the bound takes a few resumes.
    let cursor = frame.seq as number;
    const replayed: number[] = [];
    for (let resumes = 0; resumes < 20 && cursor < count; resumes++) {
      const resumed = await openStream(room.id, ada.token, String(cursor));
      const reader = resumed.body!.getReader();
      let replay = "";
      while (!replay.includes('"type":"synced"') && !replay.includes('"code":"slow_consumer"')) {
        const { value, done } = await reader.read();
        if (done) break;
        replay += new TextDecoder().decode(value);
      }
      await reader.cancel();
      const ids = [...replay.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      replayed.push(...ids);
      cursor = ids.at(-1) ?? cursor;
    }
    expect(replayed).toEqual(Array.from({ length: count - frame.seq }, (_, i) => frame.seq + 1 + i));
    const history = await call("GET", `/v1/rooms/${room.id}/messages?limit=1`, { token: ada.token });
    expect(history.body.messages[0].seq).toBe(count);
  }, 60_000);
});
