// The chat HTTP routes of API.md: rooms, membership, history paging and posting, with every
// error answered as `{ error: { code, message } }`.
import { describe, expect, it } from "vitest";
import { Message, Room } from "../../src/protocol/common";
import { RoomListItem } from "../../src/protocol/http";
import { call, connectOk, createRoom, joinRoom, registerUser, unique } from "../helpers/api";
import { expectError, postMessage } from "../helpers/chat";

const MessageBody = Message.strict();

describe("POST /v1/rooms", () => {
  it("creates a room whose creator is a member", async () => {
    const ada = await registerUser();
    const name = unique("lobby");
    const before = Date.now();
    const res = await call("POST", "/v1/rooms", { token: ada.token, body: { name } });
    expect(res.status).toBe(201);
    const room = Room.strict().parse(res.body.room);
    expect(room).toMatchObject({ name, private: false, createdBy: ada.user.id });
    expect(room.createdAt).toBeGreaterThanOrEqual(before);
    // A member may read and post without joining.
    expect((await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token })).status).toBe(200);
    await postMessage(ada, room.id, "first");
  });

  it("creates a private room", async () => {
    const ada = await registerUser();
    const res = await call("POST", "/v1/rooms", { token: ada.token, body: { name: unique("secret"), private: true } });
    expect(res.status).toBe(201);
    expect(res.body.room.private).toBe(true);
  });

  it("accepts a name of 100 characters and rejects '', blanks and 101 characters", async () => {
    const ada = await registerUser();
    const longest = "n".repeat(100);
    const ok = await call("POST", "/v1/rooms", { token: ada.token, body: { name: longest } });
    expect(ok.status).toBe(201);
    expect(ok.body.room.name).toBe(longest);
    for (const name of ["", "   ", "n".repeat(101)]) {
      const res = await call("POST", "/v1/rooms", { token: ada.token, body: { name } });
      expectError(res, 400, "invalid_request");
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "name" })]));
    }
  });

  it("rejects a body that is not a room: missing name, wrong types, not JSON", async () => {
    const ada = await registerUser();
    for (const body of [{}, { name: 42 }, { name: "ok", private: "yes" }, [], "null"]) {
      expectError(await call("POST", "/v1/rooms", { token: ada.token, body }), 400, "invalid_request");
    }
    for (const raw of ["not json", "{", ""]) {
      const res = await call("POST", "/v1/rooms", {
        token: ada.token,
        body: raw,
        headers: { "Content-Type": "application/json" },
      });
      expectError(res, 400, "invalid_request");
    }
  });

  it("answers 401 without a token or with a bad one", async () => {
    expectError(await call("POST", "/v1/rooms", { body: { name: "x" } }), 401, "unauthorized");
    expectError(await call("POST", "/v1/rooms", { token: "not-a-jwt", body: { name: "x" } }), 401, "unauthorized");
    expectError(
      await call("POST", "/v1/rooms", { body: { name: "x" }, headers: { Authorization: "Basic abc" } }),
      401,
      "unauthorized",
    );
  });
});

