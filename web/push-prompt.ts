/**
 * @module web/push-prompt
 * Asking for notifications at the moment they mean something: never on load, but after the
 * rider's first request ("Get notified when your driver arrives") or when a driver goes online
 * (new offers). The prompt is a card in the page; only its button calls
 * `Notification.requestPermission`, so the browser's own question comes from a click the user
 * chose. Then the push subscription (with the service's VAPID key, GET /v1/devices/webpush-key)
 * is registered as a device (POST /v1/devices). No card when the browser cannot push, the
 * service has no key, permission was refused, or the user said "Not now" (remembered per account).
 * With permission already given, the subscription is registered again quietly (the same
 * endpoint is the same device); one left by another account in this browser is replaced.
 */
import { isRidewireError, type RidewireClient } from "@ridewire/client";
import { describeError, h } from "./dom";

type Say = (text: string, kind?: "info" | "error") => void;

const dismissedKey = (userId: string) => `ridewire.push-not-now.${userId}`;

/** Whether this browser can receive Web Push at all (a secure context with a service worker). */
export function canPush(): boolean {
  return window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** Subscribes this browser with the service's key and registers the subscription with the service. */
async function subscribe(api: RidewireClient, publicKey: string): Promise<void> {
  const registration = await navigator.serviceWorker.ready;
  const applicationServerKey = keyBytes(publicKey);
  let subscription = await registration.pushManager.getSubscription();
  const register = (sub: PushSubscription) => {
    const { endpoint, keys } = sub.toJSON();
    if (!endpoint || !keys?.p256dh || !keys.auth) throw new Error("The browser gave a push subscription without keys.");
    return api.registerDevice({
      kind: "webpush",
      subscription: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } },
    });
  };
  if (!subscription)
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  try {
    await register(subscription);
  } catch (err) {
    // Another account of this browser registered this endpoint: a new subscription is a new endpoint.
    if (!(isRidewireError(err) && err.status === 409 && err.code === "conflict")) throw err;
    await subscription.unsubscribe();
    await register(await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey }));
  }
}

/**
 * Puts the prompt into `slot` if it is worth asking (see the module comment); `why` is its
 * heading ("Get notified when your driver arrives"). Resolves once decided (shown, registered
 * quietly, or not shown).
 */
export async function offerPush(
  api: RidewireClient,
  userId: string,
  slot: HTMLElement,
  why: string,
  say: Say,
): Promise<void> {
  if (!canPush() || Notification.permission === "denied") return;
  let publicKey: string | null;
  try {
    publicKey = await api.webPushKey();
  } catch {
    return;
  }
  if (!publicKey) return;
  const key = publicKey;
  if (Notification.permission === "granted") {
    await subscribe(api, key).catch(() => undefined);
    return;
  }
  if (localStorage.getItem(dismissedKey(userId))) return;
  if (slot.querySelector(".push-prompt")) return;
  const allow = h("button", { type: "button", class: "primary" }, "Turn on notifications");
  const notNow = h("button", { type: "button" }, "Not now");
  const card = h(
    "div",
    { class: "push-prompt", role: "group", "aria-labelledby": "push-prompt-title" },
    h("p", { class: "push-title", id: "push-prompt-title" }, why),
    h("p", { class: "hint" }, "We send a notification when it matters, even with this page in the background."),
    h("div", { class: "row" }, allow, notNow),
  );
  notNow.addEventListener("click", () => {
    localStorage.setItem(dismissedKey(userId), "1");
    card.remove();
  });
  allow.addEventListener("click", async () => {
    allow.disabled = notNow.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        card.remove();
        say("Notifications are off. You can allow them later in your browser's settings for this site.");
        return;
      }
      await subscribe(api, key);
      card.remove();
      say("Notifications are on.");
    } catch (err) {
      allow.disabled = notNow.disabled = false;
      say(`Notifications could not be turned on: ${describeError(err)}`, "error");
    }
  });
  slot.append(card);
}
