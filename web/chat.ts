/**
 * @module web/chat
 * The chat view: the caller's direct conversations and the rooms (public ones and their private
 * ones), each with its unread count and a total badge, asked again every few seconds; creating
 * and joining rooms; the open room (web/chat-room.ts); and the privacy setting of the user's last
 * seen. On a phone the list and the open room take the screen in turn. The open room is in the URL (#/chat/<id>),
 * so that a reload, or signing in again after the session ended, opens it again; a private room has its invite form
 * (web/chat-invite.ts).
 */
import type { Room, RoomListItem, RoomMember } from "@ridewire/client";
import { inviteForm } from "./chat-invite";
import { openRoom } from "./chat-room";
import { describeError, fill, h, statusLine } from "./dom";
import { privacySettings } from "./last-seen";
import type { View } from "./types";

/** How often the list asks for new rooms and unread counts (which the server counts within seconds). */
const LIST_REFRESH_MS = 4_000;

/** "999+" at the server's cap (API.md, `GET /v1/rooms`). */
const countText = (n: number) => (n >= 1_000 ? "999+" : String(n));

function badge(unread: number): HTMLElement | null {
  if (unread <= 0) return null;
  return h("span", { class: "badge", "aria-label": `${countText(unread)} unread` }, countText(unread));
}

