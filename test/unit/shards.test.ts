/**
 * Shard routing (src/db/shards.ts): a key's bucket never changes (every stored row's place derives
 * from it), keys spread evenly over the buckets and so over the shards, and a SHARD_MAP that
 * leaves a bucket out, maps one twice or names a missing binding is refused with its reason.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUCKETS, bucketOf, parseShardMap } from "../../src/db/shards";

const present = (names: string[]) => (binding: string) => names.includes(binding);

describe("bucketOf", () => {
  it("is pinned: changing the hash would strand every row already stored", () => {
    expect(["", "a", "room-1", "usr_0000000000000000000000", "ü日本"].map(bucketOf)).toEqual([11, 435, 874, 166, 263]);
  });

  it("is a bucket, the same for the same key every time", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (key) => {
        const bucket = bucketOf(key);
        expect(Number.isInteger(bucket) && bucket >= 0 && bucket < BUCKETS).toBe(true);
        expect(bucketOf(`${key}`)).toBe(bucket);
      }),
    );
  });

  it("spreads ids evenly over the buckets and over two shards", () => {
    // Ids as the service makes them: a prefix and a random or counted suffix.
    const keys = Array.from({ length: 102_400 }, (_, i) => (i % 2 ? `usr_${i.toString(36)}` : `room-${i}`));
    const counts = new Array<number>(BUCKETS).fill(0);
    for (const key of keys) counts[bucketOf(key)] = (counts[bucketOf(key)] ?? 0) + 1;
    const expected = keys.length / BUCKETS;
    // Pearson's chi-square over 1,023 degrees of freedom: mean 1,023, sd ~45; 1,250 is 5 sd out.
    const chiSquare = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(1_250);
    const low = counts.slice(0, BUCKETS / 2).reduce((a, b) => a + b, 0);
    expect(Math.abs(low / keys.length - 0.5)).toBeLessThan(0.01);
  });

  it("sends keys that differ in one character to unrelated buckets", () => {
    const neighbours = Array.from({ length: 64 }, (_, i) => bucketOf(`room-${i}`));
    expect(new Set(neighbours).size).toBeGreaterThan(56);
  });
});

describe("parseShardMap", () => {
  it("maps each bucket to the binding of its range", () => {
    const map = parseShardMap(" 0-511:SHARD_0 , 512-1023:SHARD_1", present(["SHARD_0", "SHARD_1"]));
    expect(map.bindings).toEqual(["SHARD_0", "SHARD_1"]);
    expect([map.byBucket[0], map.byBucket[511], map.byBucket[512], map.byBucket[1023]]).toEqual([
      "SHARD_0",
      "SHARD_0",
      "SHARD_1",
      "SHARD_1",
    ]);
  });

  it("takes ranges in any order, and one binding for several ranges", () => {
    const map = parseShardMap("768-1023:SHARD_2,0-255:SHARD_0,256-511:SHARD_1,512-767:SHARD_0", () => true);
    expect(map.ranges.map((r) => r.from)).toEqual([0, 256, 512, 768]);
    expect(map.bindings).toEqual(["SHARD_0", "SHARD_1", "SHARD_2"]);
    expect(map.byBucket[600]).toBe("SHARD_0");
  });

  it.each([
    ["", /empty/],
    ["0-511:SHARD_0", /bucket 512 is not mapped/],
    ["0-600:SHARD_0,500-1023:SHARD_1", /bucket 500 is mapped twice/],
    ["0-1024:SHARD_0", /not a range within 0-1023/],
    ["10-5:SHARD_0,0-1023:SHARD_1", /not a range/],
    ["0-1023", /is not "from-to:BINDING"/],
    ["0-1023:SHARD-0", /is not "from-to:BINDING"/],
    ["0-1023:SHARD_9", /SHARD_9 is not a D1 binding/],
  ])("refuses %j", (text, reason) => {
    expect(() => parseShardMap(text, present(["SHARD_0", "SHARD_1"]))).toThrow(reason);
  });
});
