// The web app's service worker (public/sw.js), run in a VM context with the parts of a worker's
// global scope it uses (caches, fetch, clients, its registration) as in-memory stand-ins: what the
// browser tests cannot reach, since their Chromium has no notifications (test/e2e/web-mobile.test.ts
// says why). The shell is cached under the build's version and old versions are deleted; the API,
// authenticated and cross-origin requests are never answered from (or put in) the cache; offline,
// the cached shell answers; a push is shown and a click opens its screen.
import { readFileSync } from "node:fs";
import { createContext, runInContext } from "node:vm";
import { describe, expect, it } from "vitest";

const ORIGIN = "https://app.example";
const SOURCE = readFileSync("public/sw.js", "utf8");

type Listener = (event: Record<string, unknown>) => void;
type FakeRequest = { url: string; method: string; headers: Headers; mode: string };
type Shown = { title: string; options: { body: string; tag: string; data: { url: string; id: string | null } } };

/** A worker built from public/sw.js with `version` as the build's, and `network` answering its fetches. */
function worker(version: string, network: (request: FakeRequest | string) => Response | Promise<Response>) {
  const listeners = new Map<string, Listener>();
  const stores = new Map<string, Map<string, Response>>();
  const keyOf = (request: FakeRequest | string) =>
    new URL(typeof request === "string" ? request : request.url, ORIGIN).href;
  const cacheOf = (name: string) => {
    let store = stores.get(name);
    if (!store) {
      store = new Map();
      stores.set(name, store);
    }
    const entries = store;
    return {
      addAll: async (urls: string[]) => {
        for (const url of urls) entries.set(keyOf(url), await network(url));
      },
      put: async (request: FakeRequest | string, response: Response) => void entries.set(keyOf(request), response),
      match: async (request: FakeRequest | string, options?: { ignoreSearch?: boolean }) => {
        const key = new URL(keyOf(request));
        if (options?.ignoreSearch) key.search = "";
        return entries.get(key.href)?.clone();
      },
    };
  };
  const shown: Shown[] = [];
  const opened: string[] = [];
  const windows: { url: string; focused: boolean; messages: unknown[] }[] = [];
  const self = {
    SHELL_VERSION: "",
    location: new URL(`${ORIGIN}/sw.js`),
    addEventListener: (type: string, listener: Listener) => listeners.set(type, listener),
    skipWaiting: async () => undefined,
    registration: {
      showNotification: async (title: string, options: Shown["options"]) => void shown.push({ title, options }),
    },
    clients: {
      claim: async () => undefined,
      openWindow: async (url: string) => void opened.push(url),
      matchAll: async () =>
        windows.map((w) => ({
          url: w.url,
          focus: async () => {
            w.focused = true;
          },
          postMessage: (message: unknown) => w.messages.push(message),
        })),
    },
  };
  const context = createContext({
    self,
    caches: {
      open: async (name: string) => cacheOf(name),
      keys: async () => [...stores.keys()],
      delete: async (name: string) => stores.delete(name),
    },
    fetch: async (request: FakeRequest) => network(request),
    importScripts: (path: string) => {
      expect(path).toBe("/build/shell-version.js");
      self.SHELL_VERSION = version;
    },
    URL,
    Promise,
  });
  runInContext(SOURCE, context);

  /** Dispatches an extendable event; resolves when what it waits for is done. */
  async function dispatch(type: string, fields: Record<string, unknown> = {}): Promise<void> {
    const waits: Promise<unknown>[] = [];
    listeners.get(type)?.({ ...fields, waitUntil: (p: Promise<unknown>) => waits.push(p) });
    await Promise.all(waits);
  }
  /** A fetch event: the worker's answer, or null when it leaves the request to the network. */
  async function request(path: string, init: Partial<Omit<FakeRequest, "url">> = {}): Promise<Response | null> {
    let answer: Promise<Response> | null = null;
    const req = { url: new URL(path, ORIGIN).href, method: "GET", headers: new Headers(), mode: "cors", ...init };
    listeners.get("fetch")?.({ request: req, respondWith: (p: Promise<Response>) => (answer = p) });
    return answer;
  }
  return { dispatch, request, stores, shown, opened, windows };
}

const page = (path: string) => new Response(`page ${path}`, { status: 200 });
const ok = (request: FakeRequest | string) => {
  const url = typeof request === "string" ? request : new URL(request.url).pathname;
  // A Response made here has type "default"; the worker stores "basic" (same-origin) answers only.
  const response = page(url);
  Object.defineProperty(response, "type", { value: "basic" });
  return response;
};
const offline = () => Promise.reject(new TypeError("Failed to fetch"));

