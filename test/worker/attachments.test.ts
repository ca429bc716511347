// Chat attachments (issue 22, "Attachments"), through the public API: a member asks for an
// upload URL (a signed, short-lived, single-use grant), PUTs the file's bytes to it (checked
// against the declared type and size, then stored in R2), and posts a message that carries the
// upload; the message reaches history, sockets and the D1 archive with the attachment, and only
// a current member of the room downloads the file. Each hostile case is refused: oversized or
// empty files, a lying type, a reused, expired or forged URL, another user's or another room's
// upload, a stranger's or a removed member's download, and names with paths in them.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isRidewireError, RidewireClient } from "@ridewire/client";
import { loadConfig } from "../../src/config";
import { signUploadGrant } from "../../src/files/upload-grant";
import { call, connectOk, createRoom, joinRoom, registerUser, type TestUser, type WireJson } from "../helpers/api";
import { expectError, flushOutbox, wsPath } from "../helpers/chat";
import { jpegBytes, pdfBytes, pngBytes } from "../helpers/files";
import { chatShard } from "../helpers/shards";

type Upload = { filename: string; contentType: string; size: number };

const requestUpload = (user: TestUser, roomId: string, body: Upload | Record<string, unknown>) =>
  call("POST", `/v1/rooms/${roomId}/attachments`, { token: user.token, body });

