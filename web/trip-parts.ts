/**
 * @module web/trip-parts
 * What the rider's and the driver's views share about a trip: the trip chat over the trip
 * room connection (history by resume, then live), the rating form after completion, the SOS
 * button, and the words for each status.
 */
import type { LatLng, Message, RidewireClient, Trip, TripConnection, TripRider } from "@ridewire/client";
import { clock, describeError, fill, h, statusLine } from "./dom";

/** "★ 4.8" to one decimal, or `unrated` ("new driver") before anyone rated them. */
export function ratingText(rating: number | null, unrated: string): string {
  return rating === null ? unrated : `★ ${rating.toFixed(1)}`;
}

/** "Cai · ★ 4.6": whom the driver is to pick up, on the offer and on the trip. */
export function riderLine(rider: TripRider): string {
  return `${rider.firstName} · ${ratingText(rider.rating, "new rider")}`;
}

export const STATUS_TEXT: Record<Trip["status"], string> = {
  scheduled: "Scheduled",
  matching: "Finding a driver…",
  accepted: "Driver on the way",
  arrived: "Driver has arrived",
  in_progress: "On the way to the dropoff",
  completed: "Trip completed",
  cancelled: "Trip cancelled",
  no_driver: "No driver found",
};

/** Why the trip chat no longer takes messages, by how the trip ended. */
export function chatClosedText(status: Trip["status"]): string {
  return status === "completed"
    ? "The trip is over: the chat is closed."
    : status === "cancelled"
      ? "The trip was cancelled: the chat is closed."
      : "No driver was found: the chat is closed.";
}

export const ACTIVE: ReadonlySet<Trip["status"]> = new Set(["matching", "accepted", "arrived", "in_progress"]);

/** The trip chat: messages as they arrive on `connection`, and a form that sends one. */
export function tripChat(
  connection: TripConnection,
  myId: string,
  otherName: string,
): { el: HTMLElement; add: (m: Message) => void; close: (why: string) => void } {
  const list = h("ol", { class: "messages", "aria-label": "Trip chat", "aria-live": "polite" });
  const seen = new Set<number>();
  const add = (m: Message) => {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    const mine = m.userId === myId;
    list.append(
      h(
        "li",
        { class: mine ? "mine" : "theirs" },
        h("span", { class: "who" }, mine ? "You" : otherName),
        " ",
        h("span", { class: "text" }, m.text),
        " ",
        h("time", {}, clock(m.createdAt)),
      ),
    );
    list.scrollTop = list.scrollHeight;
  };
  const input = h("input", {
    type: "text",
    name: "message",
    placeholder: "Message",
    "aria-label": "Message",
    maxlength: 4000,
    autocomplete: "off",
  });
  const status = statusLine();
  const sendButton = h("button", { type: "submit" }, "Send");
  const form = h("form", { class: "send" }, input, sendButton);
  // Once the trip is over the room takes no more messages: the form says so instead of failing.
  const closedText = h("p", { class: "chat-closed", "data-testid": "chat-closed", hidden: true });
  const close = (why: string) => {
    input.disabled = true;
    sendButton.disabled = true;
    input.placeholder = "Chat closed";
    closedText.textContent = why;
    closedText.hidden = false;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || input.disabled) return;
    input.value = "";
    // Queued in the SDK's outbox while offline; the ack carries the stored seq.
    connection.send({ type: "message", text }).catch((err) => status.say(describeError(err), "error"));
  });
  return { el: h("section", { class: "chat" }, h("h3", {}, "Chat"), list, form, closedText, status.el), add, close };
}

/** Stars 1–5 and a comment, sent once; `done` after the answer. */
export function ratingForm(api: RidewireClient, tripId: string, whom: string, done: () => void): HTMLElement {
  const status = statusLine();
  const comment = h("input", {
    type: "text",
    name: "comment",
    maxlength: 500,
    placeholder: "Comment (optional)",
    "aria-label": "Comment",
  });
  const stars = h("div", { class: "stars", role: "group", "aria-label": `Rate your ${whom}` });
  const form = h("form", { class: "rating" }, h("h3", {}, `Rate your ${whom}`), stars, comment, status.el);
  for (let n = 1; n <= 5; n++) {
    stars.append(
      h(
        "button",
        {
          type: "button",
          class: "star",
          "aria-label": `${n} star${n > 1 ? "s" : ""}`,
          onclick: async () => {
            for (const b of stars.querySelectorAll("button")) b.disabled = true;
            try {
              await api.rateTrip(tripId, {
                stars: n,
                ...(comment.value.trim() ? { comment: comment.value.trim() } : {}),
              });
              fill(form, h("p", { class: "thanks" }, `Thanks: you gave ${n} star${n > 1 ? "s" : ""}.`));
              done();
            } catch (err) {
              status.say(describeError(err), "error");
              for (const b of stars.querySelectorAll("button")) b.disabled = false;
            }
          },
        },
        "★".repeat(1) + String(n),
      ),
    );
  }
  return form;
}

/**
 * The SOS button of a trip's rider or driver: one press raises an alert with `where()` (the
 * app's best idea of where its user is), which operators see at once. `tripId()` is the trip
 * on screen, or null when there is none.
 */
export function sosButton(
  api: RidewireClient,
  tripId: () => string | null,
  where: () => LatLng,
  say: (text: string, kind?: "info" | "error") => void,
): HTMLButtonElement {
  const button = h("button", { type: "button", class: "sos" }, "SOS");
  button.addEventListener("click", async () => {
    const id = tripId();
    if (!id) return;
    button.disabled = true;
    try {
      await api.raiseSos(id, { location: where() });
      say("SOS sent: operators have been alerted.");
    } catch (err) {
      say(describeError(err), "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