export const chatView: View = (root, api, session) => {
  const me = session.user;
  const status = statusLine();
  const directList = h("ul", { class: "rooms", "aria-label": "Direct messages" });
  const roomList = h("ul", { class: "rooms", "aria-label": "Rooms" });
  const total = h("span", { class: "total" });
  const roomPane = h(
    "section",
    { class: "card room", "aria-label": "Room" },
    h("p", { class: "hint" }, "Choose or create a room, or message a member of one."),
  );
  const layout = h("div", { class: "layout chat-layout" });
  /** The other person of each direct conversation, by room id: its name is "direct" for both. */
  const partners = new Map<string, string>();
  let rooms: RoomListItem[] = [];
  let unreadTotal = 0;
  let openId: string | null = null;
  let closeRoom: (() => void) | null = null;
  let stopped = false;

  const partnerOf = async (room: Room): Promise<string> => {
    const known = partners.get(room.id);
    if (known) return known;
    const other = (await api.members(room.id)).find((m) => m.userId !== me.id);
    const name = other?.name ?? "Direct message";
    partners.set(room.id, name);
    return name;
  };

  function item(room: RoomListItem): HTMLElement {
    // The open room is being read: its count is cleared here before the server's catches up.
    const unread = room.id === openId ? 0 : (room.unread ?? 0);
    const name = room.kind === "direct" ? (partners.get(room.id) ?? "…") : room.name;
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: `room-link${unread ? " has-unread" : ""}`,
          "data-room": room.id,
          ...(room.id === openId ? { "aria-current": "true" } : {}),
          onclick: () => void open(room),
        },
        h("span", { class: "room-name" }, name, room.private && room.kind !== "direct" ? " 🔒" : ""),
        badge(unread),
      ),
    );
  }

  /** What the list shows, to leave it alone (and the focus where it is) when a refresh changed nothing. */
  let drawn = "";
  function draw(): void {
    const shows = JSON.stringify([openId, unreadTotal, rooms, [...partners]]);
    if (shows === drawn) return;
    drawn = shows;
    const focused = (document.activeElement as HTMLElement | null)?.dataset.room;
    const direct = rooms.filter((r) => r.kind === "direct");
    const groups = rooms.filter((r) => r.kind !== "direct");
    fill(directList, ...direct.map(item));
    if (direct.length === 0) fill(directList, h("li", { class: "hint" }, "None yet: message a member of a room."));
    fill(roomList, ...groups.map(item));
    if (groups.length === 0) fill(roomList, h("li", { class: "hint" }, "No rooms yet."));
    const openUnread = rooms.find((r) => r.id === openId)?.unread ?? 0;
    const shown = Math.max(0, unreadTotal - openUnread);
    fill(total, badge(shown));
    total.setAttribute("aria-label", shown ? `${countText(shown)} unread in all` : "");
    document.title = `${shown ? `(${countText(shown)}) ` : ""}ridewire: Chat rooms`;
    if (focused) layout.querySelector<HTMLElement>(`[data-room="${CSS.escape(focused)}"]`)?.focus();
  }

  const refresh = async () => {
    // A tab in the background needs no counts until it is looked at again.
    if (document.hidden && rooms.length > 0) return;
    try {
      ({ rooms, unreadTotal } = await api.roomList());
      const unnamed = rooms.filter((r) => r.kind === "direct" && !partners.has(r.id));
      await Promise.all(unnamed.map((r) => partnerOf(r).catch(() => undefined)));
      if (!stopped) draw();
    } catch (err) {
      status.say(describeError(err), "error");
    }
  };

  const name = h("input", {
    type: "text",
    name: "room",
    placeholder: "New room name",
    "aria-label": "New room name",
    required: true,
    maxlength: 100,
  });
  const isPrivate = h("input", { type: "checkbox", name: "private" });
  const create = h(
    "form",
    { class: "row" },
    name,
    h("label", {}, isPrivate, " private"),
    h("button", { type: "submit" }, "Create"),
  );
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const room = await api.createRoom({ name: name.value.trim(), private: isPrivate.checked });
      name.value = "";
      await refresh();
      await open(room);
    } catch (err) {
      status.say(describeError(err), "error");
    }
  });

  /** The direct conversation with a member (the same room whoever starts it). */
  async function messageMember(member: RoomMember): Promise<void> {
    try {
      const room = await api.directRoom(member.userId);
      partners.set(room.id, member.name);
      await open(room);
      await refresh();
    } catch (err) {
      status.say(describeError(err), "error");
    }
  }

  async function open(room: Room): Promise<void> {
    closeRoom?.();
    closeRoom = null;
    try {
      // A direct conversation has its two members for good: nobody joins one.
      if (room.kind !== "direct") await api.joinRoom(room.id);
      const title = room.kind === "direct" ? await partnerOf(room) : room.name;
      openId = room.id;
      layout.classList.add("room-open");
      closeRoom = openRoom(roomPane, {
        api,
        me,
        room,
        title,
        say: status.say,
        messageMember: (m) => void messageMember(m),
      });
      roomPane.prepend(back);
      if (room.private && room.kind !== "direct")
        roomPane.append(
          inviteForm(
            api,
            me.id,
            room,
            () => rooms,
            () => void refresh(),
          ),
        );
      // In the URL without a hashchange (which would draw the view again): a reload comes back to this room.
      history.replaceState(null, "", `#/chat/${encodeURIComponent(room.id)}`);
      draw();
    } catch (err) {
      status.say(describeError(err), "error");
    }
  }

  /** On a phone the open room hides the list; this brings it back. */
  const back = h(
    "button",
    {
      type: "button",
      class: "link back",
      onclick: () => {
        layout.classList.remove("room-open");
        history.replaceState(null, "", "#/chat");
        directList.querySelector("button")?.focus();
      },
    },
    "← All chats",
  );

  fill(
    layout,
    h(
      "div",
      { class: "side" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Chats ", total),
        h("h3", {}, "Direct messages"),
        directList,
        h("h3", {}, "Rooms"),
        roomList,
        create,
      ),
      privacySettings(api),
      status.el,
    ),
    roomPane,
  );
  fill(root, layout);
  const linked = /^#\/chat\/([^/]+)$/.exec(location.hash)?.[1];
  void refresh().then(() => {
    if (!linked || stopped || openId) return;
    const room = rooms.find((r) => r.id === decodeURIComponent(linked));
    if (room) void open(room);
    else status.say("That room is not open to you: it is private, or it is gone.", "error");
  });
  const timer = setInterval(() => void refresh(), LIST_REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    closeRoom?.();
  };
};