describe("GET /v1/rooms", () => {
  it("lists public rooms and the caller's private rooms only", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const adaPublic = await createRoom(ada);
    const adaPrivate = await createRoom(ada, { private: true });
    const bobPrivate = await createRoom(bob, { private: true });

    const forBob = await call("GET", "/v1/rooms", { token: bob.token });
    expect(forBob.status).toBe(200);
    const bobSees = (forBob.body.rooms as unknown[]).map((r) => RoomListItem.strict().parse(r));
    const bobIds = bobSees.map((r) => r.id);
    expect(bobIds).toContain(adaPublic.id);
    expect(bobIds).toContain(bobPrivate.id);
    expect(bobIds).not.toContain(adaPrivate.id);
    expect(bobSees.find((r) => r.id === adaPublic.id)).toEqual(adaPublic);
    // Every private room listed is one the caller belongs to.
    expect(bobSees.filter((r) => r.private).map((r) => r.id)).toEqual([bobPrivate.id]);

    const adaIds = ((await call("GET", "/v1/rooms", { token: ada.token })).body.rooms as Room[]).map((r) => r.id);
    expect(adaIds).toEqual(expect.arrayContaining([adaPublic.id, adaPrivate.id]));
    expect(adaIds).not.toContain(bobPrivate.id);
  });

  it("shows a private room once the caller has been added to it, once", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const secret = await createRoom(ada, { private: true });
    expect(
      ((await call("GET", "/v1/rooms", { token: bob.token })).body.rooms as Room[]).map((r) => r.id),
    ).not.toContain(secret.id);
    expect(
      (await call("POST", `/v1/rooms/${secret.id}/members`, { token: ada.token, body: { userId: bob.user.id } }))
        .status,
    ).toBe(200);
    const ids = ((await call("GET", "/v1/rooms", { token: bob.token })).body.rooms as Room[]).map((r) => r.id);
    expect(ids.filter((id) => id === secret.id)).toHaveLength(1);
  });

  it("lists newest first", async () => {
    const ada = await registerUser();
    const older = await createRoom(ada);
    const newer = await createRoom(ada);
    const rooms = (await call("GET", "/v1/rooms", { token: ada.token })).body.rooms as Room[];
    for (let i = 1; i < rooms.length; i++) expect(rooms[i - 1]!.createdAt).toBeGreaterThanOrEqual(rooms[i]!.createdAt);
    // Two rooms made in the same millisecond may come in either order.
    if (newer.createdAt > older.createdAt) {
      expect(rooms.findIndex((r) => r.id === newer.id)).toBeLessThan(rooms.findIndex((r) => r.id === older.id));
    }
  });

  it("answers 401 without a token", async () => {
    expectError(await call("GET", "/v1/rooms"), 401, "unauthorized");
  });
});

describe("POST /v1/rooms/:id/join", () => {
  it("joins a public room, and joining again is harmless", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    expectError(await call("GET", `/v1/rooms/${room.id}/messages`, { token: bob.token }), 403, "forbidden");
    const res = await call("POST", `/v1/rooms/${room.id}/join`, { token: bob.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ room });
    expect((await call("POST", `/v1/rooms/${room.id}/join`, { token: bob.token })).status).toBe(200);
    const message = await postMessage(bob, room.id, "hi from bob");
    expect(message.userId).toBe(bob.user.id);
  });

  it("answers 403 for a private room and 404 for an unknown one", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const secret = await createRoom(ada, { private: true });
    expectError(await call("POST", `/v1/rooms/${secret.id}/join`, { token: bob.token }), 403, "forbidden");
    // The refusal made bob nothing.
    expectError(await call("GET", `/v1/rooms/${secret.id}/messages`, { token: bob.token }), 403, "forbidden");
    expectError(await call("POST", `/v1/rooms/room_doesnotexist/join`, { token: bob.token }), 404, "not_found");
  });

  it("lets a member of a private room call join", async () => {
    const ada = await registerUser();
    const secret = await createRoom(ada, { private: true });
    expect((await call("POST", `/v1/rooms/${secret.id}/join`, { token: ada.token })).status).toBe(200);
  });

  it("rejects a malformed room id with 400 and answers 401 without a token", async () => {
    const ada = await registerUser();
    expectError(await call("POST", `/v1/rooms/${"x".repeat(65)}/join`, { token: ada.token }), 400, "invalid_request");
    expectError(await call("POST", `/v1/rooms/a.b/join`, { token: ada.token }), 400, "invalid_request");
    expectError(await call("POST", `/v1/rooms/room_x/join`), 401, "unauthorized");
  });
});

describe("GET /v1/rooms/:id/members", () => {
  it("lists the members with their names in the order they joined, to members only", async () => {
    const ada = await registerUser("rider", "Ada");
    const bob = await registerUser("driver", "Bob");
    const eve = await registerUser("rider", "Eve");
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const res = await call("GET", `/v1/rooms/${room.id}/members`, { token: bob.token });
    expect(res.status).toBe(200);
    expect(res.body.members).toEqual([
      { userId: ada.user.id, name: "Ada", joinedAt: expect.any(Number), role: "owner" },
      { userId: bob.user.id, name: "Bob", joinedAt: expect.any(Number), role: "member" },
    ]);
    expectError(await call("GET", `/v1/rooms/${room.id}/members`, { token: eve.token }), 403, "forbidden");
    expectError(await call("GET", `/v1/rooms/room_nope/members`, { token: eve.token }), 404, "not_found");
  });
});

