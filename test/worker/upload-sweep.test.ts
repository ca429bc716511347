// Upload hygiene (issue 22): a chat upload that no message carries within UPLOAD_UNATTACHED_TTL_MS
// is deleted by the room's alarm (record and R2 bytes: its download 404s), while one a message
// carries stays; and a member's unattached bytes in a room (URLs not used yet count as declared)
// are capped at UPLOAD_PENDING_MAX_BYTES: the next upload URL is refused with 429
// `upload_quota_exceeded` until a message carries some, or the sweep takes them. Time is moved
// by back-dating the room's records of its uploads, then running its alarm, as it would a day later.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { call, createRoom, joinRoom, registerUser, type TestUser } from "../helpers/api";
import { expectError, roomStub } from "../helpers/chat";
import { pngBytes } from "../helpers/files";

const config = loadConfig(env);
const TTL = config.UPLOAD_UNATTACHED_TTL_MS;
const QUOTA = config.UPLOAD_PENDING_MAX_BYTES;
const MAX_FILE = config.ATTACHMENT_MAX_BYTES;

const requestUpload = (user: TestUser, roomId: string, size: number) =>
  call("POST", `/v1/rooms/${roomId}/attachments`, {
    token: user.token,
    body: { filename: "photo.png", contentType: "image/png", size },
  });

/** Asks for an upload URL for a small PNG and PUTs it; answers the stored upload's key. */
async function uploadPng(user: TestUser, roomId: string, seed: number): Promise<{ key: string; size: number }> {
  const png = pngBytes(32, 32, seed);
  const grant = await requestUpload(user, roomId, png.length);
  expect(grant.status).toBe(201);
  const res = await exports.default.fetch(grant.body.uploadUrl, {
    method: "PUT",
    headers: { "Content-Type": "image/png" },
    body: png,
  });
  expect(res.status).toBe(201);
  return { key: grant.body.key, size: png.length };
}

const download = (user: TestUser, roomId: string, key: string) =>
  exports.default.fetch(`http://ridewire.test/v1/rooms/${roomId}/attachments/${key.split("/").pop()}`, {
    headers: { Authorization: `Bearer ${user.token}` },
  });

async function expectGone(user: TestUser, roomId: string, key: string): Promise<void> {
  const res = await download(user, roomId, key);
  expectError({ status: res.status, body: await res.json() }, 404, "not_found");
}

const postWith = (user: TestUser, roomId: string, key: string) =>
  call("POST", `/v1/rooms/${roomId}/messages`, { token: user.token, body: { attachments: [{ key }] } });

/** Moves the room's uploads `byMs` into the past, then runs its alarm, as if that time had passed. */
async function ageUploadsAndRunAlarm(roomId: string, byMs: number): Promise<void> {
  await runInDurableObject(roomStub(roomId), (_instance, state) => {
    state.storage.sql.exec(`UPDATE uploads SET created_at = created_at - ?`, byMs);
  });
  expect(await runDurableObjectAlarm(roomStub(roomId))).toBe(true);
}

async function roomOf() {
  const ada = await registerUser("rider", "Ada");
  const bob = await registerUser("rider", "Bob");
  const room = await createRoom(ada);
  await joinRoom(bob, room.id);
  return { ada, bob, roomId: room.id };
}

describe("unattached uploads", () => {
  it("are deleted after the TTL (the download 404s, the bytes leave R2) while attached ones stay", async () => {
    const { ada, bob, roomId } = await roomOf();
    const unsent = await uploadPng(ada, roomId, 1);
    const sent = await uploadPng(ada, roomId, 2);
    expect((await postWith(ada, roomId, sent.key)).status).toBe(201);
    // A URL asked for and never used goes too.
    const unused = await requestUpload(ada, roomId, 100);
    expect(unused.status).toBe(201);

    // Not yet due: an alarm before the TTL leaves everything.
    await ageUploadsAndRunAlarm(roomId, TTL - 60_000);
    expect((await download(bob, roomId, unsent.key)).status).toBe(200);
    expect(await env.FILES.head(unsent.key)).not.toBeNull();

    await ageUploadsAndRunAlarm(roomId, 120_000);
    await expectGone(bob, roomId, unsent.key);
    expect(await env.FILES.head(unsent.key)).toBeNull();
    // The swept key cannot be sent any more, and the unused URL no longer uploads.
    expectError(await postWith(ada, roomId, unsent.key), 403, "forbidden");
    const late = await exports.default.fetch(unused.body.uploadUrl, {
      method: "PUT",
      headers: { "Content-Type": "image/png" },
      body: pngBytes(8, 8, 3),
    });
    expect(late.status).toBe(409);

    const kept = await download(bob, roomId, sent.key);
    expect(kept.status).toBe(200);
    expect((await kept.arrayBuffer()).byteLength).toBe(sent.size);
    expect(await env.FILES.head(sent.key)).not.toBeNull();
  });

  it("cap a member's unattached bytes per room; a message carrying them or the sweep frees the quota", async () => {
    const { ada, bob, roomId } = await roomOf();
    const photo = await uploadPng(ada, roomId, 4);
    // Declared sizes of URLs not used yet count: fill the quota with the largest files allowed.
    const fit = Math.floor((QUOTA - photo.size) / MAX_FILE);
    for (let i = 0; i < fit; i++) expect((await requestUpload(ada, roomId, MAX_FILE)).status).toBe(201);
    const pending = photo.size + fit * MAX_FILE;
    const refused = await requestUpload(ada, roomId, QUOTA - pending + 1);
    expectError(refused, 429, "upload_quota_exceeded");
    expect(refused.body.error.details).toEqual({ limit: QUOTA, pending });
    // Another member's quota is their own.
    expect((await requestUpload(bob, roomId, MAX_FILE)).status).toBe(201);

    // A message carries the photo: its bytes leave the quota, and exactly that much fits again.
    expect((await postWith(ada, roomId, photo.key)).status).toBe(201);
    expect((await requestUpload(ada, roomId, photo.size + (QUOTA - pending))).status).toBe(201);
    expectError(await requestUpload(ada, roomId, 1), 429, "upload_quota_exceeded");

    // A day later the sweep has taken the unused URLs: the quota is free again.
    await ageUploadsAndRunAlarm(roomId, TTL + 1);
    expect((await requestUpload(ada, roomId, MAX_FILE)).status).toBe(201);
    expect((await download(ada, roomId, photo.key)).status).toBe(200);
  });

  it("stop counting a URL against the quota once it expires unused", async () => {
    const { ada, roomId } = await roomOf();
    const fit = Math.floor(QUOTA / MAX_FILE);
    for (let i = 0; i < fit; i++) expect((await requestUpload(ada, roomId, MAX_FILE)).status).toBe(201);
    expectError(await requestUpload(ada, roomId, QUOTA - fit * MAX_FILE + 1), 429, "upload_quota_exceeded");
    // The URLs' expiry passes (UPLOAD_GRANT_TTL_SECONDS), long before the sweep.
    await runInDurableObject(roomStub(roomId), (_instance, state) => {
      state.storage.sql.exec(`UPDATE uploads SET expires_at = ?`, Date.now() - 1);
    });
    expect((await requestUpload(ada, roomId, MAX_FILE)).status).toBe(201);
  });

  it("refuse an upload URL for a room the user is not in, without recording anything", async () => {
    const { roomId } = await roomOf();
    const stranger = await registerUser("rider", "Eve");
    expectError(await requestUpload(stranger, roomId, 100), 403, "forbidden");
  });
});
