/**
 * @module web/chat-invite
 * Inviting people into a private room, with what the room-members API offers (`POST /v1/rooms/:id/members` by
 * user id; any member may add): someone the inviter already chats with, picked from a list made of the members of
 * their other rooms and direct conversations, or anyone by the user id they shared (the form shows the inviter's
 * own, to share the same way).
 */
import type { RidewireClient, Room, RoomListItem } from "@ridewire/client";
import { describeError, fill, h, statusLine } from "./dom";

/** At most this many of the inviter's other rooms are asked for their members (one call each). */
const ROOMS_ASKED = 20;

type Person = { userId: string; name: string };

/** The people the user shares a room or a direct conversation with, but not with `room`, by name. */
async function knownPeople(api: RidewireClient, myId: string, room: Room, rooms: RoomListItem[]): Promise<Person[]> {
  // `unread` is there on the rooms the user is a member of: the only ones whose members they may read.
  const mine = rooms.filter((r) => r.id !== room.id && r.unread !== undefined).slice(0, ROOMS_ASKED);
  const [inRoom, ...others] = await Promise.all([
    api.members(room.id),
    ...mine.map((r) => api.members(r.id).catch(() => [])),
  ]);
  const taken = new Set((inRoom ?? []).map((m) => m.userId));
  const people = new Map<string, Person>();
  for (const m of others.flat())
    if (m.userId !== myId && !taken.has(m.userId)) people.set(m.userId, { userId: m.userId, name: m.name });
  return [...people.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The invite form of private `room`; `rooms()` is the user's room list as the chat view last read it; `added` after
 * someone was added.
 */
export function inviteForm(
  api: RidewireClient,
  myId: string,
  room: Room,
  rooms: () => RoomListItem[],
  added: () => void,
): HTMLElement {
  // Its own status line: on a phone the chat list (and its status line) is hidden while a room is open.
  const status = statusLine();
  const say = status.say;
  const people = h("select", { "aria-label": "Someone you chat with" }, h("option", { value: "" }, "Loading…"));
  const byId = h("input", {
    type: "text",
    name: "invite-id",
    placeholder: "or their user id",
    "aria-label": "User id to invite",
    maxlength: 64,
    autocomplete: "off",
  });
  const submit = h("button", { type: "submit" }, "Add to room");
  const mine = h("input", { readonly: true, value: myId, "aria-label": "Your user id", class: "own-id" });
  const form = h(
    "form",
    { class: "invite", "aria-label": "Invite to this room" },
    h("div", { class: "row" }, people, byId, submit),
    h("p", { class: "hint" }, "This room is private: only members see it. Others can add you with your id: ", mine),
    status.el,
  );
  const panel = h("details", { class: "invite-panel" }, h("summary", {}, "Invite people"), form);
  let names = new Map<string, string>();
  const load = async () => {
    try {
      const found = await knownPeople(api, myId, room, rooms());
      names = new Map(found.map((p) => [p.userId, p.name]));
      fill(
        people,
        h("option", { value: "" }, found.length ? "Someone you chat with…" : "Nobody else you chat with yet"),
        ...found.map((p) => h("option", { value: p.userId }, p.name)),
      );
    } catch (err) {
      fill(people, h("option", { value: "" }, "Nobody to pick"));
      say(describeError(err), "error");
    }
  };
  panel.addEventListener("toggle", () => {
    if (panel.open) void load();
  });
  mine.addEventListener("focus", () => mine.select());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const userId = byId.value.trim() || people.value;
    if (!userId) {
      say("Pick someone, or enter the user id they shared with you.", "error");
      return;
    }
    if (userId === myId) {
      say("You are in this room already.", "error");
      return;
    }
    submit.disabled = true;
    try {
      await api.addMember(room.id, userId);
      say(`${names.get(userId) ?? "They"} can now see ${room.name} and write in it.`);
      byId.value = "";
      added();
      await load();
    } catch (err) {
      say(describeError(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  return panel;
}
