/**
 * @module web/chat
 * Chat rooms: the list (public rooms and the caller's private ones), creating and joining,
 * and a room with its history (older pages on demand), live messages, who is online, who is
 * typing, and how far each member has read.
 */
import type { ChatConnection, ChatMessage, Message, RidewireClient, Room } from "@ridewire/client";
import { clock, describeError, fill, h, statusLine } from "./dom";
import type { View } from "./types";

const TYPING_IDLE_MS = 3_000;

export const chatView: View = (root, api, session) => {
  const status = statusLine();
  const list = h("ul", { class: "rooms", "aria-label": "Rooms" });
  const roomPane = h(
    "section",
    { class: "card room", "aria-label": "Room" },
    h("p", { class: "hint" }, "Choose or create a room."),
  );
  let closeRoom: (() => void) | null = null;

  const refresh = async () => {
    try {
      const rooms = await api.rooms();
      fill(
        list,
        ...rooms.map((room) =>
          h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "link", onclick: () => open(room) },
              room.name,
              room.private ? " 🔒" : "",
            ),
          ),
        ),
      );
      if (rooms.length === 0) fill(list, h("li", { class: "hint" }, "No rooms yet."));
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

  async function open(room: Room): Promise<void> {
    closeRoom?.();
    try {
      await api.joinRoom(room.id);
    } catch (err) {
      return status.say(describeError(err), "error");
    }
    closeRoom = openRoom(roomPane, api, session.user.id, room, status.say);
  }

  fill(
    root,
    h(
      "div",
      { class: "layout chat-layout" },
      h("div", { class: "side" }, h("section", { class: "card" }, h("h2", {}, "Rooms"), list, create), status.el),
      roomPane,
    ),
  );
  void refresh();
  return () => closeRoom?.();
};

