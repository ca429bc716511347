/**
 * @module web/chat-message
 * One chat message as the room shows it: who and when, the text (with "edited"), or a tombstone
 * once deleted; the message it answers, quoted; its files; its reactions as toggle buttons with
 * counts; and a menu of what the reader may do with it (react, reply, and for its author edit,
 * for its author or a moderator delete). Also how a stored change (edit, delete, reaction frame)
 * changes a message, so history and live frames end up the same.
 */
import type { ChatMessage, ChatServerFrame } from "@ridewire/client";
import { append, clock, h } from "./dom";
import { type FileCache, filesEl } from "./chat-files";

/** The reactions the menu offers (any emoji is allowed; these are one tap away). */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮"];

export type MessageActions = {
  react(seq: number, emoji: string): void;
  reply(message: ChatMessage): void;
  edit(seq: number, text: string): void;
  remove(seq: number): void;
};

export type MessageContext = {
  myId: string;
  /** The reader may delete others' messages (a room owner or admin, or an operator). */
  moderator: boolean;
  nameOf(userId: string): string;
  /** The message of that seq if this page has it (for a reply's quote). */
  find(seq: number): ChatMessage | undefined;
  files: FileCache;
  actions: MessageActions;
};

type ChatChange = Extract<ChatServerFrame, { type: "edit" | "delete" | "reaction" }>;

/** The seq of the message a change is about. */
export function changedSeq(frame: ChatChange): number {
  if (frame.type === "edit") return frame.edit.messageSeq;
  if (frame.type === "delete") return frame.delete.messageSeq;
  return frame.reaction.messageSeq;
}

/** `m` with one stored change applied, as history would answer it after that change. */
export function applyChange(m: ChatMessage, frame: ChatChange, myId: string): ChatMessage {
  if (frame.type === "edit") return m.deleted ? m : { ...m, text: frame.edit.text, editedAt: frame.edit.editedAt };
  if (frame.type === "delete") {
    // A tombstone keeps who and when, and nothing of what was said (API.md, history).
    const { id, roomId, seq, userId, createdAt } = m;
    return { id, roomId, seq, userId, createdAt, deleted: true, deletedAt: frame.delete.deletedAt };
  }
  if (m.deleted) return m;
  const { emoji, count, on, userId } = frame.reaction;
  const before = m.reactions ?? [];
  const mine = userId === myId;
  const found = before.find((r) => r.emoji === emoji);
  const reactions =
    count === 0
      ? before.filter((r) => r.emoji !== emoji)
      : found
        ? before.map((r) => (r.emoji === emoji ? { emoji, count, me: mine ? on : r.me } : r))
        : [...before, { emoji, count, me: mine && on }];
  return { ...m, reactions };
}

/** A short line of a message, for a reply's quote and the composer's "Replying to". */
export function summaryOf(m: ChatMessage | undefined): string {
  if (!m) return "an earlier message";
  if (m.deleted) return "a deleted message";
  const text = m.text?.trim() ?? "";
  if (text) return text.length > 80 ? `${text.slice(0, 79)}…` : text;
  const files = m.attachments?.length ?? 0;
  return files ? `${files} file${files > 1 ? "s" : ""}` : "a message";
}

/** The list item of a message; `messageItem` again with the changed message makes its replacement. */
export function messageItem(m: ChatMessage, ctx: MessageContext): HTMLLIElement {
  const mine = m.userId === ctx.myId;
  const li = h("li", {
    class: `${mine ? "mine" : "theirs"}${m.deleted ? " deleted" : ""}`,
    "data-seq": m.seq,
    "data-user": m.userId,
  });
  if (m.replyTo !== undefined && !m.deleted) {
    const quoted = ctx.find(m.replyTo);
    li.append(
      h(
        "blockquote",
        { class: "quote", "data-reply-to": m.replyTo },
        h("span", { class: "quote-who" }, quoted ? ctx.nameOf(quoted.userId) : "Reply"),
        ": ",
        summaryOf(quoted),
      ),
    );
  }
  append(
    li,
    h("span", { class: "who" }, ctx.nameOf(m.userId)),
    " ",
    m.deleted
      ? h("span", { class: "text tombstone" }, "This message was deleted")
      : h("span", { class: "text" }, m.text ?? ""),
    m.editedAt && !m.deleted ? h("span", { class: "edited" }, " (edited)") : null,
    " ",
    h("time", { datetime: new Date(m.createdAt).toISOString() }, clock(m.createdAt)),
    // Filled in by the room from the delivery state (sent, delivered, read), as it changes.
    mine && !m.deleted ? h("span", { class: "ticks" }) : null,
    h("span", { class: "seen" }),
  );
  if (m.deleted) return li;
  // The menu ends the first line, so it does not move when files or reactions come and go.
  li.append(menuEl(m, ctx));
  if (m.attachments?.length) li.append(filesEl(m.attachments, ctx.files));
  if (m.reactions?.length) li.append(reactionsEl(m, ctx));
  return li;
}