describe("POST /v1/rooms/:id/members", () => {
  it("adds a member to a private room, who may then read, post and connect", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const secret = await createRoom(ada, { private: true });
    await postMessage(ada, secret.id, "before bob");
    const res = await call("POST", `/v1/rooms/${secret.id}/members`, {
      token: ada.token,
      body: { userId: bob.user.id },
    });
    expect(res.status).toBe(200);
    const history = await call("GET", `/v1/rooms/${secret.id}/messages`, { token: bob.token });
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m: Message) => m.text)).toEqual(["before bob"]);
    await postMessage(bob, secret.id, "hello");
    const socket = await connectOk(`/v1/rooms/${secret.id}/ws`, bob.token);
    const welcome = await socket.nextOfType("welcome");
    expect(welcome.members).toEqual(expect.arrayContaining([ada.user.id, bob.user.id]));
    socket.close();
    // Adding again is harmless; the new member may add others too.
    expect(
      (await call("POST", `/v1/rooms/${secret.id}/members`, { token: ada.token, body: { userId: bob.user.id } }))
        .status,
    ).toBe(200);
    const cy = await registerUser();
    expect(
      (await call("POST", `/v1/rooms/${secret.id}/members`, { token: bob.token, body: { userId: cy.user.id } })).status,
    ).toBe(200);
  });

  it("answers 403 to a non-member, also of a public room", async () => {
    const ada = await registerUser();
    const eve = await registerUser();
    const mallory = await registerUser();
    for (const room of [await createRoom(ada, { private: true }), await createRoom(ada)]) {
      const res = await call("POST", `/v1/rooms/${room.id}/members`, {
        token: eve.token,
        body: { userId: mallory.user.id },
      });
      expectError(res, 403, "forbidden");
      // Eve cannot add herself either.
      expectError(
        await call("POST", `/v1/rooms/${room.id}/members`, { token: eve.token, body: { userId: eve.user.id } }),
        403,
        "forbidden",
      );
    }
  });

  it("answers 404 for an unknown user or room and 400 for a bad body", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada, { private: true });
    expectError(
      await call("POST", `/v1/rooms/${room.id}/members`, { token: ada.token, body: { userId: "usr_nobody" } }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/v1/rooms/room_nowhere/members`, { token: ada.token, body: { userId: ada.user.id } }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/v1/rooms/${room.id}/members`, { token: ada.token, body: {} }),
      400,
      "invalid_request",
    );
    expectError(
      await call("POST", `/v1/rooms/${room.id}/members`, { token: ada.token, body: { userId: "" } }),
      400,
      "invalid_request",
    );
    expectError(
      await call("POST", `/v1/rooms/${room.id}/members`, { token: ada.token, body: "{nope" }),
      400,
      "invalid_request",
    );
    expectError(
      await call("POST", `/v1/rooms/${room.id}/members`, { body: { userId: ada.user.id } }),
      401,
      "unauthorized",
    );
  });
});

