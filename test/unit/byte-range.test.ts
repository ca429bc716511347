// The one Range form the tile archive route serves (src/domain/byte-range.ts).
import { describe, expect, it } from "vitest";
import { parseByteRange } from "../../src/domain/byte-range";

describe("parseByteRange", () => {
  it("reads first-last, first- and -suffix within the size", () => {
    expect(parseByteRange("bytes=0-99", 1000)).toEqual({ offset: 0, length: 100 });
    expect(parseByteRange("bytes=900-", 1000)).toEqual({ offset: 900, length: 100 });
    expect(parseByteRange("bytes=-100", 1000)).toEqual({ offset: 900, length: 100 });
    expect(parseByteRange("bytes=-5000", 1000)).toEqual({ offset: 0, length: 1000 });
    expect(parseByteRange("bytes=990-5000", 1000)).toEqual({ offset: 990, length: 10 });
    expect(parseByteRange(undefined, 1000)).toBeNull();
  });

  it("refuses what it cannot serve rather than answering the whole archive", () => {
    for (const header of [
      "bytes=1000-",
      "bytes=5-4",
      "bytes=0-1,3-4",
      "bytes=-0",
      "bytes=-",
      "items=0-1",
      "bytes=a-b",
      "",
    ])
      expect({ header, range: parseByteRange(header, 1000) }).toEqual({ header, range: "unsatisfiable" });
    expect(parseByteRange("bytes=0-0", 0)).toBe("unsatisfiable");
    expect(parseByteRange("bytes=0-9999999999999999", 1000)).toBe("unsatisfiable");
  });
});
