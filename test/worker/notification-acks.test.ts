/**
 * `POST /v1/notifications/:id/ack` through the public API: the user's app says it showed a
 * notification; the first time is kept (a repeat is harmless), the log shows it, and only the
 * notification's own user may ack it (another user's id is 404, as an unknown one is).
 */
import { describe, expect, it } from "vitest";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { tripStatusNotification } from "../../src/notify/message";
import { call, registerUser, unique, type TestUser } from "../helpers/api";
import { expectError } from "../helpers/chat";
import { arrivedTrip, runQueue } from "../helpers/notify";

async function notified(user: TestUser): Promise<string> {
  const message = tripStatusNotification(arrivedTrip(user.user.id, unique("trip")), 3);
  await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), body: message }]);
  return message.id;
}

const ack = (user: TestUser | null, id: string) =>
  call("POST", `/v1/notifications/${encodeURIComponent(id)}/ack`, user ? { token: user.token } : {});

const logged = async (user: TestUser, id: string) =>
  (await call("GET", "/v1/notifications?limit=100", { token: user.token })).body.notifications.find(
    (n: { id: string }) => n.id === id,
  );

describe("notification acknowledgements", () => {
  it("records the first ack, answers a repeat with the same time, and shows it in the log", async () => {
    const rider = await registerUser();
    const id = await notified(rider);
    expect((await logged(rider, id)).ackedAt).toBeNull();
    const before = Date.now();
    const first = await ack(rider, id);
    expect(first.status).toBe(200);
    expect(first.body.id).toBe(id);
    expect(first.body.ackedAt).toBeGreaterThanOrEqual(before);
    await new Promise((r) => setTimeout(r, 5));
    const again = await ack(rider, id);
    expect(again.body).toEqual(first.body);
    expect((await logged(rider, id)).ackedAt).toBe(first.body.ackedAt);
  });

  it("only the notification's own user: another user's id is 404 and stays unacked", async () => {
    const rider = await registerUser();
    const stranger = await registerUser();
    const id = await notified(rider);
    expectError(await ack(stranger, id), 404, "not_found");
    expect((await logged(rider, id)).ackedAt).toBeNull();
    expectError(await ack(rider, `${id}x`), 404, "not_found");
    expect((await ack(null, id)).status).toBe(401);
  });

  it("refuses ids that no notification could have, before they reach storage", async () => {
    const rider = await registerUser();
    for (const id of ["a".repeat(257), "x y", "<script>", "a/b"])
      expectError(await ack(rider, id), 400, "invalid_request");
  });
});
