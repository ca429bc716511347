import { describe, expect, it } from "vitest";
import { call, connectOk, createRoom, registerUser } from "../helpers/api";

describe("smoke", () => {
  it("serves health and a room socket", async () => {
    expect((await call("GET", "/health")).body).toEqual({ ok: true, version: expect.any(String) });
    const ada = await registerUser();
    const room = await createRoom(ada);
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    const welcome = await socket.nextOfType("welcome");
    expect(welcome.seq).toBe(0);
    socket.send({ type: "message", id: "m1", text: "hello" });
    expect(await socket.nextOfType("ack")).toEqual({ type: "ack", id: "m1", seq: 1 });
    socket.close();
  });
});