function openRoom(
  pane: HTMLElement,
  api: RidewireClient,
  myId: string,
  room: Room,
  say: (text: string, kind?: "info" | "error") => void,
): () => void {
  const names = new Map<string, string>();
  const online = new Set<string>();
  const reads = new Map<string, number>();
  const typing = new Map<string, number>();
  const rendered = new Map<number, HTMLElement>();
  let oldest: number | null = null;
  let nextBefore: number | null = null;

  const nameOf = (userId: string) => (userId === myId ? "You" : (names.get(userId) ?? "someone"));
  const loadNames = async () => {
    try {
      for (const m of await api.members(room.id)) names.set(m.userId, m.name);
      drawPeople();
      for (const [seq, el] of rendered) partOf(el, "who").textContent = nameOf(el.dataset.user ?? String(seq));
    } catch {
      // Names are a nicety; ids still show who is who.
    }
  };

  const messages = h("ol", { class: "messages", "aria-label": `Messages in ${room.name}`, "aria-live": "polite" });
  const older = h("button", { type: "button", class: "link", hidden: true }, "Load older messages");
  const people = h("p", { class: "people", "aria-live": "polite" });
  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const input = h("input", {
    type: "text",
    name: "message",
    placeholder: "Message",
    "aria-label": "Message",
    maxlength: 4000,
    autocomplete: "off",
  });
  const form = h("form", { class: "send" }, input, h("button", { type: "submit" }, "Send"));

  /** A message from history may be edited or deleted (a tombstone has no text). */
  function messageEl(m: Message | ChatMessage): HTMLElement {
    const text =
      m.text === undefined ? "message deleted" : "editedAt" in m && m.editedAt ? `${m.text} (edited)` : m.text;
    return h(
      "li",
      { class: m.userId === myId ? "mine" : "theirs", "data-seq": m.seq, "data-user": m.userId },
      h("span", { class: "who" }, nameOf(m.userId)),
      " ",
      h("span", { class: "text" }, text),
      " ",
      h("time", {}, clock(m.createdAt)),
      h("span", { class: "seen" }),
    );
  }

  /** A part of a message element; messageEl always makes both, so a missing one is a bug. */
  function partOf(el: HTMLElement, part: "who" | "seen"): HTMLElement {
    const found = el.querySelector<HTMLElement>(`.${part}`);
    if (!found) throw new Error(`chat: message element has no .${part} part`);
    return found;
  }

  function add(m: Message | ChatMessage, where: "end" | "start"): void {
    if (rendered.has(m.seq)) return;
    const el = messageEl(m);
    rendered.set(m.seq, el);
    if (!names.has(m.userId) && m.userId !== myId) void loadNames();
    if (where === "start") messages.prepend(el);
    else {
      messages.append(el);
      messages.scrollTop = messages.scrollHeight;
    }
    oldest = oldest === null ? m.seq : Math.min(oldest, m.seq);
  }

  function drawPeople(): void {
    people.textContent = `Online: ${[...online].map(nameOf).join(", ") || "nobody"}`;
    const now = Date.now();
    const who = [...typing].filter(([id, until]) => id !== myId && until > now).map(([id]) => nameOf(id));
    typingLine.textContent = who.length ? `${who.join(", ")} ${who.length > 1 ? "are" : "is"} typing…` : "";
    // "Seen by" under the newest message each member has read up to.
    for (const el of rendered.values()) fill(partOf(el, "seen"));
    for (const [userId, seq] of reads) {
      if (userId === myId) continue;
      const el = [...rendered.entries()].filter(([s]) => s <= seq).sort((a, b) => b[0] - a[0])[0]?.[1];
      const seen = el?.querySelector(".seen");
      if (seen) seen.append(` ✓ ${nameOf(userId)}`);
    }
  }

  const connection: ChatConnection = api.room(room.id);
  connection.on("welcome", (f) => {
    online.clear();
    for (const id of f.online) online.add(id);
    for (const [id, seq] of Object.entries(f.reads ?? {})) reads.set(id, seq);
    drawPeople();
  });
  connection.on("message", (f) => {
    add(f.message, "end");
    markRead(f.message.seq);
  });
  connection.on("presence", (f) => {
    if (f.event === "join") online.add(f.userId);
    else online.delete(f.userId);
    if (!names.has(f.userId)) void loadNames();
    drawPeople();
  });
  connection.on("typing", (f) => {
    typing.set(f.userId, f.active ? Date.now() + TYPING_IDLE_MS * 2 : 0);
    drawPeople();
  });
  connection.on("read", (f) => {
    reads.set(f.userId, f.seq);
    drawPeople();
  });
  connection.on("reset", () => void loadHistory(true));
  const redraw = setInterval(drawPeople, 1_000);

  let readSent = 0;
  function markRead(seq: number): void {
    if (seq <= readSent || document.hidden) return;
    readSent = seq;
    connection.sendVolatile({ type: "read", seq });
  }
  document.addEventListener("visibilitychange", onVisible);
  function onVisible(): void {
    const newest = Math.max(0, ...rendered.keys());
    if (!document.hidden && newest) markRead(newest);
  }

  async function loadHistory(fresh: boolean): Promise<void> {
    try {
      const page = await api.messages(room.id, {
        limit: 30,
        ...(fresh || nextBefore === null ? {} : { before: nextBefore }),
      });
      if (fresh) {
        rendered.clear();
        messages.replaceChildren();
        oldest = null;
      }
      for (const m of page.messages) add(m, "start");
      nextBefore = page.nextBefore;
      older.hidden = nextBefore === null;
      if (fresh) {
        messages.scrollTop = messages.scrollHeight;
        const newest = page.messages[0]?.seq;
        if (newest) markRead(newest);
      }
      drawPeople();
    } catch (err) {
      say(describeError(err), "error");
    }
  }
  older.addEventListener("click", () => void loadHistory(false));

  let typingUntil = 0;
  input.addEventListener("input", () => {
    const now = Date.now();
    if (now > typingUntil - TYPING_IDLE_MS / 2) connection.sendVolatile({ type: "typing", active: true });
    typingUntil = now + TYPING_IDLE_MS;
  });
  const typingOff = setInterval(() => {
    if (typingUntil && Date.now() > typingUntil) {
      typingUntil = 0;
      connection.sendVolatile({ type: "typing", active: false });
    }
  }, 1_000);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    typingUntil = 0;
    connection.sendVolatile({ type: "typing", active: false });
    connection.send({ type: "message", text }).catch((err) => say(describeError(err), "error"));
  });

  fill(pane, h("h2", {}, room.name, room.private ? " (private)" : ""), people, older, messages, typingLine, form);
  void loadNames();
  void loadHistory(true);
  input.focus();
  return () => {
    clearInterval(redraw);
    clearInterval(typingOff);
    document.removeEventListener("visibilitychange", onVisible);
    connection.close();
  };
}
