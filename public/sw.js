// The web app's service worker: the app shell offline, and Web Push.
//
// Shell: the page, its stylesheet, bundle, manifest and icons are cached at install under a
// cache named for the build (SHELL_VERSION, from /build/shell-version.js, written by `npm run
// build:web`: a new build is a new imported script, which makes the browser install this worker
// again); activation deletes every other version. Same-origin GETs are network-first, so an
// online user always runs the deployed app, and the cache answers only when the network does not.
//
// Never cached: the API (/v1/*: trips, wallets, tokens and tiles are the user's, and stale ones
// would be wrong) and /health, any request that carries an Authorization header, and anything
// that is not a same-origin GET. Those go straight to the network, as with no worker at all.
//
// Push: the service's payload ({ id, type, title, body, data }, src/notify/message.ts) is shown
// as a notification; a click focuses the app (or opens it) on the screen the notification is
// about: the rider's trip, the driver's offers, the chat rooms.
importScripts("/build/shell-version.js");

const SHELL_CACHE_PREFIX = "ridewire-shell-";
const SHELL_CACHE = `${SHELL_CACHE_PREFIX}${self.SHELL_VERSION}`;
const SHELL_FILES = [
  "/",
  "/app.css",
  "/build/app.js",
  "/manifest.webmanifest",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL_FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith(SHELL_CACHE_PREFIX) && name !== SHELL_CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

/** Whether the worker may answer `request` from (and store it in) the shell cache. */
function cacheable(request) {
  if (request.method !== "GET" || request.headers.has("Authorization")) return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  return !(url.pathname.startsWith("/v1/") || url.pathname === "/v1" || url.pathname === "/health");
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (!cacheable(request)) return;
  event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    // Only whole, plain answers: no errors, no partial content, nothing another origin sent.
    if (response.ok && response.status === 200 && response.type === "basic") await cache.put(request, response.clone());
    return response;
  } catch (err) {
    // Offline: the answer as it was cached; the app's page whatever its query ("/?source=home-screen").
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    if (request.mode === "navigate" && new URL(request.url).pathname === "/") {
      const shell = await cache.match("/");
      if (shell) return shell;
    }
    throw err;
  }
}

/** Where a click on a notification of `type` takes the user. */
function screenFor(type) {
  if (type === "offer") return "/#/driver";
  if (type === "chat_message") return "/#/chat";
  if (type === "trip_status" || type === "receipt") return "/#/rider";
  return "/";
}

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = { body: event.data ? event.data.text() : "" };
  }
  const title = typeof payload.title === "string" ? payload.title : "ridewire";
  const body = typeof payload.body === "string" ? payload.body : "";
  // One notification per trip (or room): a newer status replaces the older one rather than piling up.
  const data = payload.data && typeof payload.data === "object" ? payload.data : {};
  const tag = data.tripId ?? data.roomId ?? payload.id ?? "ridewire";
  event.waitUntil(
    Promise.all([
      self.registration.showNotification(title, {
        body,
        tag: String(tag),
        icon: "/icons/icon-192.png",
        badge: "/icons/icon-192.png",
        data: { url: screenFor(payload.type), id: payload.id ?? null },
      }),
      // An open page acknowledges it (it holds the session; this worker holds no token).
      self.clients.matchAll({ type: "window" }).then((windows) => {
        for (const client of windows) client.postMessage({ kind: "push-shown", id: payload.id ?? null });
      }),
    ]),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url ?? "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(async (windows) => {
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (!open) return self.clients.openWindow(target);
      await open.focus();
      // The page changes its own hash (navigate() works on controlled pages only): its router does the rest.
      open.postMessage({ kind: "open", hash: new URL(target).hash });
      return open;
    }),
  );
});
