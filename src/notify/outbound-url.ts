/**
 * @module notify/outbound-url
 * Which URLs the service may POST to on a user's behalf (webhooks, Web Push endpoints). A user
 * chooses the URL, so without these rules the service is their proxy into its own network:
 * cloud metadata (169.254.169.254), private ranges, loopback ports. The rule is: `https` to a
 * public host. IP literals are refused in every special-purpose range (IPv4 in any notation
 * the URL parser accepts, IPv6 including the forms that embed an IPv4 address), and so are
 * names that only resolve inside a network (`localhost`, `*.internal`, single labels, ...).
 * Plain http, and only to loopback, is allowed when `allowLoopback` is set (local development
 * and the tests' receiver on 127.0.0.1).
 *
 * What this cannot see: a public name whose DNS answers a private address. Workers resolve
 * names at the edge and do not route to private ranges; this module guards the literal forms.
 * Pure TypeScript (no `cloudflare:*` import), unit-tested in Node.
 */

export type OutboundUrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export type OutboundUrlPolicy = {
  /** Allow http and https to loopback (127.0.0.0/8, ::1, localhost): local development only. */
  allowLoopback: boolean;
};

/** Hostname suffixes that name something inside a network, never a public service. */
const INTERNAL_SUFFIXES = [
  ".localhost",
  ".internal",
  ".local",
  ".localdomain",
  ".home.arpa",
  ".lan",
  ".intranet",
  ".corp",
];

/** IPv4 ranges no outbound request may reach (RFC 6890 special-purpose registry, plus multicast and reserved). */
const BLOCKED_IPV4: readonly [string, number, string][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "CGNAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved or broadcast"],
];