function reactionsEl(m: ChatMessage, ctx: MessageContext): HTMLElement {
  return h(
    "div",
    { class: "reactions" },
    ...(m.reactions ?? []).map((r) =>
      h(
        "button",
        {
          type: "button",
          class: "reaction",
          "data-key": `reaction ${r.emoji}`,
          "aria-pressed": r.me ? "true" : "false",
          "aria-label": `${r.emoji} ${r.count}${r.me ? ", yours: remove it" : ": add yours"}`,
          onclick: () => ctx.actions.react(m.seq, r.emoji),
        },
        `${r.emoji} ${r.count}`,
      ),
    ),
  );
}

/** A disclosure (keyboard and touch alike) with the reactions and what the reader may do. */
function menuEl(m: ChatMessage, ctx: MessageContext): HTMLElement {
  const mine = m.userId === ctx.myId;
  const menu = h("details", { class: "actions" });
  const close = () => menu.removeAttribute("open");
  const act = (label: string, run: () => void, extra: Record<string, string> = {}) =>
    h(
      "button",
      {
        type: "button",
        "data-key": `action ${extra["aria-label"] ?? label}`,
        ...extra,
        onclick: () => {
          close();
          run();
        },
      },
      label,
    );
  menu.append(
    h("summary", { "data-key": "menu", "aria-label": `Actions for the message from ${ctx.nameOf(m.userId)}` }, "⋯"),
    h(
      "div",
      { class: "action-list" },
      ...QUICK_REACTIONS.map((emoji) =>
        act(emoji, () => ctx.actions.react(m.seq, emoji), { "aria-label": `React ${emoji}`, class: "emoji" }),
      ),
      act("Reply", () => ctx.actions.reply(m)),
      mine && m.text ? act("Edit", () => startEdit(menu.parentElement, m, ctx)) : null,
      mine || ctx.moderator ? act("Delete", () => ctx.actions.remove(m.seq), { class: "danger" }) : null,
    ),
  );
  return menu;
}

/** Swaps the text for a form in place: Enter saves, Escape (or Cancel) puts the text back. */
function startEdit(li: HTMLElement | null, m: ChatMessage, ctx: MessageContext): void {
  const text = li?.querySelector<HTMLElement>(".text");
  if (!li || !text) return;
  const input = h("input", {
    type: "text",
    name: "edit",
    "data-key": "edit",
    "aria-label": "Edit message",
    value: m.text ?? "",
    maxlength: 4000,
    required: true,
  });
  const form = h(
    "form",
    { class: "edit-form" },
    input,
    h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", onclick: () => form.replaceWith(text) }, "Cancel"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = input.value.trim();
    form.replaceWith(text);
    if (next && next !== m.text) ctx.actions.edit(m.seq, next);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") form.replaceWith(text);
  });
  text.replaceWith(form);
  input.focus();
  input.select();
}

/**
 * Puts `fresh` (a message drawn again: a change, a name learnt) in the place of `old`, keeping
 * what the reader was doing there: an open menu, a half-written edit, and where the focus was.
 */
export function replaceItem(old: HTMLElement, fresh: HTMLElement): void {
  const focused = old.contains(document.activeElement)
    ? (document.activeElement as HTMLElement | null)?.dataset.key
    : undefined;
  if (old.querySelector("details.actions[open]")) fresh.querySelector("details.actions")?.setAttribute("open", "");
  const editing = old.querySelector(".edit-form");
  const text = fresh.querySelector(".text:not(.tombstone)");
  if (editing && text) text.replaceWith(editing);
  old.replaceWith(fresh);
  if (focused) fresh.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}
