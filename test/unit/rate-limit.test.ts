// Route classes of the rate limits (src/http/rate-limit.ts): every mutating operation the API
// documents is limited (but sign-up and login, which the auth routes limit themselves), and
// each class's binding exists in wrangler.toml with the period the 429's Retry-After names.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { operations } from "../../src/http/openapi";
import { LIMITERS, routeClassOf } from "../../src/http/rate-limit";

function ratelimitsInWranglerToml(): Map<string, { limit: number; period: number }> {
  const toml = readFileSync("wrangler.toml", "utf8");
  const found = new Map<string, { limit: number; period: number }>();
  for (const block of toml.split("[[ratelimits]]").slice(1)) {
    const name = /^name\s*=\s*"([A-Z_]+)"/m.exec(block)?.[1];
    const simple = /^simple\s*=\s*\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}/m.exec(block);
    if (name && simple) found.set(name, { limit: Number(simple[1]), period: Number(simple[2]) });
  }
  return found;
}

describe("rate limit classes", () => {
  it("limits every mutating operation and every socket, stream and poll", () => {
    const concrete = (path: string) => path.replace(/\{\w+\}/g, "x_1");
    for (const op of operations) {
      const routeClass = routeClassOf(op.method, concrete(op.path));
      const mutating = op.method !== "get";
      // A share link's view is read without an account: counted per IP.
      // The server publish API counts every call per API key, reads too.
      // A download streams a file out of R2: counted per user.
      const opensSomething =
        /\/(ws|events|poll)$/.test(op.path) ||
        op.path.startsWith("/v1/shared/") ||
        op.path.startsWith("/v1/server/") ||
        /^\/v1\/rooms\/\{\w+\}\/attachments\/\{\w+\}$/.test(op.path) ||
        // Someone's last seen: walking user ids would record who is active when; counted per user.
        op.path === "/v1/users/{id}/presence" ||
        // The list of upcoming scheduled rides wakes each ride's trip, as a poll wakes one.
        op.path === "/v1/trips/scheduled" ||
        // The operations view's live metrics wake the operations desk on every read, every few seconds.
        op.path === "/v1/ops/metrics" ||
        /^\/v1\/(drivers\/me|admin)\/documents\/\{\w+\}\/file$/.test(op.path) ||
        /^\/v1\/trips\/\{\w+\}\/driver-photo$/.test(op.path) ||
        // The street map: tile ranges stream out of R2, place search calls the geocoder, nearby cars
        // could be swept (each counted per IP or per user).
        /^\/v1\/(map|tiles\/\{\w+\}|places\/(search|reverse)|cars\/nearby)$/.test(op.path);
      // Login and logout keep their own limits (failed passwords; a logout only ends sessions).
      if (op.path === "/v1/auth/login" || op.path === "/v1/auth/logout")
        expect({ op: op.path, routeClass }).toEqual({ op: op.path, routeClass: null });
      else if (mutating || opensSomething)
        expect({ op: `${op.method} ${op.path}`, limited: routeClass !== null }).toEqual({
          op: `${op.method} ${op.path}`,
          limited: true,
        });
      else
        expect({ op: `${op.method} ${op.path}`, routeClass }).toEqual({
          op: `${op.method} ${op.path}`,
          routeClass: null,
        });
    }
  });

  it("sorts routes into their classes", () => {
    expect(routeClassOf("POST", "/v1/rooms/room_1/messages")).toBe("chat_post");
    expect(routeClassOf("POST", "/v1/trips/trip_1/messages")).toBe("chat_post");
    expect(routeClassOf("PATCH", "/v1/rooms/room_1/messages/3")).toBe("chat_post");
    expect(routeClassOf("DELETE", "/v1/rooms/room_1/messages/3")).toBe("chat_post");
    expect(routeClassOf("POST", "/v1/rooms/room_1/messages/3/reactions")).toBe("chat_post");
    expect(routeClassOf("POST", "/v1/trips")).toBe("trip_request");
    expect(routeClassOf("POST", "/v1/quotes")).toBe("quote");
    expect(routeClassOf("POST", "/v1/trips/trip_1/accept")).toBe("write");
    expect(routeClassOf("POST", "/v1/wallet/top-ups")).toBe("top_up");
    expect(routeClassOf("POST", "/v1/payouts")).toBe("payout");
    expect(routeClassOf("PUT", "/v1/drivers/me/payout-account")).toBe("payout");
    expect(routeClassOf("GET", "/v1/payouts")).toBeNull();
    expect(routeClassOf("POST", "/v1/devices")).toBe("device");
    expect(routeClassOf("DELETE", "/v1/devices/dev_1")).toBe("write");
    expect(routeClassOf("GET", "/v1/rooms/room_1/ws")).toBe("connect");
    expect(routeClassOf("GET", "/v1/drivers/me/events")).toBe("connect");
    expect(routeClassOf("GET", "/v1/trips/trip_1/poll")).toBe("poll");
    expect(routeClassOf("GET", "/v1/trips/scheduled")).toBe("poll");
    expect(routeClassOf("GET", "/v1/ops/metrics")).toBe("poll");
    expect(routeClassOf("POST", "/v1/payments/webhook")).toBe("provider_webhook");
    expect(routeClassOf("POST", "/v1/auth/register")).toBe("account");
    expect(routeClassOf("POST", "/v1/server/rooms/room_1/messages")).toBe("server");
    expect(routeClassOf("GET", "/v1/server/rooms/room_1/messages")).toBe("server");
    expect(routeClassOf("POST", "/v1/server/broadcast")).toBe("server_broadcast");
    expect(routeClassOf("POST", "/v1/admin/api-keys")).toBe("write");
    expect(routeClassOf("DELETE", "/v1/admin/api-keys/key_1")).toBe("write");
    expect(routeClassOf("POST", "/v1/auth/refresh")).toBe("account");
    expect(routeClassOf("POST", "/v1/rooms/room_1/attachments")).toBe("upload");
    expect(routeClassOf("PUT", "/v1/uploads/abc.def")).toBe("upload");
    expect(routeClassOf("GET", "/v1/rooms/room_1/attachments/abcdefghijklmnopqrstuv")).toBe("file_read");
    expect(routeClassOf("POST", "/v1/drivers/me/documents")).toBe("upload");
    expect(routeClassOf("GET", "/v1/drivers/me/documents/doc_1/file")).toBe("file_read");
    expect(routeClassOf("GET", "/v1/admin/documents/doc_1/file")).toBe("file_read");
    expect(routeClassOf("GET", "/v1/trips/trip_1/driver-photo")).toBe("file_read");
    expect(routeClassOf("POST", "/v1/drivers/me/vehicles")).toBe("write");
    expect(routeClassOf("PUT", "/v1/drivers/me/tiers")).toBe("write");
    expect(routeClassOf("POST", "/v1/admin/vehicles/veh_1/review")).toBe("write");
    expect(routeClassOf("GET", "/v1/rooms/room_1/messages")).toBeNull();
    expect(routeClassOf("GET", "/v1/users/usr_1/presence")).toBe("presence");
    expect(routeClassOf("PUT", "/v1/me/privacy")).toBe("write");
    expect(routeClassOf("GET", "/v1/me/privacy")).toBeNull();
  });

  it("has a [[ratelimits]] binding per class in wrangler.toml, with the period Retry-After says", () => {
    const bindings = ratelimitsInWranglerToml();
    for (const [routeClass, limiter] of Object.entries(LIMITERS)) {
      expect({ routeClass, period: bindings.get(limiter.binding)?.period }).toEqual({
        routeClass,
        period: limiter.periodSeconds,
      });
    }
  });
});
