// The cross-site WebSocket guard (src/http/origin.ts): which `Origin` values may open a socket.
import { describe, expect, it } from "vitest";
import { originAllowed } from "../../src/http/origin";

const URL_ = "https://api.ridewire.example/v1/rooms/room_1/ws?since=3";

describe("originAllowed with no configured list", () => {
  it("passes a request without Origin (native clients)", () => {
    expect(originAllowed(undefined, URL_, [])).toBe(true);
    expect(originAllowed(undefined, URL_, ["https://app.example.com"])).toBe(true);
  });

  it("passes the service's own origin", () => {
    expect(originAllowed("https://api.ridewire.example", URL_, [])).toBe(true);
    expect(originAllowed("http://127.0.0.1:8787", "http://127.0.0.1:8787/v1/rooms/x/ws", [])).toBe(true);
    // Scheme and port are part of the origin.
    expect(originAllowed("http://api.ridewire.example", URL_, [])).toBe(false);
    expect(originAllowed("https://api.ridewire.example:8443", URL_, [])).toBe(false);
  });

  it("passes localhost and 127.0.0.1 on any port over http", () => {
    for (const origin of [
      "http://localhost:3000",
      "http://localhost:5173",
      "http://localhost",
      "http://127.0.0.1:8080",
      "http://127.0.0.1",
      "http://localhost:65535",
    ]) {
      expect(originAllowed(origin, URL_, []), origin).toBe(true);
    }
  });

  it("rejects foreign origins", () => {
    const foreign = [
      "https://evil.example",
      "https://api.ridewire.example.evil.com",
      "https://evil.com:443",
      "null",
      "",
      "https://localhost:3000",
      "http://localhost.evil.com",
      "http://localhost.evil.com:3000",
      "http://localhostevil.com",
      "http://127.0.0.1.evil.com",
      "http://127.0.0.1.nip.io:80",
      "http://localhost:3000.evil.com",
      "http://localhost:abc",
      "http://localhost:",
      "http://localhost:123456",
      "http://localhost:80/path",
      "http://evil.com#http://localhost:3000",
      "http://[::1]:3000",
      "http://0.0.0.0:3000",
    ];
    for (const origin of foreign) expect(originAllowed(origin, URL_, []), origin).toBe(false);
  });
});

describe("originAllowed with a configured list", () => {
  const allowed = ["https://app.example.com", "http://localhost:*", "https://staging.example.com:*"];

  it("passes exact entries and port wildcards", () => {
    for (const origin of [
      "https://app.example.com",
      "http://localhost:3000",
      "http://localhost",
      "https://staging.example.com:8443",
      "https://staging.example.com",
    ]) {
      expect(originAllowed(origin, URL_, allowed), origin).toBe(true);
    }
  });

  it("still passes the service's own origin", () => {
    expect(originAllowed("https://api.ridewire.example", URL_, allowed)).toBe(true);
  });

  it("replaces the local defaults instead of adding to them", () => {
    expect(originAllowed("http://127.0.0.1:8080", URL_, allowed)).toBe(false);
    expect(originAllowed("http://localhost:3000", URL_, ["https://app.example.com"])).toBe(false);
  });

  it("does not let a wildcard or an exact entry match a longer host", () => {
    const rejected = [
      "http://localhost.evil.com",
      "http://localhost.evil.com:3000",
      "https://app.example.com.evil.com",
      "https://app.example.com:8443",
      "http://app.example.com",
      "https://evilapp.example.com",
      "https://x.app.example.com",
      "https://staging.example.com.evil.com",
      "https://staging.example.com.evil.com:443",
      "https://staging.example.com:443.evil.com",
      "https://staging.example.comevil:8443",
    ];
    for (const origin of rejected) expect(originAllowed(origin, URL_, allowed), origin).toBe(false);
  });

  it("treats a wildcard as a port wildcard only", () => {
    expect(originAllowed("https://anything.example", URL_, ["*"])).toBe(false);
    expect(originAllowed("https://anything.example", URL_, ["https://*"])).toBe(false);
    expect(originAllowed("https://sub.example.com", URL_, ["https://*.example.com"])).toBe(false);
  });
});