const BLOCKED_IPV4_RANGES = BLOCKED_IPV4.map(([base, bits, label]) => {
  const start = parseIpv4(base);
  if (start === null) throw new Error(`bad range ${base}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { start: (start & mask) >>> 0, mask, label };
});

/**
 * Checks a URL a user gave for outbound delivery. Never throws: a string that is not a URL is
 * refused with a reason like any other.
 */
export function checkOutboundUrl(raw: string, policy: OutboundUrlPolicy): OutboundUrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("must be an https URL");
  if (url.username !== "" || url.password !== "") return refuse("must not carry a user name or password");
  const host = hostOf(url);
  if (host.kind === "refused") return refuse(host.reason);
  if (host.kind === "loopback") {
    return policy.allowLoopback
      ? { ok: true, url }
      : refuse("must not point at loopback (localhost, 127.0.0.0/8, ::1)");
  }
  if (url.protocol !== "https:") return refuse("must be https (plain http only to localhost in development)");
  return { ok: true, url };
}

type HostVerdict = { kind: "public" } | { kind: "loopback" } | { kind: "refused"; reason: string };

function hostOf(url: URL): HostVerdict {
  // WHATWG URL has already turned every IPv4 notation it accepts (decimal, hex, octal, short
  // forms) into dotted quads and compressed IPv6; the parsers below accept the raw notations
  // too, so the rules hold even for a hostname that did not come through `new URL`.
  const name = url.hostname.toLowerCase().replace(/\.$/, "");
  if (name === "") return { kind: "refused", reason: "must name a host" };
  if (name.startsWith("[")) {
    const groups = parseIpv6(name.slice(1, -1));
    if (groups === null) return { kind: "refused", reason: "has an invalid IPv6 address" };
    return ipv6Verdict(groups);
  }
  const v4 = parseIpv4(name);
  if (v4 !== null) return ipv4Verdict(v4);
  if (name === "localhost") return { kind: "loopback" };
  if (INTERNAL_SUFFIXES.some((suffix) => name.endsWith(suffix)))
    return { kind: "refused", reason: `must be a public host, not ${name}` };
  if (!name.includes("."))
    return { kind: "refused", reason: "must be a fully qualified public host name (no single-label hosts)" };
  return { kind: "public" };
}

function ipv4Verdict(address: number): HostVerdict {
  if (address >>> 24 === 127) return { kind: "loopback" };
  const range = BLOCKED_IPV4_RANGES.find((r) => (address & r.mask) >>> 0 === r.start);
  return range ? { kind: "refused", reason: `must not point at a ${range.label} address` } : { kind: "public" };
}

function ipv6Verdict(g: Readonly<Ipv6Groups>): HostVerdict {
  const allZero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const embeddedV4 = () => ((g[6] << 16) | g[7]) >>> 0;
  if (allZero(0, 8)) return { kind: "refused", reason: "must not point at the unspecified address" };
  if (allZero(0, 7) && g[7] === 1) return { kind: "loopback" };
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address inside.
  if (allZero(0, 5) && g[5] === 0xffff) return ipv4Verdict(embeddedV4());
  if (g[0] === 0x64 && g[1] === 0xff9b && allZero(2, 6)) return ipv4Verdict(embeddedV4());
  // ::a.b.c.d (IPv4-compatible, deprecated) and the rest of ::/8 are never a public service.
  if (g[0] >>> 8 === 0) return { kind: "refused", reason: "must not point at a reserved IPv6 address" };
  // Only global unicast (2000::/3) is public; inside it, the special-purpose blocks are not.
  if (g[0] >>> 13 !== 0b001) {
    const first = g[0];
    if (first >>> 9 === 0x7e)
      return { kind: "refused", reason: "must not point at a unique local IPv6 address (fc00::/7)" };
    if (first >>> 6 === 0x3fa)
      return { kind: "refused", reason: "must not point at a link-local IPv6 address (fe80::/10)" };
    if (first >>> 8 === 0xff)
      return { kind: "refused", reason: "must not point at a multicast IPv6 address (ff00::/8)" };
    return { kind: "refused", reason: "must not point at a reserved IPv6 address" };
  }
  if (g[0] === 0x2001 && g[1] === 0x0db8)
    return { kind: "refused", reason: "must not point at a documentation IPv6 address" };
  // Teredo (2001::/32) and ORCHID/benchmarking (2001:0000-01ff) tunnel or name things that are not a host.
  if (g[0] === 0x2001 && g[1] < 0x200)
    return { kind: "refused", reason: "must not point at a special-purpose IPv6 address" };
  // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
  if (g[0] === 0x2002) return ipv4Verdict(((g[1] << 16) | g[2]) >>> 0);
  return { kind: "public" };
}

/**
 * An IPv4 address in any notation `inet_aton` (and so the WHATWG URL parser) accepts: one to
 * four parts, each decimal, octal (leading 0) or hex (0x), the last part filling the bytes
 * left (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`). Null when it is not one.
 */
export function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    values.push(value);
  }
  const last = values.pop();
  if (last === undefined) return null; // never: split() gives at least one part
  if (values.some((v) => v > 255)) return null;
  if (last >= 256 ** (4 - values.length)) return null;
  let address = last;
  for (const [i, v] of values.entries()) address += v * 256 ** (3 - i);
  return address >>> 0;
}

/** The eight 16-bit groups of an IPv6 address. */
export type Ipv6Groups = [number, number, number, number, number, number, number, number];

function isIpv6Groups(groups: number[]): groups is Ipv6Groups {
  return groups.length === 8;
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail); null when it is not one. */
export function parseIpv6(text: string): Ipv6Groups | null {
  if (text.includes("%")) return null; // zone ids name an interface of this machine
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.slice(lastColon + 1).includes(".")) {
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.slice(lastColon + 1));
    if (!v4 || v4.slice(1).some((b) => Number(b) > 255)) return null;
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":"));
  const parse = (list: string[]) => list.map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? parseInt(h, 16) : NaN));
  const [leftText, rightText] = halves;
  if (leftText === undefined) return null; // never: split() gives at least one part
  const left = parse(groupsOf(leftText));
  const right = rightText !== undefined ? parse(groupsOf(rightText)) : [];
  if ([...left, ...right].some(Number.isNaN)) return null;
  const known = left.length + right.length + tail.length;
  if (rightText === undefined) {
    const groups = [...left, ...tail];
    return isIpv6Groups(groups) ? groups : null;
  }
  if (known > 7) return null;
  const groups = [...left, ...new Array<number>(8 - known).fill(0), ...right, ...tail];
  return isIpv6Groups(groups) ? groups : null;
}

function refuse(reason: string): OutboundUrlVerdict {
  return { ok: false, reason };
}
