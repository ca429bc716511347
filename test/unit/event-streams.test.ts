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
    const response = streams.open(
      ada,
      { sid: "ses_1", expiresAt: Date.now() + 3_600_000 },
      () => [sseEvent('{"type":"welcome","seq":3}', 3)],
      1 << 20,
    );
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

  it(
    "cuts off a reader that never reads once it leaves the bound unread, " +
      "with a slow_consumer frame naming its last seq",
    async () => {
      const ended: string[] = [];
      const streams = new EventStreams((identity) => ended.push(identity.userId));
      const bound = 4_096;
      const response = streams.open(
        ada,
        { sid: "ses_1", expiresAt: Date.now() + 3_600_000 },
        () => [sseEvent('{"type":"welcome","seq":0}', 0)],
        bound,
      );
      const event = (seq: number) => sseEvent(JSON.stringify({ type: "message", seq, text: "x".repeat(200) }), seq);
      const perEvent = new TextEncoder().encode(event(1)).length;
      let seq = 0;
      // Nobody reads: the stream takes events until the bound, then is dropped and reported ended.
      while (streams.send(event(++seq)) === 1 && seq < 1_000) await Promise.resolve();
      const lastWritten = seq - 1;
      expect(lastWritten).toBeGreaterThan(0);
      // The stream's own queue may take one chunk off the count (a TransformStream holds one).
      expect(lastWritten * perEvent).toBeLessThanOrEqual(bound + perEvent);
      expect((lastWritten + 1) * perEvent).toBeGreaterThan(bound - perEvent);
      expect(ended).toEqual(["u_ada"]);
      expect(streams.send(event(++seq))).toBe(0);

      // What it held is still handed over, ending with the frame that says where to resume.
      const text = await new Response(response.body).text();
      const frames = text.trim().split("\n\n");
      expect(frames).toHaveLength(lastWritten + 2);
      expect(frames.at(-1)).toBe(
        `data: ${JSON.stringify({
          type: "error",
          code: "slow_consumer",
          message: "this stream fell too far behind; " + "reconnect with your Last-Event-ID to resume",
          seq: lastWritten,
        })}`,
      );
    },
  );

  it("keeps a reader that keeps up, however much goes through", async () => {
    const streams = new EventStreams(() => undefined);
    const response = streams.open(ada, { sid: "ses_1", expiresAt: Date.now() + 3_600_000 }, () => [], 4_096);
    const reader = response.body!.getReader();
    for (let seq = 1; seq <= 200; seq++) {
      expect(streams.send(sseEvent(JSON.stringify({ type: "message", seq, text: "y".repeat(200) }), seq))).toBe(1);
      expect(await readSome(reader)).toContain(`id: ${seq}\n`);
    }
    await reader.cancel();
  });
});