describe("POST /v1/rooms/:id/messages", () => {
  it("stores a message and answers 201 with it", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const before = Date.now();
    const res = await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text: "hello" } });
    expect(res.status).toBe(201);
    const message = MessageBody.parse(res.body.message);
    expect(message).toMatchObject({ roomId: room.id, seq: 1, userId: ada.user.id, text: "hello" });
    expect(message.createdAt).toBeGreaterThanOrEqual(before);
    const second = await postMessage(ada, room.id, "again");
    expect(second.seq).toBe(2);
    expect(second.id).not.toBe(message.id);
  });

  it("accepts 1 and 4000 characters and rejects '', blanks and 4001 characters", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    expect((await postMessage(ada, room.id, "a")).text).toBe("a");
    const longest = "é".repeat(4000);
    expect((await postMessage(ada, room.id, longest)).text).toBe(longest);
    for (const text of ["", "  \n\t ", "x".repeat(4001)]) {
      const res = await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text } });
      expectError(res, 400, "invalid_request");
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "text" })]));
    }
    for (const body of [{}, { text: 5 }, { text: null }]) {
      expectError(
        await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body }),
        400,
        "invalid_request",
      );
    }
    for (const raw of ["hello", '{"text":', "<xml/>"]) {
      expectError(
        await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: raw }),
        400,
        "invalid_request",
      );
    }
    // Nothing rejected was stored.
    const history = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
    expect(history.body.messages.map((m: Message) => m.seq)).toEqual([2, 1]);
  });

  it("answers 413 for a body over the size limit", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const res = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "x".repeat(70_000) },
    });
    expectError(res, 413, "payload_too_large");
  });

  it(
    "returns the first message for a repeated Idempotency-Key, " +
      "refuses it for another text, and never stores a second",
    async () => {
      const ada = await registerUser();
      const bob = await registerUser();
      const room = await createRoom(ada);
      await joinRoom(bob, room.id);
      const key = unique("key");
      const first = await call("POST", `/v1/rooms/${room.id}/messages`, {
        token: ada.token,
        body: { text: "once" },
        headers: { "Idempotency-Key": key },
      });
      expect(first.status).toBe(201);
      const again = await call("POST", `/v1/rooms/${room.id}/messages`, {
        token: ada.token,
        body: { text: "once" },
        headers: { "Idempotency-Key": key },
      });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      const reused = await call("POST", `/v1/rooms/${room.id}/messages`, {
        token: ada.token,
        body: { text: "a different text" },
        headers: { "Idempotency-Key": key },
      });
      expectError(reused, 409, "conflict");
      // The key belongs to ada: bob's post with the same key is a message of its own.
      const bobs = await postMessage(bob, room.id, "bob's", { "Idempotency-Key": key });
      expect(bobs.seq).toBe(first.body.message.seq + 1);
      const history = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
      expect(history.body.messages.map((m: Message) => m.text)).toEqual(["bob's", "once"]);
      // Without a key every post is a new message.
      await postMessage(ada, room.id, "same");
      await postMessage(ada, room.id, "same");
      expect((await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token })).body.messages).toHaveLength(4);
    },
  );

  it("rejects an Idempotency-Key longer than 128 characters", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const res = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "x" },
      headers: { "Idempotency-Key": "k".repeat(129) },
    });
    expectError(res, 400, "invalid_request");
  });

  it("answers 403 to a non-member, 404 for an unknown room and 401 without a token", async () => {
    const ada = await registerUser();
    const eve = await registerUser();
    const room = await createRoom(ada);
    const secret = await createRoom(ada, { private: true });
    expectError(
      await call("POST", `/v1/rooms/${room.id}/messages`, { token: eve.token, body: { text: "hi" } }),
      403,
      "forbidden",
    );
    expectError(
      await call("POST", `/v1/rooms/${secret.id}/messages`, { token: eve.token, body: { text: "hi" } }),
      403,
      "forbidden",
    );
    expectError(
      await call("POST", `/v1/rooms/room_unknown/messages`, { token: eve.token, body: { text: "hi" } }),
      404,
      "not_found",
    );
    expectError(await call("POST", `/v1/rooms/${room.id}/messages`, { body: { text: "hi" } }), 401, "unauthorized");
    expect((await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token })).body.messages).toEqual([]);
  });
});

/** The receipts of messages nobody but their sender has had. */
const receiptsOf = (messages: Message[]) => messages.map((m) => ({ seq: m.seq, deliveredTo: 0, readBy: 0 }));

