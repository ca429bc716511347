/**
 * @module web/chat-room
 * One open chat room (a group or a direct conversation): its history (older pages on demand)
 * and live frames, where messages arrive, change (edits, deletes, reactions) and are answered;
 * who is online, who is typing, and how far each member has read; the delivery state of the
 * reader's own messages (web/chat-ticks.ts); in a direct conversation, when the other person was
 * last seen; its members, each a way into a direct conversation; and the composer
 * (web/chat-composer.ts).
 */
import {
  type ChatConnection,
  type ChatMessage,
  DeliveryTracker,
  type RidewireClient,
  type Room,
  type RoomMember,
} from "@ridewire/client";
import { composer } from "./chat-composer";
import { FileCache } from "./chat-files";
import { applyChange, changedSeq, type MessageContext, messageItem, replaceItem } from "./chat-message";
import { type Receipts, ticksOf } from "./chat-ticks";
import { describeError, fill, h } from "./dom";
import { lastSeenText } from "./last-seen";

const TYPING_IDLE_MS = 3_000;
/** A reader's read marks go at most this often in a busy room (the newest message they saw). */
const READ_MARK_EVERY_MS = 1_000;

export type RoomOpening = {
  api: RidewireClient;
  me: { id: string; role: string };
  room: Room;
  /** The heading: the room's name, or the other person's in a direct conversation. */
  title: string;
  say: (text: string, kind?: "info" | "error") => void;
  /** Opens (or starts) the direct conversation with a member. */
  messageMember: (member: RoomMember) => void;
};