/** PUTs `bytes` to an upload URL as a client would: no Authorization, the declared Content-Type. */
async function put(url: string, bytes: Uint8Array, contentType: string) {
  const res = await exports.default.fetch(url, {
    method: "PUT",
    headers: { "Content-Type": contentType },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as WireJson };
}

/** Asks for an upload URL for `bytes` and PUTs them; answers the PUT's response and the grant. */
async function upload(user: TestUser, roomId: string, bytes: Uint8Array, contentType: string, filename = "file") {
  const grant = await requestUpload(user, roomId, { filename, contentType, size: bytes.length });
  expect(grant.status).toBe(201);
  return { ...(await put(grant.body.uploadUrl, bytes, contentType)), grant: grant.body };
}

const download = (user: TestUser | null, roomId: string, key: string) =>
  exports.default.fetch(`http://ridewire.test/v1/rooms/${roomId}/attachments/${key.split("/").pop()}`, {
    headers: user ? { Authorization: `Bearer ${user.token}` } : {},
  });

async function roomWithMember() {
  const ada = await registerUser("rider", "Ada");
  const bob = await registerUser("rider", "Bob");
  const room = await createRoom(ada);
  await joinRoom(bob, room.id);
  return { ada, bob, roomId: room.id };
}

describe("attachments", () => {
  it("uploads an image through a signed URL, posts it, and serves it to members with safe headers", async () => {
    const { ada, bob, roomId } = await roomWithMember();
    const socket = await connectOk(wsPath(roomId), bob.token);
    await socket.nextOfType("welcome");

    const png = pngBytes(640, 480, 100);
    const grant = await requestUpload(ada, roomId, {
      filename: "beach.png",
      contentType: "image/png",
      size: png.length,
    });
    expect(grant.status).toBe(201);
    expect(grant.body).toMatchObject({
      key: expect.stringMatching(new RegExp(`^rooms/${roomId}/[A-Za-z0-9_-]{22}$`)),
      method: "PUT",
      headers: { "Content-Type": "image/png" },
      maxSize: png.length,
    });
    expect(grant.body.uploadUrl).toMatch(/^http:\/\/ridewire\.test\/v1\/uploads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(grant.body.expiresAt).toBeGreaterThan(Date.now() + 9 * 60_000);

    const stored = await put(grant.body.uploadUrl, png, "image/png");
    expect(stored.status).toBe(201);
    const attachment = {
      key: grant.body.key,
      contentType: "image/png",
      size: png.length,
      filename: "beach.png",
      width: 640,
      height: 480,
    };
    expect(stored.body).toEqual({ attachment });

    const posted = await call("POST", `/v1/rooms/${roomId}/messages`, {
      token: ada.token,
      body: { attachments: [{ key: grant.body.key }] },
    });
    expect(posted.status).toBe(201);
    expect(posted.body.message).toMatchObject({ text: "", attachments: [attachment] });
    const frame = await socket.next((f) => f.type === "message");
    expect(frame.message.attachments).toEqual([attachment]);

    const history = await call("GET", `/v1/rooms/${roomId}/messages`, { token: bob.token });
    expect(history.body.messages[0]).toMatchObject({ seq: posted.body.message.seq, attachments: [attachment] });
    // A client resuming from before it (here a long poll from seq 0) gets it too.
    const poll = await call("GET", `/v1/rooms/${roomId}/poll?since=0&timeout=0`, { token: bob.token });
    expect(poll.body.events.find((e: WireJson) => e.type === "message").message.attachments).toEqual([attachment]);

    const res = await download(bob, roomId, grant.body.key);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
    expect(res.headers.get("Content-Type")).toBe("image/png");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Security-Policy")).toContain("sandbox");
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(res.headers.get("Content-Disposition")).toBe(`inline; filename="beach.png"; filename*=UTF-8''beach.png`);
    socket.close();
  });

  it("keeps attachments in the D1 archive, and deletes them with their message", async () => {
    const { ada, bob, roomId } = await roomWithMember();
    const jpeg = jpegBytes(1200, 800);
    const { body, grant } = await upload(ada, roomId, jpeg, "image/jpeg", "photo.jpg");
    expect(body.attachment).toMatchObject({ width: 1200, height: 800 });
    const posted = await call("POST", `/v1/rooms/${roomId}/messages`, {
      token: ada.token,
      body: { text: "look", attachments: [{ key: grant.key }] },
    });
    expect(posted.status).toBe(201);
    await flushOutbox(roomId);
    const row = await chatShard(roomId)
      .prepare(`SELECT attachments FROM messages WHERE room_id = ? AND seq = ?`)
      .bind(roomId, posted.body.message.seq)
      .first<{ attachments: string }>();
    expect(JSON.parse(row?.attachments ?? "null")).toEqual([body.attachment]);

    const deleted = await call("DELETE", `/v1/rooms/${roomId}/messages/${posted.body.message.seq}`, {
      token: ada.token,
    });
    expect(deleted.status).toBe(200);
    expect(deleted.body.message.attachments).toBeUndefined();
    const history = await call("GET", `/v1/rooms/${roomId}/messages`, { token: bob.token });
    expect(history.body.messages[0]).toMatchObject({ deleted: true });
    expect(history.body.messages[0].attachments).toBeUndefined();
    // The file goes with the message: nobody downloads it, no message carries it again, R2 drops it.
    expect((await download(bob, roomId, grant.key)).status).toBe(404);
    expectError(
      await call("POST", `/v1/rooms/${roomId}/messages`, {
        token: ada.token,
        body: { attachments: [{ key: grant.key }] },
      }),
      403,
      "forbidden",
    );
    await expect.poll(() => env.FILES.head(grant.key), { timeout: 3_000 }).toBeNull();
  });

  it("sends a message with attachments over the socket too", async () => {
    const { ada, roomId } = await roomWithMember();
    const { grant } = await upload(ada, roomId, pdfBytes(), "application/pdf", "ticket.pdf");
    const socket = await connectOk(wsPath(roomId), ada.token);
    await socket.nextOfType("welcome");
    socket.send({ type: "message", id: "m1", text: "the ticket", attachments: [{ key: grant.key }] });
    const frame = await socket.next((f) => f.type === "message");
    expect(frame.message.attachments).toEqual([
      { key: grant.key, contentType: "application/pdf", size: pdfBytes().length, filename: "ticket.pdf" },
    ]);
    socket.send({ type: "message", id: "m2", attachments: [{ key: "rooms/x/aaaaaaaaaaaaaaaaaaaaaa" }] });
    expect(await socket.next((f) => f.type === "error" && f.id === "m2")).toMatchObject({ code: "forbidden" });
    socket.close();
  });

  it("refuses downloads to strangers, removed members and callers without a token", async () => {
    const { ada, bob, roomId } = await roomWithMember();
    const stranger = await registerUser("rider", "Eve");
    const { grant } = await upload(ada, roomId, pngBytes(10, 10), "image/png", "secret.png");
    expect((await download(bob, roomId, grant.key)).status).toBe(200);
    // An upload URL bob holds from before his removal.
    const bobs = await requestUpload(bob, roomId, { filename: "late.png", contentType: "image/png", size: 43 });

    const strangers = await download(stranger, roomId, grant.key);
    expect(strangers.status).toBe(403);
    expect(strangers.headers.get("Content-Type")).toContain("application/json");
    expect((await download(null, roomId, grant.key)).status).toBe(401);
    // A stranger's own room does not open another room's file.
    const evesRoom = await createRoom(stranger);
    expect((await download(stranger, evesRoom.id, grant.key)).status).toBe(404);

    const removed = await call("DELETE", `/v1/rooms/${roomId}/members/${bob.user.id}`, { token: ada.token });
    expect(removed.status).toBe(204);
    expect((await download(bob, roomId, grant.key)).status).toBe(403);
    expectError(await put(bobs.body.uploadUrl, pngBytes(1, 1, 10), "image/png"), 403, "forbidden");
    // Nor may a stranger or a removed member ask for an upload URL.
    expectError(
      await requestUpload(stranger, roomId, { filename: "a.png", contentType: "image/png", size: 10 }),
      403,
      "forbidden",
    );
    expectError(
      await requestUpload(bob, roomId, { filename: "a.png", contentType: "image/png", size: 10 }),
      403,
      "forbidden",
    );
  });

  it("refuses oversized, empty and mistyped uploads", async () => {
    const { ada, roomId } = await roomWithMember();
    const limit = loadConfig(env).ATTACHMENT_MAX_BYTES;
    expectError(
      await requestUpload(ada, roomId, { filename: "huge.pdf", contentType: "application/pdf", size: limit + 1 }),
      413,
      "payload_too_large",
    );
    expectError(
      await requestUpload(ada, roomId, { filename: "page.html", contentType: "text/html", size: 10 }),
      400,
      "invalid_request",
    );
    expectError(
      await requestUpload(ada, roomId, { filename: "empty.txt", contentType: "text/plain", size: 0 }),
      400,
      "invalid_request",
    );

    // More bytes than declared: refused before anything is stored.
    const small = await requestUpload(ada, roomId, { filename: "a.png", contentType: "image/png", size: 20 });
    const tooBig = await put(small.body.uploadUrl, pngBytes(10, 10, 100), "image/png");
    expectError(tooBig, 413, "payload_too_large");
    expect(await env.FILES.head(small.body.key)).toBeNull();

    // An empty body, and a Content-Type other than the one declared.
    const empty = await requestUpload(ada, roomId, { filename: "a.txt", contentType: "text/plain", size: 5 });
    expectError(await put(empty.body.uploadUrl, new Uint8Array(0), "text/plain"), 400, "invalid_request");
    expectError(
      await put(empty.body.uploadUrl, new TextEncoder().encode("hello"), "text/html"),
      400,
      "invalid_request",
    );
    // Neither spent the URL: nothing was stored.
    expect((await put(empty.body.uploadUrl, new TextEncoder().encode("hello"), "text/plain")).status).toBe(201);
  });

  it("refuses a file whose bytes are not the declared type, deletes it, and nothing may carry it", async () => {
    const { ada, roomId } = await roomWithMember();
    const page = new TextEncoder().encode("<!doctype html><script>fetch('/v1/rooms')</script>");
    const { status, body, grant } = await upload(ada, roomId, page, "image/png", "cat.png");
    expectError({ status, body }, 422, "upload_rejected");
    expect(await env.FILES.head(grant.key)).toBeNull();
    const posted = await call("POST", `/v1/rooms/${roomId}/messages`, {
      token: ada.token,
      body: { attachments: [{ key: grant.key }] },
    });
    expectError(posted, 403, "forbidden");
    expect((await download(ada, roomId, grant.key)).status).toBe(404);
    // The URL is spent: the right bytes cannot follow on it.
    // (A PNG header of 33 bytes, padded to the declared size.)
    expectError(await put(grant.uploadUrl, pngBytes(1, 1, page.length - 33), "image/png"), 409, "conflict");
  });

  it("takes each upload URL once, and refuses expired, forged and altered ones", async () => {
    const { ada, roomId } = await roomWithMember();
    const png = pngBytes(2, 2);
    const { status, grant } = await upload(ada, roomId, png, "image/png");
    expect(status).toBe(201);
    expectError(await put(grant.uploadUrl, png, "image/png"), 409, "conflict");

    const claims = {
      key: `rooms/${roomId}/${"A".repeat(22)}`,
      target: { kind: "room" as const, roomId },
      userId: ada.user.id,
      contentType: "image/png" as const,
      filename: "x.png",
      maxSize: png.length,
    };
    const expired = await signUploadGrant({ ...claims, exp: Date.now() - 1 }, loadConfig(env).JWT_SECRET);
    expectError(await put(`http://ridewire.test/v1/uploads/${expired}`, png, "image/png"), 403, "forbidden");
    const forged = await signUploadGrant({ ...claims, exp: Date.now() + 60_000 }, "another-secret-of-32-characters!");
    expectError(await put(`http://ridewire.test/v1/uploads/${forged}`, png, "image/png"), 403, "forbidden");
    // The payload of a real grant with a larger size, under the real grant's signature.
    const token = grant.uploadUrl.split("/").pop() as string;
    const [payload, signature] = token.split(".");
    const claimsOf = JSON.parse(atob((payload ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    const altered = btoa(JSON.stringify({ ...claimsOf, maxSize: 10_000_000 }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    expectError(
      await put(`http://ridewire.test/v1/uploads/${altered}.${signature}`, png, "image/png"),
      403,
      "forbidden",
    );
    expectError(await put("http://ridewire.test/v1/uploads/not-a-token", png, "image/png"), 403, "forbidden");
  });

  it("lets a message carry only its sender's uploads to the same room", async () => {
    const { ada, bob, roomId } = await roomWithMember();
    const other = await createRoom(ada);
    const adas = await upload(ada, roomId, pngBytes(3, 3), "image/png");
    const elsewhere = await upload(ada, other.id, pngBytes(3, 3), "image/png");

    const post = (user: TestUser, room: string, key: string) =>
      call("POST", `/v1/rooms/${room}/messages`, { token: user.token, body: { attachments: [{ key }] } });
    // Bob may download ada's file, but not post it as his own.
    expectError(await post(bob, roomId, adas.grant.key), 403, "forbidden");
    // Ada's upload to another room is not an attachment here, nor is a key nobody uploaded.
    expectError(await post(ada, roomId, elsewhere.grant.key), 403, "forbidden");
    expectError(await post(ada, roomId, `rooms/${roomId}/${"B".repeat(22)}`), 403, "forbidden");
    expectError(await post(ada, roomId, "../../etc/passwd"), 400, "invalid_request");
    expectError(
      await call("POST", `/v1/rooms/${roomId}/messages`, { token: ada.token, body: { attachments: [] } }),
      400,
      "invalid_request",
    );
    expectError(
      await call("POST", `/v1/rooms/${roomId}/messages`, {
        token: ada.token,
        body: { attachments: [{ key: adas.grant.key }, { key: adas.grant.key }] },
      }),
      400,
      "invalid_request",
    );
    expect((await post(ada, roomId, adas.grant.key)).status).toBe(201);

    // An Idempotency-Key answers its first message again, and refuses other attachments.
    const once = (attachments?: { key: string }[]) =>
      call("POST", `/v1/rooms/${roomId}/messages`, {
        token: ada.token,
        headers: { "Idempotency-Key": "with-file" },
        body: { text: "see", ...(attachments ? { attachments } : {}) },
      });
    const first = await once([{ key: adas.grant.key }]);
    expect(first.status).toBe(201);
    expect((await once([{ key: adas.grant.key }])).body.message.seq).toBe(first.body.message.seq);
    expectError(await once(), 409, "conflict");
  });

  it("cleans paths and unsafe characters out of file names", async () => {
    const { ada, roomId } = await roomWithMember();
    const text = new TextEncoder().encode("notes");
    const { body, grant } = await upload(ada, roomId, text, "text/plain", '../../etc/pa"ss\r\nwd.txt');
    expect(body.attachment.filename).toBe("pa_ss__wd.txt");
    const res = await download(ada, roomId, grant.key);
    expect(res.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("Content-Disposition")).toBe(
      `attachment; filename="pa_ss__wd.txt"; filename*=UTF-8''pa_ss__wd.txt`,
    );
    expectError(
      await requestUpload(ada, roomId, { filename: "../..", contentType: "text/plain", size: 5 }),
      400,
      "invalid_request",
    );
  });

  it("is one call each in the client SDK: upload, post, download; a stranger's download rejects", async () => {
    const { ada, bob, roomId } = await roomWithMember();
    const stranger = await registerUser("rider", "Eve");
    const sdk = (user: TestUser) =>
      new RidewireClient({
        baseUrl: "http://ridewire.test",
        token: user.token,
        fetch: (input, init) => exports.default.fetch(input, init),
      });
    const gif = new Uint8Array([...new TextEncoder().encode("GIF89a"), 20, 0, 10, 0, 0, 0, 0, 0x3b]);
    const attachment = await sdk(ada).uploadAttachment(roomId, {
      filename: "dot.gif",
      contentType: "image/gif",
      data: gif,
    });
    expect(attachment).toMatchObject({ contentType: "image/gif", size: gif.length, width: 20, height: 10 });
    const message = await sdk(ada).postMessage(roomId, "", { attachments: [attachment] });
    expect(message.attachments).toEqual([attachment]);
    const blob = await sdk(bob).downloadAttachment(roomId, attachment);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(gif);
    const refused = await sdk(stranger)
      .downloadAttachment(roomId, attachment)
      .catch((err: unknown) => err);
    expect(isRidewireError(refused) && refused.status).toBe(403);
    const lying = await sdk(ada)
      .uploadAttachment(roomId, { filename: "x.gif", contentType: "image/gif", data: pdfBytes() })
      .catch((err: unknown) => err);
    expect(isRidewireError(lying) && lying.code).toBe("upload_rejected");
  });
});
