/**
 * @module web/last-seen
 * "last seen …" for the other person of a direct conversation (docs/API.md, "Last seen and
 * privacy"), and the setting that says who sees the reader's own: everyone, contacts, nobody.
 */
import type { RidewireClient } from "@ridewire/client";
import { clock, describeError, h, statusLine } from "./dom";

/** The header line: "online" while they are in the conversation, else when they were last seen; empty when hidden. */
export function lastSeenText(online: boolean, lastSeenAt: number | null, now: number): string {
  if (online) return "online";
  if (lastSeenAt === null) return "";
  const ago = Math.max(0, now - lastSeenAt);
  if (ago < 60_000) return "last seen just now";
  if (ago < 60 * 60_000) return `last seen ${Math.floor(ago / 60_000)} min ago`;
  const then = new Date(lastSeenAt);
  const today = new Date(now);
  if (then.toDateString() === today.toDateString()) return `last seen today at ${clock(lastSeenAt)}`;
  const yesterday = new Date(now - 24 * 60 * 60_000);
  if (then.toDateString() === yesterday.toDateString()) return `last seen yesterday at ${clock(lastSeenAt)}`;
  return `last seen ${then.toLocaleDateString([], { day: "numeric", month: "short" })} at ${clock(lastSeenAt)}`;
}

const CHOICES = [
  ["everyone", "Everyone"],
  ["contacts", "My contacts (people I have messaged directly)"],
  ["nobody", "Nobody"],
] as const;

/** The privacy card: one select, saved as it changes. */
export function privacySettings(api: RidewireClient): HTMLElement {
  const status = statusLine();
  const select = h(
    "select",
    { name: "lastSeen", "aria-label": "Who sees when I was last online", disabled: true },
    ...CHOICES.map(([value, text]) => h("option", { value }, text)),
  );
  let saved = "everyone";
  void api.privacy().then(
    (p) => {
      saved = p.lastSeen;
      select.value = saved;
      select.disabled = false;
    },
    (err) => status.say(describeError(err), "error"),
  );
  select.addEventListener("change", async () => {
    const next = CHOICES.find(([value]) => value === select.value)?.[0];
    if (!next) return;
    select.disabled = true;
    try {
      saved = (await api.setPrivacy({ lastSeen: next })).lastSeen;
      const who = next === "everyone" ? "everyone" : next === "contacts" ? "only your contacts" : "nobody";
      status.say(`Saved: ${who} can see when you were last online.`);
    } catch (err) {
      select.value = saved;
      status.say(describeError(err), "error");
    } finally {
      select.disabled = false;
    }
  });
  return h(
    "section",
    { class: "card settings", "aria-label": "Settings" },
    h("h2", {}, "Settings"),
    h("label", {}, "Who sees when I was last online ", select),
    status.el,
  );
}
