// Outbound URL rules (src/notify/outbound-url.ts): https to a public host only; every notation
// of an internal address is refused, with and without the WHATWG URL parser's normalisation.
import { describe, expect, it } from "vitest";
import { checkOutboundUrl, parseIpv4, parseIpv6 } from "../../src/notify/outbound-url";

const strict = { allowLoopback: false };
const dev = { allowLoopback: true };

describe("checkOutboundUrl", () => {
  it.each([
    "https://hooks.example.com/ridewire",
    "https://example.com:8443/x?y=1",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::808:808]/",
    "https://[2002:808:808::1]/",
    "https://fcm.googleapis.com/fcm/send/abc",
  ])("accepts %s", (raw) => {
    expect(checkOutboundUrl(raw, strict).ok).toBe(true);
  });

  it.each([
    // cloud metadata and private ranges, IPv4 in every notation new URL() accepts
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://100.127.255.255/",
    "https://0.0.0.0/",
    "https://0/",
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://255.255.255.255/",
    "https://240.0.0.1/",
    "https://192.0.0.8/",
    "https://198.18.0.1/",
    "https://0xa9fea9fe/",
    "https://2852039166/",
    "https://0251.0376.0251.0376/",
    "https://169.254.43518/",
    "https://10.1/",
    // IPv6
    "https://[::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[febf::1]/",
    "https://[ff02::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[::ffff:0:0]/",
    "https://[64:ff9b::10.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b:1::1]/",
    "https://[::10.0.0.1]/",
    "https://[::8.8.8.8]/",
    "https://[2001:db8::1]/",
    "https://[2001::1]/",
    "https://[2002:a00:1::1]/",
    "https://[100::1]/",
    // names that only resolve inside a network
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://printer.local/",
    "https://router.home.arpa/",
    "https://intranet/",
    "https://db.svc.cluster.localdomain/",
    // not https, or not a URL at all
    "http://hooks.example.com/",
    "ftp://hooks.example.com/",
    "javascript:alert(1)",
    "https://user:secret@hooks.example.com/",
    "x",
    "",
    "http://",
    "https://a.b.c.d.1/",
    "https://[fe80::1%25eth0]/",
  ])("refuses %s", (raw) => {
    const verdict = checkOutboundUrl(raw, strict);
    expect(verdict.ok).toBe(false);
    expect(checkOutboundUrl(raw, dev).ok).toBe(false);
  });

  it.each([
    "http://127.0.0.1:9911/hook",
    "http://127.0.0.1:22/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]:8080/",
    "http://localhost:8787/",
    "http://LOCALHOST./",
    "https://localhost/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[64:ff9b::7f00:1]/",
  ])("refuses loopback %s unless loopback is allowed", (raw) => {
    expect(checkOutboundUrl(raw, strict)).toEqual({ ok: false, reason: expect.stringContaining("loopback") });
    expect(checkOutboundUrl(raw, dev).ok).toBe(true);
  });

  it("refuses *.localhost even with loopback allowed: it is not this machine's receiver", () => {
    expect(checkOutboundUrl("http://evil.localhost/", dev).ok).toBe(false);
  });

  it("says why, and never throws on garbage", () => {
    expect(checkOutboundUrl("https://10.0.0.1/", strict)).toEqual({
      ok: false,
      reason: "must not point at a private address",
    });
    expect(checkOutboundUrl("x", strict)).toEqual({ ok: false, reason: "is not a valid URL" });
    for (const raw of [
      "http://[",
      "https://%zz/",
      "\u0000",
      "https://[::ffff:999.0.0.1]/",
      `https://${"a".repeat(5000)}`,
    ]) {
      expect(() => checkOutboundUrl(raw, strict)).not.toThrow();
    }
  });
});

describe("parseIpv4", () => {
  it.each([
    ["127.0.0.1", 0x7f000001],
    ["127.1", 0x7f000001],
    ["127.0.1", 0x7f000001],
    ["2130706433", 0x7f000001],
    ["0x7f000001", 0x7f000001],
    ["0X7F.1", 0x7f000001],
    ["0177.0.0.1", 0x7f000001],
    ["0x7f.0.0.0x1", 0x7f000001],
    ["0", 0],
    ["0x", 0],
    ["255.255.255.255", 0xffffffff],
  ])("reads %s", (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each(["256.0.0.1", "1.2.3.4.5", "4294967296", "08.0.0.1", "example.com", "1..2", "", "0x1g", "1.2.3.256"])(
    "is null for %s",
    (text) => {
      expect(parseIpv4(text)).toBeNull();
    },
  );
});

describe("parseIpv6", () => {
  it("expands :: and dotted tails", () => {
    expect(parseIpv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6("::ffff:127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIpv6("1:2:3:4:5:6:7.8.9.10")).toEqual([1, 2, 3, 4, 5, 6, 0x0708, 0x090a]);
    expect(parseIpv6("fe80::")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6("2001:db8:0:0:0:0:2:1")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 2, 1]);
  });

  it.each(["1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::g", "1:2:3:4:5:6:7", "fe80::1%eth0", "::1.2.3.256"])(
    "is null for %s",
    (text) => {
      expect(parseIpv6(text)).toBeNull();
    },
  );
});
