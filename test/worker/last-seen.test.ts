// Last seen (issue 22), through the public API: written as a user's connections open and close,
// and read as their privacy setting lets the caller (everyone, contacts: the users they share a
// direct conversation with, nobody); a user always sees their own, and a block hides it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardDatabase } from "../../src/db/shards";
import { registerAdmin } from "../helpers/admin";
import { call, connectOk, createRoom, registerUser, type TestUser } from "../helpers/api";
import { expectError, wsPath } from "../helpers/chat";
import { area, offset, onlineDriver, requestTrip, settle, waitFor } from "../helpers/dispatch";

const presence = (viewer: TestUser, userId: string) =>
  call("GET", `/v1/users/${userId}/presence`, { token: viewer.token });
const setPrivacy = (user: TestUser, lastSeen: unknown) =>
  call("PUT", "/v1/me/privacy", { token: user.token, body: { lastSeen } });

/** Opens and closes a socket of `user` in a room of theirs, then waits until their last seen is written. */
async function beSeen(user: TestUser): Promise<number> {
  return beSeenIn(user, (await createRoom(user)).id);
}

/** As `beSeen`, in room `roomId`; answers the last seen its close wrote. */
async function beSeenIn(user: TestUser, roomId: string): Promise<number> {
  const socket = await connectOk(wsPath(roomId), user.token);
  await socket.nextOfType("welcome");
  const before = Date.now();
  socket.close();
  await socket.waitClosed();
  return waitFor("last seen written", async () => {
    const res = await presence(user, user.user.id);
    const at = res.body.lastSeenAt as number | null;
    return at !== null && at >= before ? at : undefined;
  });
}

async function contacts(a: TestUser, b: TestUser): Promise<void> {
  const res = await call("POST", "/v1/rooms/direct", { token: a.token, body: { userId: b.user.id } });
  expect(res.status).toBe(201);
}

describe("last seen", () => {
  it("is null before the first connection, then the time a connection opened or closed", async () => {
    const ada = await registerUser();
    expect((await presence(ada, ada.user.id)).body).toEqual({ userId: ada.user.id, lastSeenAt: null });
    const at = await beSeen(ada);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it("is not written again by a reconnect within the minute, but a close always is", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const closedAt = await beSeenIn(ada, room.id);
    // A reconnect to the same room within the minute is not written (last seen is shown to the minute)...
    const again = await connectOk(wsPath(room.id), ada.token);
    await again.nextOfType("welcome");
    await settle(300);
    expect((await presence(ada, ada.user.id)).body.lastSeenAt).toBe(closedAt);
    // ...but its close is, so that last seen is right once the user has left.
    again.close();
    await again.waitClosed();
    await waitFor("the close written", async () => {
      const at = (await presence(ada, ada.user.id)).body.lastSeenAt as number;
      return at > closedAt ? at : undefined;
    });
  });

  it("is not written by a trip's sockets, only by chat rooms and the driver channel", async () => {
    const pickup = area(1);
    const driver = await onlineDriver(pickup);
    const rider = await registerUser();
    const trip = await requestTrip(rider, pickup, offset(pickup, 2));
    const socket = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
    await socket.nextOfType("welcome");
    socket.close();
    await socket.waitClosed();
    await settle(300);
    expect((await presence(rider, rider.user.id)).body.lastSeenAt).toBeNull();
    // The driver, connected on their channel, is seen.
    expect((await presence(rider, driver.user.id)).body.lastSeenAt).not.toBeNull();
    // The same rider in a chat room is.
    await beSeen(rider);
  });

  it("follows the setting: everyone, contacts, nobody; the user always sees their own", async () => {
    const ada = await registerUser("rider", "Ada");
    const contact = await registerUser();
    const stranger = await registerUser();
    await contacts(contact, ada);
    const at = await beSeen(ada);

    // The default is everyone.
    expect((await call("GET", "/v1/me/privacy", { token: ada.token })).body).toEqual({
      privacy: { lastSeen: "everyone" },
    });
    for (const viewer of [ada, contact, stranger])
      expect((await presence(viewer, ada.user.id)).body).toEqual({ userId: ada.user.id, lastSeenAt: at });

    const contactsOnly = await setPrivacy(ada, "contacts");
    expect(contactsOnly.status).toBe(200);
    expect(contactsOnly.body).toEqual({ privacy: { lastSeen: "contacts" } });
    expect((await presence(ada, ada.user.id)).body.lastSeenAt).toBe(at);
    expect((await presence(contact, ada.user.id)).body.lastSeenAt).toBe(at);
    // A stranger gets the answer of someone never seen: 200 and null, not an error.
    const hidden = await presence(stranger, ada.user.id);
    expect(hidden.status).toBe(200);
    expect(hidden.body).toEqual({ userId: ada.user.id, lastSeenAt: null });
    // Sharing a group room does not make a contact.
    const group = await createRoom(ada);
    expect((await call("POST", `/v1/rooms/${group.id}/join`, { token: stranger.token })).status).toBe(200);
    expect((await presence(stranger, ada.user.id)).body.lastSeenAt).toBeNull();

    expect((await setPrivacy(ada, "nobody")).status).toBe(200);
    expect((await presence(ada, ada.user.id)).body.lastSeenAt).toBe(at);
    expect((await presence(contact, ada.user.id)).body.lastSeenAt).toBeNull();
    expect((await presence(stranger, ada.user.id)).body.lastSeenAt).toBeNull();
    expect((await call("GET", "/v1/me/privacy", { token: ada.token })).body).toEqual({
      privacy: { lastSeen: "nobody" },
    });
  });

  it("is hidden from a user the owner blocks, whatever the setting", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    await contacts(ada, bob);
    await beSeen(ada);
    expect((await presence(bob, ada.user.id)).body.lastSeenAt).not.toBeNull();
    expect((await call("POST", "/v1/me/blocks", { token: ada.token, body: { userId: bob.user.id } })).status).toBe(201);
    expect((await presence(bob, ada.user.id)).body.lastSeenAt).toBeNull();
    // Bob's own block list does not hide Ada's from him the other way round: only the owner's blocks count.
    expect((await presence(ada, bob.user.id)).status).toBe(200);
  });

  it("refuses bad input, unknown users and callers without a token", async () => {
    const ada = await registerUser();
    for (const bad of ["friends", "", null, 3, undefined])
      expectError(await setPrivacy(ada, bad), 400, "invalid_request");
    expectError(await call("PUT", "/v1/me/privacy", { token: ada.token, body: {} }), 400, "invalid_request");
    expectError(await presence(ada, "usr_nobody"), 404, "not_found");
    expectError(await presence(ada, "bad id!"), 400, "invalid_request");
    expectError(await call("GET", `/v1/users/${ada.user.id}/presence`), 401, "unauthorized");
    expectError(await call("PUT", "/v1/me/privacy", { body: { lastSeen: "nobody" } }), 401, "unauthorized");
    // The setting did not change through any of those.
    expect((await call("GET", "/v1/me/privacy", { token: ada.token })).body).toEqual({
      privacy: { lastSeen: "everyone" },
    });
  });
});

