/**
 * A smoke run of the client SDK in whatever runtime runs this file (Bun, Deno, Node): two users
 * sign up, one makes a room the other joins, both connect, one sends a message over its room
 * connection and the other sees it. Prints one JSON line and exits 0 on success. It imports the
 * SDK by its package name, so it runs the built package (`npm run build -w @ridewire/client`):
 *
 *   node test/e2e/smoke-client.ts http://127.0.0.1:8787
 *   bun test/e2e/smoke-client.ts http://127.0.0.1:8787
 *   deno run --allow-net test/e2e/smoke-client.ts http://127.0.0.1:8787
 */
import { RidewireClient } from "@ridewire/client";

declare const Deno: { args: string[]; version: { deno: string } } | undefined;
declare const Bun: { version: string } | undefined;

const runtime =
  typeof Deno !== "undefined"
    ? `deno ${Deno.version.deno}`
    : typeof Bun !== "undefined"
      ? `bun ${Bun.version}`
      : `node ${process.version}`;
const baseUrl = (typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2))[0] ?? "http://127.0.0.1:8787";

async function main(): Promise<void> {
  const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const ada = new RidewireClient({ baseUrl });
  const bob = new RidewireClient({ baseUrl });
  const password = "correct horse battery staple";
  await ada.signUp({ email: `ada-${tag}@smoke.example`, password, name: "Ada", role: "rider" });
  const bobUser = (await bob.signUp({ email: `bob-${tag}@smoke.example`, password, name: "Bob", role: "driver" })).user;
  const room = await ada.createRoom({ name: `smoke ${runtime}` });
  await bob.joinRoom(room.id);

  const adaRoom = ada.room(room.id);
  const bobRoom = bob.room(room.id);
  try {
    await Promise.all([adaRoom.whenOpen(10_000), bobRoom.whenOpen(10_000)]);
    const seen = bobRoom.next("message", (frame) => frame.message.text === `hello from ${runtime}`, 10_000);
    const ack = await adaRoom.send({ type: "message", text: `hello from ${runtime}` });
    const frame = await seen;
    if (frame.seq !== ack.seq) throw new Error(`ack seq ${ack.seq} but bob saw seq ${frame.seq}`);
    const history = await bob.messages(room.id);
    if (history.messages[0]?.text !== `hello from ${runtime}`) throw new Error("the message is not in the history");
    console.log(JSON.stringify({ ok: true, runtime, roomId: room.id, seq: ack.seq, bob: bobUser.id }));
  } finally {
    adaRoom.close();
    bobRoom.close();
  }
}

main().catch((err) => {
  console.log(
    JSON.stringify({ ok: false, runtime, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
  // A pending timer must not keep a failed run alive.
  setTimeout(
    () =>
      typeof Deno !== "undefined"
        ? (globalThis as unknown as { Deno: { exit(code: number): never } }).Deno.exit(1)
        : process.exit(1),
    0,
  );
});
