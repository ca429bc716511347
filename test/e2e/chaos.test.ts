/**
 * Chaos: while a rider and a driver on a trip and two chat clients are connected and sending,
 * the dev server is SIGKILLed (wrangler and its workerd children, as in a crash) and started
 * again on the same port and the same --persist-to state. Every client must come back on its
 * own and end with every committed event of its room, in order, exactly once: its seqs are
 * compared with the room's history fetched over HTTP at the end, and every acknowledged frame
 * is in that history once.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  STORED_TYPES,
  type Ack,
  type ChannelFrames,
  type ChatConnection,
  type RoomConnection,
  type TripConnection,
  type RoomOptions,
  type ServerFrame,
} from "@ridewire/client";
import { devServer, type DevServer } from "./helpers/server";
import { account, sharedRoom, sleep, waitFor } from "./helpers/users";

let server: DevServer;

beforeAll(async () => {
  server = await devServer("chaos");
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

/** Reconnects come quickly here: the outage is a few seconds. */
const options: RoomOptions = {
  since: 0,
  backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
  heartbeat: { intervalMs: 1_000, timeoutMs: 2_000 },
};

type Watched = {
  name: string;
  connection: RoomConnection<ChannelFrames>;
  say: (text: string) => Promise<Ack>;
  seqs: number[];
  acks: Promise<{ ack: Ack; text: string }>[];
};

/** Records the seq of every stored frame the connection hands on. */
function watch(name: string, connection: ChatConnection | TripConnection): Watched {
  const say = (text: string) => connection.send({ type: "message", text });
  const generic = connection as RoomConnection<ChannelFrames>;
  const watched: Watched = { name, connection: generic, say, seqs: [], acks: [] };
  const stored = STORED_TYPES[connection.kind];
  generic.on("frame", (frame) => {
    const { type, seq } = frame as { type: string; seq?: number };
    if (stored.has(type) && seq !== undefined) watched.seqs.push(seq);
  });
  return watched;
}

/** Every stored event of a room, oldest first, paged through its long poll. */
async function history(
  poll: (since: number) => Promise<{ events: ServerFrame[]; seq: number }>,
): Promise<ServerFrame[]> {
  const all: ServerFrame[] = [];
  let since = 0;
  for (;;) {
    const page = await poll(since);
    if (page.events.length === 0) return all;
    all.push(...page.events);
    since = page.seq;
  }
}

const textOf = (frame: ServerFrame) => (frame.type === "message" ? frame.message.text : null);