describe("where last seen is kept", () => {
  const partitionRow = (userId: string) =>
    shardDatabase(env, "sessions", userId)
      .prepare(`SELECT at FROM last_seen WHERE user_id = ?1`)
      .bind(userId)
      .first<{ at: number }>();

  it("is written to the user's partition, not to DB's users row", async () => {
    const ada = await registerUser();
    const at = await beSeen(ada);
    expect(await partitionRow(ada.user.id)).toEqual({ at });
    const row = await env.DB.prepare(`SELECT last_seen_at FROM users WHERE id = ?1`).bind(ada.user.id).first();
    expect(row).toEqual({ last_seen_at: null });
  });

  it("still shows a time from before the partitions, until a later one is written", async () => {
    const ada = await registerUser();
    const viewer = await registerUser();
    const then = Date.now() - 3_600_000;
    await env.DB.prepare(`UPDATE users SET last_seen_at = ?2 WHERE id = ?1`).bind(ada.user.id, then).run();
    expect((await presence(viewer, ada.user.id)).body.lastSeenAt).toBe(then);
    const admin = await registerAdmin();
    const driver = await registerUser("driver", `Legacy ${Date.now()}`);
    await env.DB.prepare(`UPDATE users SET last_seen_at = ?2 WHERE id = ?1`).bind(driver.user.id, then).run();
    const listed = async () => {
      const res = await call("GET", `/v1/admin/drivers?q=${driver.user.id}`, { token: admin.token });
      expect(res.status).toBe(200);
      return res.body.drivers[0]?.lastSeenAt;
    };
    expect(await listed()).toBe(then);

    const now = await beSeen(ada);
    expect(now).toBeGreaterThan(then);
    expect((await presence(viewer, ada.user.id)).body.lastSeenAt).toBe(now);
    // The driver's channel writes the partition; the operators' list shows the later time.
    const seen = Date.now();
    await shardDatabase(env, "sessions", driver.user.id)
      .prepare(`INSERT INTO last_seen (user_id, at) VALUES (?1, ?2)`)
      .bind(driver.user.id, seen)
      .run();
    expect(await listed()).toBe(seen);
  });
});