describe("the service worker", () => {
  it("caches the shell under the build's version and deletes older versions only", async () => {
    const sw = worker("b2", ok);
    sw.stores.set("ridewire-shell-b1", new Map());
    sw.stores.set("someone-elses-cache", new Map());
    await sw.dispatch("install");
    await sw.dispatch("activate");
    expect([...sw.stores.keys()].sort()).toEqual(["ridewire-shell-b2", "someone-elses-cache"]);
    const shell = [...(sw.stores.get("ridewire-shell-b2")?.keys() ?? [])].map((u) => new URL(u).pathname);
    expect(shell).toEqual(expect.arrayContaining(["/", "/app.css", "/build/app.js", "/manifest.webmanifest"]));
  });

  it("never answers the API, authenticated, cross-origin or non-GET requests, nor caches them", async () => {
    const sw = worker("b1", ok);
    await sw.dispatch("install");
    expect(await sw.request("/v1/trips/current")).toBeNull();
    expect(await sw.request("/v1")).toBeNull();
    expect(await sw.request("/health")).toBeNull();
    expect(await sw.request("/docs/", { headers: new Headers({ Authorization: "Bearer x" }) })).toBeNull();
    expect(await sw.request("/app.css", { method: "POST" })).toBeNull();
    expect(await sw.request("https://tiles.example/0/0/0.pbf")).toBeNull();
    const cached = [...(sw.stores.get("ridewire-shell-b1")?.keys() ?? [])];
    expect(cached.filter((u) => u.includes("/v1") || u.includes("/health") || u.includes("tiles"))).toEqual([]);
  });

  it("answers from the network while online and from the shell cache offline", async () => {
    let online = true;
    let served = 0;
    const sw = worker("b1", (request) => {
      if (!online) return offline();
      served++;
      return ok(request);
    });
    await sw.dispatch("install");
    expect(await (await sw.request("/app.css"))?.text()).toBe("page /app.css");
    const before = served;
    expect(await (await sw.request("/build/app.js"))?.text()).toBe("page /build/app.js");
    expect(served).toBe(before + 1); // network first: the network was asked although the cache had it
    online = false;
    expect(await (await sw.request("/build/app.js"))?.text()).toBe("page /build/app.js");
    // The app's page whatever its query (the view is in its hash).
    expect(await (await sw.request("/?from=home-screen", { mode: "navigate" }))?.text()).toBe("page /");
    await expect(sw.request("/not-cached.png")).rejects.toThrow("Failed to fetch");
  });

  it("keeps another page (the API reference) under its own address, not as the app's", async () => {
    let online = true;
    const sw = worker("b1", (request) => (online ? ok(request) : offline()));
    await sw.dispatch("install");
    expect(await (await sw.request("/docs/", { mode: "navigate" }))?.text()).toBe("page /docs/");
    online = false;
    expect(await (await sw.request("/", { mode: "navigate" }))?.text()).toBe("page /");
    expect(await (await sw.request("/docs/", { mode: "navigate" }))?.text()).toBe("page /docs/");
  });

  it("shows a push as the service sends it, one notification per trip, and tells the open pages", async () => {
    const sw = worker("b1", ok);
    sw.windows.push({ url: `${ORIGIN}/#/rider`, focused: false, messages: [] });
    const payload = {
      id: "trip:trp_1:4:usr_1",
      type: "trip_status",
      title: "Your driver has arrived",
      body: "Your driver has arrived",
      data: { tripId: "trp_1", status: "arrived" },
    };
    await sw.dispatch("push", { data: { json: () => payload, text: () => JSON.stringify(payload) } });
    expect(sw.shown).toEqual([
      {
        title: "Your driver has arrived",
        options: expect.objectContaining({
          body: "Your driver has arrived",
          tag: "trp_1",
          data: { url: "/#/rider", id: "trip:trp_1:4:usr_1" },
        }),
      },
    ]);
    expect(sw.windows[0]?.messages).toEqual([{ kind: "push-shown", id: "trip:trp_1:4:usr_1" }]);

    // An offer opens the driver's screen; a payload that is not JSON still shows, as text.
    await sw.dispatch("push", {
      data: {
        json: () => ({
          id: "offer:trp_2:usr_2",
          type: "offer",
          title: "New trip offer",
          body: "$7.00",
          data: { tripId: "trp_2" },
        }),
      },
    });
    expect(sw.shown[1]?.options.data.url).toBe("/#/driver");
    await sw.dispatch("push", {
      data: {
        json: () => {
          throw new SyntaxError("not JSON");
        },
        text: () => "hello",
      },
    });
    expect(sw.shown[2]).toMatchObject({ title: "ridewire", options: { body: "hello" } });
  });

  it("opens the notification's screen on a click: in the open app if there is one, else in a new window", async () => {
    const sw = worker("b1", ok);
    const notification = (url: string) => ({ close: () => undefined, data: { url, id: "x" } });
    await sw.dispatch("notificationclick", { notification: notification("/#/driver") });
    expect(sw.opened).toEqual([`${ORIGIN}/#/driver`]);

    sw.windows.push({ url: `${ORIGIN}/#/chat`, focused: false, messages: [] });
    await sw.dispatch("notificationclick", { notification: notification("/#/rider") });
    expect(sw.windows[0]).toMatchObject({ focused: true, messages: [{ kind: "open", hash: "#/rider" }] });
    expect(sw.opened).toHaveLength(1);
  });
});