it(
  "every client comes back after a SIGKILL of the whole " +
    "server and ends with every committed event, in order, once",
  async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const rider = await account(server.baseUrl, "rider", "Rita");
    const driver = await account(server.baseUrl, "driver", "Dan");
    const room = await sharedRoom(ada, bob);

    // A trip: the driver online with a channel, an offer accepted over it.
    const pickup = { lat: -33.86, lng: 151.2 };
    const dropoff = { lat: -33.84, lng: 151.21 };
    await driver.api.goOnline(pickup);
    const channel = driver.api.driverChannel({ backoff: options.backoff, heartbeat: options.heartbeat });
    await channel.whenOpen();
    await waitFor("the driver in the geo index", async () =>
      (await rider.api.quote({ pickup, dropoff })).pickupEtaSec !== null ? true : undefined,
    );
    // The offer may reach the channel before the request's answer reaches the rider.
    const offered = channel.next("offer", () => true, 20_000);
    const trip = await rider.api.requestTrip({ pickup, dropoff });
    expect((await offered).tripId).toBe(trip.id);
    await channel.send({ type: "offer.accept", tripId: trip.id });
    expect((await rider.api.trip(trip.id)).status).toBe("accepted");

    const clients = [
      watch("ada", ada.api.room(room.id, options)),
      watch("bob", bob.api.room(room.id, options)),
      watch("rider", rider.api.tripRoom(trip.id, options)),
      watch("driver", driver.api.tripRoom(trip.id, options)),
    ];
    await Promise.all(clients.map((c) => c.connection.whenOpen()));

    // Everyone writes every 150 ms; the driver also streams fixes. None of it stops for the crash.
    let sending = true;
    let n = 0;
    const senders = clients.map(async (client) => {
      while (sending) {
        const text = `${client.name} ${++n}`;
        client.acks.push(client.say(text).then((ack) => ({ ack, text })));
        await sleep(150);
      }
    });
    const fixes = (async () => {
      while (sending) {
        channel.sendVolatile({ type: "location", lat: pickup.lat, lng: pickup.lng, at: Date.now() });
        await sleep(1_000);
      }
    })();

    await sleep(1_500);
    await server.kill();
    const killedAt = Date.now();
    await sleep(1_000);
    // Frames written since the crash wait in the outboxes (and some sent before it were never answered).
    const waiting = clients.reduce((sum, c) => sum + c.connection.pending, 0);
    expect(waiting).toBeGreaterThan(0);
    await server.start();
    const downMs = Date.now() - killedAt;
    await sleep(1_500);
    sending = false;
    await Promise.all([...senders, fixes]);

    // Every frame is acknowledged in the end (the outbox re-sent what the crash left unanswered).
    const acked = await Promise.all(clients.flatMap((c) => c.acks));
    expect(clients.every((c) => c.connection.pending === 0)).toBe(true);
    for (const client of clients)
      expect(client.connection.connections, `${client.name} reconnected`).toBeGreaterThanOrEqual(2);
    expect(channel.connections, "the driver channel reconnected").toBeGreaterThanOrEqual(2);

    // The ride goes on after the crash: more stored events (status, fare) through the same connections.
    await driver.api.arrived(trip.id);
    // The rider's PIN (the request's answer carries it), which the trip kept through the crash.
    await driver.api.startTrip(trip.id, trip.pin === undefined ? {} : { pin: trip.pin });
    await driver.api.completeTrip(trip.id);

    const chat = await history((since) => ada.api.pollRoom(room.id, { since, timeout: 0 }));
    const ride = await history((since) => rider.api.pollTrip(trip.id, { since, timeout: 0 }));
    const seqsOf = (events: ServerFrame[]) => events.map((e) => (e as { seq: number }).seq);
    expect(seqsOf(chat)).toEqual(Array.from({ length: chat.length }, (_, i) => i + 1));
    expect(seqsOf(ride)).toEqual(Array.from({ length: ride.length }, (_, i) => i + 1));
    expect(ride.at(-1)).toMatchObject({ type: "fare" });

    // Each client: exactly the room's history, in order, nothing twice, nothing missing.
    // The driver reads the trip from their assignment on (the room resets them to the seq before it).
    const assignedAt = (ride.find((e) => e.type === "status" && e.trip.driverId === driver.user.id) as { seq: number })
      .seq;
    const expected = {
      ada: seqsOf(chat),
      bob: seqsOf(chat),
      rider: seqsOf(ride),
      driver: seqsOf(ride).filter((seq) => seq >= assignedAt),
    };
    for (const client of clients) {
      await waitFor(`${client.name} to catch up`, () =>
        client.seqs.length >= expected[client.name as keyof typeof expected].length ? true : undefined,
      );
    }
    await sleep(200);
    for (const client of clients)
      expect(client.seqs, client.name).toEqual(expected[client.name as keyof typeof expected]);

    // Every acknowledged frame was applied exactly once, at the seq its ack named.
    const texts = [...chat, ...ride].map(textOf).filter((t): t is string => t !== null);
    expect(new Set(texts).size).toBe(texts.length);
    const bySeq = {
      chat: new Map(chat.map((e) => [(e as { seq: number }).seq, textOf(e)])),
      ride: new Map(ride.map((e) => [(e as { seq: number }).seq, textOf(e)])),
    };
    for (const [i, client] of clients.entries()) {
      const log = i < 2 ? bySeq.chat : bySeq.ride;
      for (const { ack, text } of await Promise.all(client.acks))
        expect(log.get(ack.seq ?? -1), `${client.name}: ${text}`).toBe(text);
    }
    expect(texts).toHaveLength(acked.length);

    console.info(
      `chaos: down ${downMs} ms; ${waiting} frames waiting in outboxes during the outage; ${acked.length} frames ` +
        `acked; chat ${chat.length} events, ride ${ride.length}; reconnects ${clients
          .map((c) => `${c.name} ` + `${c.connection.connections - 1}`)
          .join(", ")}`,
    );
    for (const client of clients) client.connection.close();
    channel.close();
  },
);
