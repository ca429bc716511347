/**
 * @module client/react
 * React hooks over the SDK's live connections (`import { useRoom, useTrip } from
 * "@ridewire/client/react"`). A hook opens the connection in an effect, keeps what its frames
 * say in state, and closes it (and removes its listeners) when the component unmounts or the
 * room changes. A server render opens nothing: effects do not run there, so the first render
 * shows `connection: "connecting"` and empty lists. `react` is an optional peer dependency.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { tokenSubject } from "./session";
import type {
  Ack,
  ChannelFrames,
  ChatConnection,
  ChatMessage,
  ChatServerFrame,
  ConnectionState,
  Message,
  RidewireClient,
  RoomConnection,
  RoomOptions,
  Trip,
  TripConnection,
  TripServerFrame,
} from "./index";

/** A driver's position as the trip room forwards it, with the ETA to the next stop. */
export type DriverPosition = Extract<TripServerFrame, { type: "location" }>;
/** Stored trip events: status changes, chat messages and the fare, in seq order. */
export type TripEvent = Extract<TripServerFrame, { type: "status" | "message" | "fare" }>;

export type RoomState = {
  /**
   * Messages that arrived on this connection (and the replay from `options.since`), oldest
   * first, as they are now: `edit`, `delete` and `reaction` frames are applied to them (a
   * reaction's `me` is set when this connection's own frame made it, through `room.send`).
   */
  messages: ChatMessage[];
  /** Member ids online now: the welcome's list, then `presence` frames. */
  online: string[];
  /** `connecting`, `open`, `waiting` (between reconnects) or `closed`. */
  connection: ConnectionState;
  /** Set when the server's log no longer reached back to our cursor: reload history over HTTP. */
  reset: boolean;
  /** The live connection (null until the effect ran), for typing, read marks or lifecycle events. */
  room: ChatConnection | null;
  /** Sends a chat message through the connection's outbox; rejects when there is no connection. */
  send: (text: string) => Promise<Ack>;
};

export type TripState = {
  /** The trip as the last `welcome` or `status` frame had it; null before the first. */
  trip: Trip | null;
  /** `trip.status`, for short. */
  status: Trip["status"] | null;
  /** The driver's last forwarded position (ephemeral: not replayed after a reconnect). */
  driverPosition: DriverPosition | null;
  /** Trip chat, oldest first. */
  messages: Message[];
  /** The final fare once the trip is completed. */
  fare: Extract<TripEvent, { type: "fare" }>["fare"] | null;
  /** Every stored event handed on, in seq order. */
  events: TripEvent[];
  connection: ConnectionState;
  reset: boolean;
  room: TripConnection | null;
  send: (text: string) => Promise<Ack>;
};

type RoomData = Omit<RoomState, "room" | "send">;
type TripData = Omit<TripState, "room" | "send" | "status">;

const initialRoom: RoomData = { messages: [], online: [], connection: "connecting", reset: false };
const initialTrip: TripData = {
  trip: null,
  driverPosition: null,
  messages: [],
  fare: null,
  events: [],
  connection: "connecting",
  reset: false,
};

/**
 * A live chat room: `useRoom(client, roomId)`. Pass `null` as the id to stay disconnected.
 * `options` are read when the connection opens (a new `client` or `roomId` opens a new one).
 */
export function useRoom(client: RidewireClient, roomId: string | null, options: RoomOptions = {}): RoomState {
  const [data, setData] = useState<RoomData>(initialRoom);
  const [room, setRoom] = useState<ChatConnection | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    if (roomId === null) return;
    const connection = client.room(roomId, optionsRef.current);
    setData(initialRoom);
    setRoom(connection);
    // Whose reactions are "mine": the user the client's token speaks for, read once.
    let mine: string | null = null;
    void client.token().then(
      (token) => {
        mine = token ? tokenSubject(token) : null;
      },
      () => undefined,
    );
    const track = () => setData((d) => ({ ...d, connection: connection.state }));
    const offs = [
      connection.on("welcome", (frame) => setData((d) => ({ ...d, online: [...frame.online] }))),
      connection.on("message", (frame) => setData((d) => ({ ...d, messages: [...d.messages, frame.message] }))),
      ...(["edit", "delete", "reaction"] as const).map((type) =>
        connection.on(type, (frame) => setData((d) => ({ ...d, messages: applyChange(d.messages, frame, mine) }))),
      ),
      connection.on("presence", (frame) =>
        setData((d) => ({
          ...d,
          online:
            frame.event === "join"
              ? [...new Set([...d.online, frame.userId])]
              : d.online.filter((id) => id !== frame.userId),
        })),
      ),
      connection.on("reset", () => setData((d) => ({ ...d, reset: true }))),
      ...lifecycle(connection, track),
    ];
    return () => {
      for (const off of offs) off();
      connection.close("unmounted");
    };
  }, [client, roomId]);

  const send = useCallback(
    (text: string) =>
      room
        ? room.send({ type: "message", text })
        : Promise.reject(new Error("ridewire: the room is not connected yet")),
    [room],
  );
  return { ...data, room, send };
}

