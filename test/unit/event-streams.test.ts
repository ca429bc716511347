// The SSE streams a room keeps (src/rooms/fallbacks.ts): the prelude first, events as they
// come, a comment heartbeat every 15 s while a stream is open, and none once all are gone.
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventStreams, sseEvent } from "../../src/rooms/fallbacks";

const ada = { userId: "u_ada", role: "rider" as const, name: "Ada" };

async function readSome(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("EventStreams", () => {
  it("writes the prelude, then events, and a heartbeat comment every 15 s", async () => {
    vi.useFakeTimers();
    const ended: string[] = [];
    const streams = new EventStreams((identity) => ended.push(identity.userId));
    const response = streams.open(ada, { sid: "ses_1", expiresAt: Date.now() + 3_600_000 }, () => [sseEvent('{"type":"welcome","seq":3}', 3)]);
    expect(response.headers.get("Content-Type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    expect(await readSome(reader)).toBe('id: 3\ndata: {"type":"welcome","seq":3}\n\n');

    expect(streams.send(sseEvent('{"type":"typing"}'))).toBe(1);
    expect(await readSome(reader)).toBe('data: {"type":"typing"}\n\n');

    await vi.advanceTimersByTimeAsync(14_999);
    const beat = readSome(reader);
    await vi.advanceTimersByTimeAsync(1);
    expect(await beat).toBe(": heartbeat\n\n");

    // The client goes away: the stream is dropped, its end reported, and the timer stops.
    await reader.cancel();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toEqual(["u_ada"]);
    expect(streams.send(sseEvent("{}"))).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
