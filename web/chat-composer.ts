/**
 * @module web/chat-composer
 * Where a message is written: the text, a file attached (uploaded as soon as it is picked, so a
 * refusal shows before Send), the message it answers, and "typing" while the text changes.
 */
import type { Attachment, ChatConnection, ChatMessage, RidewireClient } from "@ridewire/client";
import { ACCEPTED_TYPES, AttachmentRefused, formatBytes, uploadFile } from "./chat-files";
import { summaryOf } from "./chat-message";
import { describeError, fill, h } from "./dom";

const TYPING_IDLE_MS = 3_000;

export type Composer = {
  el: HTMLElement;
  replyTo(message: ChatMessage): void;
  focus(): void;
  close(): void;
};

export function composer(options: {
  api: RidewireClient;
  roomId: string;
  connection: ChatConnection;
  nameOf: (userId: string) => string;
  /** Shows a message on its way until the server acknowledges it (stored: sent) or refuses it. */
  sending: (summary: string, ack: Promise<unknown>) => void;
}): Composer {
  const { api, roomId, connection } = options;
  let replying: ChatMessage | null = null;
  let attached: Attachment | null = null;
  let uploading = false;
  /** Counts picks: only the latest one's upload is attached. */
  let uploads = 0;

  const input = h("input", {
    type: "text",
    name: "message",
    placeholder: "Message",
    "aria-label": "Message",
    maxlength: 4000,
    autocomplete: "off",
  });
  // Out of sight and out of the tab order (the "File" button opens it), but named for whoever reaches it.
  const picker = h("input", {
    type: "file",
    name: "file",
    accept: ACCEPTED_TYPES,
    class: "visually-hidden",
    "aria-label": "File to attach",
  });
  picker.tabIndex = -1;
  const attach = h(
    "button",
    { type: "button", class: "attach", "aria-label": "Attach a file", onclick: () => picker.click() },
    // Words, not an icon alone: a paperclip glyph is missing where no emoji font is installed.
    h("span", { "aria-hidden": "true" }, "+ "),
    "File",
  );
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const replyLine = h("div", { class: "replying", hidden: true });
  const fileLine = h("div", { class: "attached", "aria-live": "polite", hidden: true });
  const form = h("form", { class: "send", "aria-label": "Write a message" }, attach, picker, input, send);
  const el = h("div", { class: "composer" }, replyLine, fileLine, form);

  function drawReply(): void {
    replyLine.hidden = !replying;
    if (!replying) {
      fill(replyLine);
      return;
    }
    fill(
      replyLine,
      h("span", {}, `Replying to ${options.nameOf(replying.userId)}: ${summaryOf(replying)}`),
      h("button", { type: "button", class: "link", onclick: () => setReply(null) }, "Cancel reply"),
    );
  }
  function setReply(m: ChatMessage | null): void {
    replying = m;
    drawReply();
    input.focus();
  }

  function drawFile(text?: string, kind: "info" | "error" = "info"): void {
    fileLine.hidden = !text && !attached;
    fileLine.dataset.kind = kind;
    send.disabled = uploading;
    if (text) fill(fileLine, h("span", {}, text), dismiss("Dismiss"));
    else if (attached)
      fill(
        fileLine,
        h("span", {}, `Attached: ${attached.filename} (${formatBytes(attached.size)})`),
        dismiss("Remove file"),
      );
    else fill(fileLine);
  }
  const dismiss = (label: string) =>
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          // An upload still under way is forgotten too: its file is not attached when it ends.
          uploads++;
          uploading = false;
          attached = null;
          drawFile();
        },
      },
      label,
    );

  picker.addEventListener("change", async () => {
    const file = picker.files?.[0];
    picker.value = "";
    if (!file) return;
    const ticket = ++uploads;
    attached = null;
    uploading = true;
    drawFile(`Uploading ${file.name}…`);
    try {
      const uploaded = await uploadFile(api, roomId, file);
      if (ticket !== uploads) return;
      attached = uploaded;
      uploading = false;
      drawFile();
    } catch (err) {
      if (ticket !== uploads) return;
      uploading = false;
      drawFile(err instanceof AttachmentRefused ? err.message : describeError(err), "error");
    }
  });

  let typingUntil = 0;
  input.addEventListener("input", () => {
    const now = Date.now();
    if (now > typingUntil - TYPING_IDLE_MS / 2) connection.sendVolatile({ type: "typing", active: true });
    typingUntil = now + TYPING_IDLE_MS;
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && replying) setReply(null);
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
    if (uploading || (!text && !attached)) return;
    const frame = {
      type: "message" as const,
      ...(text ? { text } : {}),
      ...(attached ? { attachments: [{ key: attached.key }] } : {}),
      ...(replying ? { replyTo: replying.seq } : {}),
    };
    const summary = [text, attached ? `(${attached.filename})` : ""].filter(Boolean).join(" ");
    input.value = "";
    attached = null;
    setReply(null);
    drawFile();
    typingUntil = 0;
    connection.sendVolatile({ type: "typing", active: false });
    options.sending(summary, connection.send(frame));
  });

  return {
    el,
    replyTo: setReply,
    focus: () => input.focus(),
    close: () => clearInterval(typingOff),
  };
}
