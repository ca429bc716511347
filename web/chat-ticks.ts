/**
 * @module web/chat-ticks
 * The delivery state of the reader's own messages (docs/API.md, "Delivery state"): in a direct
 * conversation one tick once sent, two once delivered, two blue ones once read; in a group,
 * "delivered to N · read by N". The live state (the SDK's `DeliveryTracker`, from the room's
 * frames) and what history said of a loaded page (its `receipts` and `peer`) are combined, the
 * higher of each counting: marks only move forward.
 */
import type { DeliveryTracker, MessageReceipt, PeerMarks } from "@ridewire/client";
import { h } from "./dom";

export type Receipts = { bySeq: Map<number, MessageReceipt>; peer: PeerMarks | null };

const WORDS = { sent: "Sent", delivered: "Delivered", read: "Read" } as const;

/** Fills `el` (a message's `.ticks`) for the message at `seq`; touches the DOM only when it changes. */
export function ticksOf(
  el: HTMLElement,
  seq: number,
  myId: string,
  direct: boolean,
  tracker: DeliveryTracker,
  receipts: Receipts,
): void {
  const live = tracker.stateOf(seq, myId);
  const stored = receipts.bySeq.get(seq);
  let deliveredTo = Math.max(live.deliveredTo, stored?.deliveredTo ?? 0);
  let readBy = Math.max(live.readBy, stored?.readBy ?? 0);
  const peer = receipts.peer;
  if (direct && peer) {
    if (peer.readThrough >= seq) readBy = Math.max(readBy, 1);
    if (peer.deliveredThrough >= seq) deliveredTo = Math.max(deliveredTo, 1);
  }
  const status = readBy > 0 ? "read" : deliveredTo > 0 ? "delivered" : "sent";
  const marks = status === "sent" ? "✓" : "✓✓";
  const caption = direct ? "" : status === "sent" ? " sent" : ` delivered to ${deliveredTo} · read by ${readBy}`;
  const label = direct ? WORDS[status] : status === "sent" ? "Sent" : `Delivered to ${deliveredTo}, read by ${readBy}`;
  if (el.textContent === marks + caption && el.dataset.status === status) return;
  el.replaceChildren(h("span", { class: "marks" }, marks), caption);
  el.dataset.status = status;
  el.setAttribute("aria-label", label);
  el.title = label;
  el.setAttribute("role", "img");
}