describe("GET /v1/rooms/:id/messages", () => {
  it("pages newest first with before, limit and nextBefore", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const posted: Message[] = [];
    for (let i = 1; i <= 7; i++) posted.push(await postMessage(ada, room.id, `m${i}`));

    const all = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
    expect(all.status).toBe(200);
    // Ada is the room's only member: her messages reached nobody else yet (docs/API.md, "Delivery state").
    expect(all.body).toEqual({
      messages: [...posted].reverse(),
      nextBefore: null,
      // The room's newest seq when the page was read, for a client that compares it with a welcome.
      seq: 7,
      receipts: receiptsOf([...posted].reverse()),
    });

    const seen: number[] = [];
    let before: number | null | undefined;
    let pages = 0;
    do {
      const query = before === undefined ? "?limit=3" : `?limit=3&before=${before}`;
      const page = await call("GET", `/v1/rooms/${room.id}/messages${query}`, { token: ada.token });
      expect(page.status).toBe(200);
      const seqs = page.body.messages.map((m: Message) => m.seq);
      expect(seqs.length).toBeLessThanOrEqual(3);
      expect(page.body.nextBefore).toBe(page.body.nextBefore === null ? null : seqs.at(-1));
      seen.push(...seqs);
      before = page.body.nextBefore;
      pages++;
    } while (before !== null && pages < 10);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(pages).toBe(3);

    // A page that ends exactly at the oldest message says there is no next one.
    const lastPage = await call("GET", `/v1/rooms/${room.id}/messages?before=4&limit=3`, { token: ada.token });
    expect(lastPage.body).toEqual({
      messages: posted.slice(0, 3).reverse(),
      nextBefore: null,
      seq: 7,
      receipts: receiptsOf(posted.slice(0, 3).reverse()),
    });
    const fromMiddle = await call("GET", `/v1/rooms/${room.id}/messages?before=5&limit=2`, { token: ada.token });
    expect(fromMiddle.body.messages.map((m: Message) => m.seq)).toEqual([4, 3]);
    expect(fromMiddle.body.nextBefore).toBe(3);
    expect((await call("GET", `/v1/rooms/${room.id}/messages?before=1`, { token: ada.token })).body).toEqual({
      messages: [],
      nextBefore: null,
      seq: 7,
      receipts: [],
    });
    expect((await call("GET", `/v1/rooms/${room.id}/messages?before=1000&limit=1`, { token: ada.token })).body).toEqual(
      { messages: [posted[6]], nextBefore: 7, seq: 7, receipts: receiptsOf([posted[6]!]) },
    );
  });

  it("accepts limits 1 and 100 and defaults to 50", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    for (let i = 1; i <= 55; i++) await postMessage(ada, room.id, `m${i}`);
    const one = await call("GET", `/v1/rooms/${room.id}/messages?limit=1`, { token: ada.token });
    expect(one.body.messages.map((m: Message) => m.seq)).toEqual([55]);
    expect(one.body.nextBefore).toBe(55);
    const hundred = await call("GET", `/v1/rooms/${room.id}/messages?limit=100`, { token: ada.token });
    expect(hundred.body.messages).toHaveLength(55);
    expect(hundred.body.nextBefore).toBeNull();
    const byDefault = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
    expect(byDefault.body.messages).toHaveLength(50);
    expect(byDefault.body.nextBefore).toBe(6);
  });

  it("rejects limits outside 1..100 and bad cursors with 400", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    for (const query of [
      "limit=0",
      "limit=101",
      "limit=-1",
      "limit=1.5",
      "limit=abc",
      "before=0",
      "before=-3",
      "before=x",
    ]) {
      const res = await call("GET", `/v1/rooms/${room.id}/messages?${query}`, { token: ada.token });
      expectError(res, 400, "invalid_request");
    }
  });

  it("answers 403 to a non-member, 404 for an unknown room and 401 without a token", async () => {
    const ada = await registerUser();
    const eve = await registerUser();
    const room = await createRoom(ada);
    const secret = await createRoom(ada, { private: true });
    expectError(await call("GET", `/v1/rooms/${room.id}/messages`, { token: eve.token }), 403, "forbidden");
    expectError(await call("GET", `/v1/rooms/${secret.id}/messages`, { token: eve.token }), 403, "forbidden");
    expectError(await call("GET", `/v1/rooms/room_unknown/messages`, { token: eve.token }), 404, "not_found");
    expectError(await call("GET", `/v1/rooms/${room.id}/messages`), 401, "unauthorized");
  });
});

describe("unknown routes", () => {
  it("answers 404 not_found", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    expectError(await call("GET", "/v1/nothing-here", { token: ada.token }), 404, "not_found");
    expectError(await call("GET", "/nothing", {}), 404, "not_found");
    expectError(await call("GET", `/v1/rooms/${room.id}/unknown`, { token: ada.token }), 404, "not_found");
    expectError(await call("DELETE", `/v1/rooms/${room.id}`, { token: ada.token }), 404, "not_found");
    expectError(
      await call("PUT", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text: "x" } }),
      404,
      "not_found",
    );
  });
});
