/**
 * @module notify/templates
 * What an email (subject, text and HTML) and an SMS say, per notification. Only the types the
 * routing table sends on those channels have a template; the others answer null and the channel
 * is skipped. Every value that came from a user (their name) or a client (an IP address) is
 * escaped in the HTML, so a name like `<img src=x>` arrives as text, not markup.
 */
import { formatMoney, type NotificationMessage } from "./message";

export type Email = { subject: string; text: string; html: string };

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A name on one line and of a sane length: it goes into a greeting, never into a header. */
function displayName(name: string): string {
  const flat = Array.from(name.replace(/\p{Cc}+/gu, " ").trim());
  return flat.length > 60 ? `${flat.slice(0, 59).join("")}…` : flat.join("") || "there";
}

function utc(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function page(title: string, paragraphs: string[]): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family:sans-serif;line-height:1.4">` +
    paragraphs.map((p) => `<p>${p}</p>`).join("") +
    `<p style="color:#666;font-size:12px">ridewire</p></body></html>`
  );
}

export function emailFor(message: NotificationMessage, recipientName: string): Email | null {
  const name = displayName(recipientName);
  switch (message.type) {
    case "receipt": {
      const amount = formatMoney(message.data.amount);
      const what = message.data.kind === "fee" ? "Cancellation fee" : "Trip fare";
      const subject = `Your ridewire receipt: ${amount}`;
      const lines = [`Hi ${name},`, `${what}: ${amount}.`, `Trip: ${message.data.tripId}`, "Thank you for riding."];
      return {
        subject,
        text: `${lines.join("\n\n")}\n\n-- ridewire\n`,
        html: page(subject, [
          `Hi ${escapeHtml(name)},`,
          `${what}: <strong>${escapeHtml(amount)}</strong>.`,
          `Trip: <code>${escapeHtml(message.data.tripId)}</code>`,
          "Thank you for riding.",
        ]),
      };
    }
    case "security": {
      const when = utc(message.data.at);
      if (message.data.event === "ban") {
        const subject = "Your ridewire account was suspended";
        const body = `An operator suspended your account on ${when}. You are signed out everywhere and cannot sign in.`;
        const appeal = "If you think this is a mistake, reply to this email.";
        return {
          subject,
          text: `Hi ${name},\n\n${body}\n\n${appeal}\n\n-- ridewire\n`,
          html: page(subject, [`Hi ${escapeHtml(name)},`, escapeHtml(body), escapeHtml(appeal)]),
        };
      }
      if (message.data.event === "phone_changed") {
        const subject = "The phone number of your ridewire account changed";
        const from = message.data.ip ? ` from ${message.data.ip}` : "";
        const body = `The phone number of your account was changed or removed on ${when}${from}.`;
        const advice = "If this was not you, change your password and reply to this email: texts may go to a stranger.";
        return {
          subject,
          text: `Hi ${name},\n\n${body}\n\n${advice}\n\n-- ridewire\n`,
          html: page(subject, [`Hi ${escapeHtml(name)},`, escapeHtml(body), escapeHtml(advice)]),
        };
      }
      if (message.data.event === "password_changed") {
        const subject = "Your ridewire password was changed";
        const from = message.data.ip ? ` from ${message.data.ip}` : "";
        const body = `The password of your account was changed on ${when}${from}. Your other sessions were signed out.`;
        const advice = "If this was not you, reply to this email at once: someone else may hold your account.";
        return {
          subject,
          text: `Hi ${name},\n\n${body}\n\n${advice}\n\n-- ridewire\n`,
          html: page(subject, [`Hi ${escapeHtml(name)},`, escapeHtml(body), escapeHtml(advice)]),
        };
      }
      const subject = "New sign-in to your ridewire account";
      const from = message.data.ip ? ` from ${message.data.ip}` : "";
      const body = `Your account was signed in to on ${when}${from}.`;
      const advice =
        "If this was you, there is nothing to do. If not, change your password and sign out of all sessions.";
      return {
        subject,
        text: `Hi ${name},\n\n${body}\n\n${advice}\n\n-- ridewire\n`,
        html: page(subject, [`Hi ${escapeHtml(name)},`, escapeHtml(body), escapeHtml(advice)]),
      };
    }
    default:
      return null;
  }
}

/** SMS text: one segment (160 GSM-7 characters) where it can be, nothing private. */
export function smsFor(message: NotificationMessage): string | null {
  if (message.type === "trip_status" && message.data.status === "arrived") {
    const arrived = "ridewire: Your driver has arrived at the pickup point.";
    // The PIN is on the delayed arrival SMS only: the driver asks for it before the ride starts.
    return message.data.pin === undefined ? arrived : `${arrived} Your trip PIN: ${message.data.pin}`;
  }
  return null;
}
