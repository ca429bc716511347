/**
 * @module web/pwa
 * The page's side of the installable app: it registers the service worker (public/sw.js: the
 * app shell offline, and Web Push), and answers the worker's messages: a notification the user
 * clicked opens its screen here, and a push the worker showed is acknowledged to the service
 * with the tab's session (the worker holds no token; an acknowledged arrival push is not
 * followed by an SMS).
 */
import type { RidewireClient } from "@ridewire/client";

export function registerServiceWorker(currentClient: () => RidewireClient | null): void {
  if (!("serviceWorker" in navigator)) return;
  const container = navigator.serviceWorker;
  container.addEventListener("message", (event: MessageEvent) => {
    // Only the worker of this origin posts here; its messages are still checked for shape.
    const message: unknown = event.data;
    if (typeof message !== "object" || message === null) return;
    const { kind, hash, id } = message as { kind?: unknown; hash?: unknown; id?: unknown };
    if (kind === "open" && typeof hash === "string" && /^#\/[\w/-]*$/.test(hash)) location.hash = hash;
    if (kind === "push-shown" && typeof id === "string")
      void currentClient()
        ?.ackNotification(id)
        .catch(() => undefined);
  });
  container.startMessages();
  // After the page is up: the worker's install fetches the shell, which must not compete with the page's own loads.
  const register = () => void container.register("/sw.js").catch(() => undefined);
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}
