// CORS (http/app.ts): browser apps on the allowed origins may call the API and read its
// streams; other sites' pages get no Access-Control-Allow-Origin, so the browser keeps the
// answer from them. WebSocket upgrades are checked by Origin instead (origin.test.ts).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createRoom, registerUser } from "../helpers/api";

const BASE = "http://ridewire.test";

describe("CORS", () => {
  it("answers a preflight from an allowed origin with the methods and headers the API takes", async () => {
    const res = await exports.default.fetch(`${BASE}/v1/trips`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:5173");
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("idempotency-key");
    expect(res.headers.get("Vary")).toContain("Origin");
  });

  it("lets an allowed origin read answers and error bodies, and names no origin for another site", async () => {
    const ok = await call("GET", "/health", { headers: { Origin: "http://127.0.0.1:3000" } });
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("http://127.0.0.1:3000");
    const refused = await call("GET", "/v1/me", { headers: { Origin: "http://localhost:8080" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:8080");
    // The service's own origin always passes.
    expect(
      (await call("GET", "/health", { headers: { Origin: BASE } })).headers.get("Access-Control-Allow-Origin"),
    ).toBe(BASE);
    const foreign = await call("GET", "/health", { headers: { Origin: "https://evil.example" } });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const preflight = await exports.default.fetch(`${BASE}/v1/me`, {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("adds the header to a room's SSE stream served by its object", async () => {
    const ada = await registerUser("rider", "Ada");
    const room = await createRoom(ada);
    const abort = new AbortController();
    const res = await exports.default.fetch(`${BASE}/v1/rooms/${room.id}/events?access_token=${ada.token}`, {
      headers: { Origin: "http://localhost:5173" },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/event-stream");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:5173");
    await res.body?.cancel();
    abort.abort();
  });
});
