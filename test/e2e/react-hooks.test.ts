/**
 * The React binding (`@ridewire/client/react`) against a real `wrangler dev`: components using
 * `useRoom` and `useTrip` rendered with react-dom/server (the first render opens nothing) and
 * with react-dom/client into a happy-dom document, while the SDK's connections use Node's own
 * fetch and WebSocket. The hooks must subscribe (a message sent by someone else reaches the
 * rendered DOM; a trip's status change does), and unsubscribe and close on unmount or when the
 * room changes (the old connection ends `closed` with no listener left).
 */
import { Window } from "happy-dom";
import { createElement, type ReactNode } from "react";
import { renderToString } from "react-dom/server";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RidewireClient } from "@ridewire/client";
import { useRoom, useTrip, type RoomState, type TripState } from "@ridewire/client/react";
import { account, sharedRoom, waitFor } from "./helpers/users";
import { devServer, type DevServer } from "./helpers/server";

// react-dom/client looks for a DOM when it loads: give it happy-dom's, and nothing else (fetch
// and WebSocket stay Node's, as an app's SDK would have them in a browser).
const dom = new Window({ url: "http://localhost/" });
Object.assign(globalThis, { window: dom, document: dom.document });
const { createRoot } = await import("react-dom/client");

let server: DevServer;

beforeAll(async () => {
  server = await devServer("react");
  await server.start();
});

afterAll(async () => {
  await server?.stop();
  await dom.happyDOM.close();
});

/** The last state each probe rendered with, for the test to read. */
const seen: { room?: RoomState; trip?: TripState } = {};

function ChatProbe({ client, roomId }: { client: RidewireClient; roomId: string }): ReactNode {
  const state = useRoom(client, roomId);
  seen.room = state;
  return createElement("p", null, `${state.connection}|${state.messages.map((m) => m.text).join(",")}`);
}

function TripProbe({ client, tripId }: { client: RidewireClient; tripId: string }): ReactNode {
  const state = useTrip(client, tripId);
  seen.trip = state;
  return createElement(
    "p",
    null,
    `${state.connection}|${state.status ?? "none"}|${state.events.map((e) => e.type).join(",")}`,
  );
}

function container() {
  const element = dom.document.createElement("div");
  dom.document.body.appendChild(element);
  // happy-dom's element is a DOM element as far as React can tell; its types are happy-dom's own.
  return { element, root: createRoot(element as unknown as Element) };
}

it("renders a chat room on the server without opening a connection", async () => {
  const ada = await account(server.baseUrl, "rider", "Ada");
  const room = await sharedRoom(ada);
  const html = renderToString(createElement(ChatProbe, { client: ada.api, roomId: room.id }));
  expect(html).toBe("<p>connecting|</p>");
  expect(seen.room).toMatchObject({ connection: "connecting", messages: [], room: null });
});

it(
  "useRoom shows messages as they arrive, and closes its connection when the room changes and on " + "unmount",
  async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const bob = await account(server.baseUrl, "driver", "Bob");
    const first = await sharedRoom(ada, bob);
    const second = await sharedRoom(ada, bob);
    const { element, root } = container();

    root.render(createElement(ChatProbe, { client: ada.api, roomId: first.id }));
    await waitFor("the first room open", () => (element.textContent === "open|" ? true : undefined));
    const firstConnection = seen.room!.room!;
    expect(firstConnection.listenerCount()).toBeGreaterThan(0);

    await bob.api.postMessage(first.id, "hello from bob");
    await waitFor("bob's message rendered", () => (element.textContent === "open|hello from bob" ? true : undefined));
    await seen.room!.send("hello from ada");
    await waitFor("ada's own message rendered", () =>
      element.textContent === "open|hello from bob,hello from ada" ? true : undefined,
    );

    root.render(createElement(ChatProbe, { client: ada.api, roomId: second.id }));
    await waitFor("the second room open", () =>
      element.textContent === "open|" && seen.room!.room !== firstConnection ? true : undefined,
    );
    expect(firstConnection.state).toBe("closed");
    expect(firstConnection.listenerCount()).toBe(0);
    const secondConnection = seen.room!.room!;

    await bob.api.postMessage(first.id, "to the room ada left");
    await bob.api.postMessage(second.id, "in the second room");
    await waitFor("only the second room's message rendered", () =>
      element.textContent === "open|in the second room" ? true : undefined,
    );

    root.unmount();
    expect(secondConnection.state).toBe("closed");
    expect(secondConnection.listenerCount()).toBe(0);
  },
);

it("useTrip follows a trip's status and closes on unmount", async () => {
  const rita = await account(server.baseUrl, "rider", "Rita");
  const trip = await rita.api.requestTrip({
    pickup: { lat: 51.5074, lng: -0.1278 },
    dropoff: { lat: 51.52, lng: -0.1 },
  });
  const { element, root } = container();

  root.render(createElement(TripProbe, { client: rita.api, tripId: trip.id }));
  await waitFor("the trip open with its status", () =>
    element.textContent?.startsWith("open|") && seen.trip!.status !== null ? true : undefined,
  );
  expect(seen.trip!.trip).toMatchObject({ id: trip.id, status: (await rita.api.trip(trip.id)).status });
  const connection = seen.trip!.room!;

  await rita.api.cancelTrip(trip.id, { reason: "changed my mind" });
  await waitFor("the cancellation rendered", () =>
    element.textContent?.startsWith("open|cancelled|") && element.textContent.endsWith("status") ? true : undefined,
  );
  expect(seen.trip!.events.at(-1)).toMatchObject({ type: "status", trip: { id: trip.id, status: "cancelled" } });

  root.unmount();
  expect(connection.state).toBe("closed");
  expect(connection.listenerCount()).toBe(0);
});