/** Draws the room into `pane`; returns the function that closes its connection. */
export function openRoom(pane: HTMLElement, opening: RoomOpening): () => void {
  const { api, me, room, say } = opening;
  const myId = me.id;
  const names = new Map<string, string>();
  const online = new Set<string>();
  const reads = new Map<string, number>();
  const typing = new Map<string, number>();
  const state = new Map<number, ChatMessage>();
  const items = new Map<number, HTMLLIElement>();
  const files = new FileCache(api, room.id);
  let roles: Record<string, string> = {};
  /** Live delivery state from this connection's frames; rebuilt by each welcome. */
  const tracker = new DeliveryTracker();
  /** What history said of the pages loaded: receipts of own messages by seq, and the peer's marks. */
  const receipts: Receipts = { bySeq: new Map(), peer: null };
  /** The other person of a direct conversation, once the members are known, and when they were last seen. */
  let peerId: string | null = null;
  let peerLastSeen: number | null = null;
  let nextBefore: number | null = null;
  /**
   * The first welcome starts the socket at the room's newest seq with no replay (no cursor), and the
   * first history page may have been read before it: a message stored between the two would be in
   * neither. Once both are in, the room's seq at each read is compared once (catchUpOnce), and the
   * page read again if the page's is older. Messages that came live since are no measure: they are
   * newer than the welcome, and the gap lies below them.
   */
  let firstWelcomeSeq: number | null = null;
  let historySeq: number | null = null;
  let caughtUp = false;

  const nameOf = (userId: string) => (userId === myId ? "You" : (names.get(userId) ?? "someone"));
  const messages = h("ol", { class: "messages", "aria-label": `Messages in ${opening.title}`, "aria-live": "polite" });
  const older = h("button", { type: "button", class: "link", hidden: true }, "Load older messages");
  const people = h("p", { class: "people", "aria-live": "polite" });
  const lastSeen = h("p", { class: "last-seen", "data-testid": "last-seen" });
  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const memberList = h("ul", { class: "member-list" });
  const members = h("details", { class: "members" }, h("summary", {}, "Members"), memberList);

  const connection: ChatConnection = api.room(room.id);
  const compose = composer({ api, roomId: room.id, connection, nameOf, sending });

  const context = (): MessageContext => ({
    myId,
    moderator: me.role === "admin" || roles[myId] === "owner" || roles[myId] === "admin",
    nameOf,
    find: (seq) => state.get(seq),
    files,
    actions: {
      react: (seq, emoji) => act({ type: "react", seq, emoji }),
      reply: (m) => compose.replyTo(m),
      edit: (seq, text) => act({ type: "edit", seq, text }),
      remove: (seq) => {
        if (confirm("Delete this message for everyone?")) act({ type: "delete", seq });
      },
    },
  });
  /** A change goes as a frame: acknowledged, and re-sent after a reconnect; the room's frame then shows it. */
  const act = (frame: Parameters<ChatConnection["send"]>[0]) =>
    void connection.send(frame).catch((err) => say(describeError(err), "error"));

  const loadNames = async () => {
    try {
      const list = await api.members(room.id);
      for (const m of list) names.set(m.userId, m.name);
      drawMembers(list);
      if (room.kind === "direct" && !peerId) {
        peerId = list.find((m) => m.userId !== myId)?.userId ?? null;
        void readLastSeen();
      }
      redrawAll();
    } catch {
      // Names are a nicety; the messages still show.
    }
  };

  function drawMembers(list: RoomMember[]): void {
    fill(
      memberList,
      ...list.map((m) =>
        h(
          "li",
          {},
          h("span", {}, m.userId === myId ? `${m.name} (you)` : m.name),
          m.role === "member" ? null : h("span", { class: "hint" }, ` ${m.role}`),
          room.kind === "direct" || m.userId === myId
            ? null
            : h(
                "button",
                { type: "button", class: "link", onclick: () => opening.messageMember(m) },
                `Message ${m.name}`,
              ),
        ),
      ),
    );
    members.hidden = room.kind === "direct";
  }

  /** Shows `m` (new, or its new version in place) and re-quotes the replies to it. */
  function put(m: ChatMessage, where: "end" | "start"): void {
    state.set(m.seq, m);
    const el = messageItem(m, context());
    const before = items.get(m.seq);
    items.set(m.seq, el);
    if (before) replaceItem(before, el);
    else if (where === "start") messages.prepend(el);
    else {
      const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
      messages.append(el);
      if (atBottom || m.userId === myId) messages.scrollTop = messages.scrollHeight;
    }
    if (!names.has(m.userId) && m.userId !== myId) void loadNames();
    if (before) for (const other of state.values()) if (other.replyTo === m.seq) put(other, "end");
  }

  /**
   * A message of ours on its way: "Sending…" until acknowledged (then the stored message, which
   * its frame brings, is the sent one), or why it was not sent.
   */
  function sending(summary: string, ack: Promise<unknown>): void {
    const delivery = h("span", { class: "delivery" }, "Sending…");
    const el = h("li", { class: "mine pending" }, h("span", { class: "who" }, "You"), " ", summary, " ", delivery);
    messages.append(el);
    messages.scrollTop = messages.scrollHeight;
    ack.then(
      () => el.remove(),
      (err) => {
        el.classList.add("failed");
        fill(
          delivery,
          `Not sent: ${describeError(err)} `,
          h("button", { type: "button", class: "link", onclick: () => el.remove() }, "Dismiss"),
        );
      },
    );
  }

  function redrawAll(): void {
    for (const m of state.values()) {
      const el = messageItem(m, context());
      const before = items.get(m.seq);
      // Unchanged ones stay: a redrawn item is news again to a screen reader (the list is a live region).
      if (!before || sameItem(before, el)) continue;
      replaceItem(before, el);
      items.set(m.seq, el);
    }
    drawPeople();
  }

  /** Asked when the room opens and when the other person leaves it; null when never seen or hidden. */
  async function readLastSeen(): Promise<void> {
    if (!peerId) return;
    try {
      peerLastSeen = await api.lastSeen(peerId);
    } catch {
      peerLastSeen = null;
    }
    drawPeople();
  }

  /** Redrawn every second (typing ends by itself): only what changed is touched, or a screen reader hears it again. */
  function drawPeople(): void {
    setText(people, `Online: ${[...online].map(nameOf).join(", ") || "nobody"}`);
    if (room.kind === "direct")
      setText(lastSeen, lastSeenText(peerId !== null && online.has(peerId), peerLastSeen, Date.now()));
    const now = Date.now();
    const who = [...typing].filter(([id, until]) => id !== myId && until > now).map(([id]) => nameOf(id));
    setText(typingLine, who.length ? `${who.join(", ")} ${who.length > 1 ? "are" : "is"} typing…` : "");
    // "Seen by" under the newest message each member has read up to.
    const seen = new Map<number, string>();
    const seqs = [...items.keys()].sort((a, b) => b - a);
    // A direct conversation says it with the ticks (web/chat-ticks.ts): "✓ name" there would say it twice.
    for (const [userId, seq] of room.kind === "direct" ? [] : reads) {
      if (userId === myId) continue;
      const at = seqs.find((s) => s <= seq);
      if (at !== undefined) seen.set(at, `${seen.get(at) ?? ""} ✓ ${nameOf(userId)}`);
    }
    for (const [seq, el] of items) {
      const part = el.querySelector<HTMLElement>(".seen");
      if (part) setText(part, seen.get(seq) ?? "");
      const ticks = el.querySelector<HTMLElement>(".ticks");
      if (ticks) ticksOf(ticks, seq, myId, room.kind === "direct", tracker, receipts);
    }
  }

  connection.on("frame", (f) => tracker.apply(f));
  connection.on("delivered", () => drawPeople());
  connection.on("welcome", (f) => {
    online.clear();
    for (const id of f.online) online.add(id);
    for (const [id, seq] of Object.entries(f.reads ?? {})) reads.set(id, seq);
    roles = f.roles ?? {};
    redrawAll();
    markNewest();
    // A reconnect resumes from its cursor, and its replay follows: only the first welcome counts.
    firstWelcomeSeq ??= f.seq;
    catchUpOnce();
  });
  connection.on("message", (f) => {
    put(f.message, "end");
    markRead(f.message.seq);
  });
  for (const type of ["edit", "delete", "reaction"] as const)
    connection.on(type, (f) => {
      const m = state.get(changedSeq(f));
      if (m) put(applyChange(m, f, myId), "end");
      drawPeople();
    });
  connection.on("presence", (f) => {
    if (f.event === "join") online.add(f.userId);
    else online.delete(f.userId);
    if (f.event !== "join" && f.userId === peerId) void readLastSeen();
    if (!names.has(f.userId)) void loadNames();
    drawPeople();
  });
  connection.on("member", () => void loadNames());
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
  // Their connections elsewhere (other rooms, trips) move it too, which this room does not hear of.
  const lastSeenTimer = room.kind === "direct" ? setInterval(() => void readLastSeen(), 60_000) : undefined;

  let readSent = 0;
  let readSeen = 0;
  let readTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Moves the read mark (which clears the room's unread count): at once, then at most once every
   * READ_MARK_EVERY_MS with the newest message seen. The room sends each mark to every member, so
   * in a busy room a mark per message would cost members × members frames per message.
   */
  function markRead(seq: number): void {
    if (seq <= readSeen || document.hidden) return;
    readSeen = seq;
    if (readTimer === undefined) sendRead(true);
  }
  /** On the socket, or over HTTP before it is open; `again`: hold the next one back for a while. */
  function sendRead(again: boolean): void {
    readTimer = undefined;
    if (readSeen <= readSent) return;
    readSent = readSeen;
    if (!connection.sendVolatile({ type: "read", seq: readSent }))
      void api.markRead(room.id, readSent).catch(() => undefined);
    if (again) readTimer = setTimeout(() => sendRead(true), READ_MARK_EVERY_MS);
  }
  const markNewest = () => {
    const newest = Math.max(0, ...items.keys());
    if (newest) markRead(newest);
  };
  document.addEventListener("visibilitychange", markNewest);

  /** Once: the newest event may be no message (a member who joined), which no page shows. */
  function catchUpOnce(): void {
    if (caughtUp || firstWelcomeSeq === null || historySeq === null) return;
    caughtUp = true;
    if (firstWelcomeSeq > historySeq) void loadHistory(true);
  }

  async function loadHistory(fresh: boolean): Promise<void> {
    try {
      const page = await api.messages(room.id, {
        limit: 30,
        ...(fresh || nextBefore === null ? {} : { before: nextBefore }),
      });
      // Messages that came in on the socket while the page was on its way (a `reset` reloads it with
      // the socket open) are newer than it: they stay, after it, instead of being cleared with the rest.
      const newest = Math.max(0, ...page.messages.map((m) => m.seq));
      const arrived = fresh ? [...state.values()].filter((m) => m.seq > newest).sort((a, b) => a.seq - b.seq) : [];
      if (fresh) {
        state.clear();
        items.clear();
        messages.replaceChildren();
        receipts.bySeq.clear();
      }
      for (const r of page.receipts ?? []) receipts.bySeq.set(r.seq, r);
      if (page.peer !== undefined && (fresh || page.peer)) receipts.peer = page.peer;
      for (const m of page.messages) put(m, "start");
      for (const m of arrived) put(m, "end");
      // Replies on this page may quote messages that came in on it.
      redrawAll();
      nextBefore = page.nextBefore;
      older.hidden = nextBefore === null;
      if (fresh) {
        messages.scrollTop = messages.scrollHeight;
        markNewest();
      }
      // A server without the page's `seq` is measured by the page's newest message instead.
      if (fresh) historySeq = Math.max(historySeq ?? 0, page.seq ?? newest);
      catchUpOnce();
    } catch (err) {
      say(describeError(err), "error");
    }
  }
  older.addEventListener("click", () => void loadHistory(false));

  fill(
    pane,
    h("h2", {}, opening.title, room.private && room.kind !== "direct" ? " (private)" : ""),
    // A direct conversation's header says "online" or when the other person was last seen instead.
    room.kind === "direct" ? lastSeen : people,
    members,
    older,
    messages,
    typingLine,
    compose.el,
  );
  void loadNames();
  void loadHistory(true);
  compose.focus();
  return () => {
    clearInterval(redraw);
    clearInterval(lastSeenTimer);
    // A mark held back goes now: what was seen stays read.
    clearTimeout(readTimer);
    sendRead(false);
    compose.close();
    document.removeEventListener("visibilitychange", markNewest);
    connection.close();
    files.close();
  };
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** The same message drawn again, but for what is filled in later (read marks, a loaded image's URL). */
function sameItem(shown: HTMLElement, fresh: HTMLElement): boolean {
  const copy = shown.cloneNode(true) as HTMLElement;
  for (const seen of copy.querySelectorAll(".seen, .ticks")) {
    seen.replaceChildren();
    for (const name of ["aria-label", "data-status", "title"]) seen.removeAttribute(name);
  }
  for (const img of copy.querySelectorAll("img")) img.removeAttribute("src");
  for (const open of copy.querySelectorAll("details[open]")) open.removeAttribute("open");
  return copy.innerHTML === fresh.innerHTML;
}