type ChatChange = Extract<ChatServerFrame, { type: "edit" | "delete" | "reaction" }>;

/** The messages with one stored change applied to the message it names (if this list has it). */
export function applyChange(messages: ChatMessage[], frame: ChatChange, mine: string | null): ChatMessage[] {
  const seq =
    frame.type === "edit"
      ? frame.edit.messageSeq
      : frame.type === "delete"
        ? frame.delete.messageSeq
        : frame.reaction.messageSeq;
  return messages.map((m) => {
    if (m.seq !== seq) return m;
    if (frame.type === "edit") return { ...m, text: frame.edit.text, editedAt: frame.edit.editedAt };
    const { id, roomId, userId, createdAt } = m;
    if (frame.type === "delete")
      return { id, roomId, seq, userId, createdAt, deleted: true, deletedAt: frame.delete.deletedAt };
    if (m.deleted) return m;
    const { emoji, count, on } = frame.reaction;
    const own = frame.reaction.userId === mine;
    const before = m.reactions ?? [];
    const found = before.find((r) => r.emoji === emoji);
    const after =
      count === 0
        ? before.filter((r) => r.emoji !== emoji)
        : found
          ? before.map((r) => (r.emoji === emoji ? { emoji, count, me: own ? on : r.me } : r))
          : [...before, { emoji, count, me: own && on }];
    const { reactions: _dropped, ...rest } = m;
    return after.length > 0 ? { ...rest, reactions: after } : rest;
  });
}

/** A live trip room for its rider or driver: `useTrip(client, tripId)`; `null` stays disconnected. */
export function useTrip(client: RidewireClient, tripId: string | null, options: RoomOptions = {}): TripState {
  const [data, setData] = useState<TripData>(initialTrip);
  const [room, setRoom] = useState<TripConnection | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    if (tripId === null) return;
    const connection = client.tripRoom(tripId, optionsRef.current);
    setData(initialTrip);
    setRoom(connection);
    const track = () => setData((d) => ({ ...d, connection: connection.state }));
    const stored = (event: TripEvent) => setData((d) => ({ ...d, events: [...d.events, event] }));
    const offs = [
      connection.on("welcome", (frame) => setData((d) => ({ ...d, trip: frame.trip }))),
      connection.on("status", (frame) => {
        stored(frame);
        setData((d) => ({ ...d, trip: frame.trip }));
      }),
      connection.on("message", (frame) => {
        stored(frame);
        setData((d) => ({ ...d, messages: [...d.messages, frame.message] }));
      }),
      connection.on("fare", (frame) => {
        stored(frame);
        setData((d) => ({ ...d, fare: frame.fare }));
      }),
      connection.on("location", (frame) => setData((d) => ({ ...d, driverPosition: frame }))),
      connection.on("reset", () => setData((d) => ({ ...d, reset: true }))),
      ...lifecycle(connection, track),
    ];
    return () => {
      for (const off of offs) off();
      connection.close("unmounted");
    };
  }, [client, tripId]);

  const send = useCallback(
    (text: string) =>
      room
        ? room.send({ type: "message", text })
        : Promise.reject(new Error("ridewire: the trip room is not connected yet")),
    [room],
  );
  return { ...data, status: data.trip?.status ?? null, room, send };
}

/** The events after which `connection.state` has changed. */
function lifecycle<F extends ChannelFrames>(connection: RoomConnection<F>, track: () => void): (() => void)[] {
  return [
    connection.on("open", track),
    connection.on("disconnect", track),
    connection.on("reconnecting", track),
    connection.on("closed", track),
  ];
}
