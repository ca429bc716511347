// The type check of uploads (src/files/file-types.ts): each allowed type's signature, the
// dimensions images carry in their headers, and files that lie about their type.
import { describe, expect, it } from "vitest";
import { checkFileType, MAX_IMAGE_SIDE } from "../../src/files/file-types";
import { AttachmentFilename } from "../../src/protocol/attachments";
import { gifBytes, jpegBytes, pdfBytes, pngBytes, webpBytes } from "../helpers/files";

const html = new TextEncoder().encode("<!doctype html><script>alert(document.cookie)</script>");

describe("checkFileType", () => {
  it("reads the dimensions of PNG, JPEG, GIF and each WebP kind", () => {
    expect(checkFileType("image/png", pngBytes(640, 480))).toEqual({ ok: true, width: 640, height: 480 });
    expect(checkFileType("image/jpeg", jpegBytes(1024, 768))).toEqual({ ok: true, width: 1024, height: 768 });
    expect(checkFileType("image/gif", gifBytes(32, 16))).toEqual({ ok: true, width: 32, height: 16 });
    expect(checkFileType("image/webp", webpBytes("VP8 ", 300, 200))).toEqual({ ok: true, width: 300, height: 200 });
    expect(checkFileType("image/webp", webpBytes("VP8L", 4000, 3000))).toEqual({
      ok: true,
      width: 4000,
      height: 3000,
    });
    expect(checkFileType("image/webp", webpBytes("VP8X", 12_000, 9_000))).toEqual({
      ok: true,
      width: 12_000,
      height: 9_000,
    });
  });

  it("finds a JPEG's frame header after a long APP segment", () => {
    expect(checkFileType("image/jpeg", jpegBytes(50, 60, 60_000))).toEqual({ ok: true, width: 50, height: 60 });
  });

  it("refuses bytes of another type than declared", () => {
    expect(checkFileType("image/png", jpegBytes(10, 10)).ok).toBe(false);
    expect(checkFileType("image/jpeg", pngBytes(10, 10)).ok).toBe(false);
    expect(checkFileType("image/gif", html).ok).toBe(false);
    expect(checkFileType("image/webp", gifBytes(1, 1)).ok).toBe(false);
    expect(checkFileType("application/pdf", html).ok).toBe(false);
    expect(checkFileType("image/png", new Uint8Array(0)).ok).toBe(false);
  });

  it("refuses images whose header claims no pixels or absurd sizes, and a header cut short", () => {
    expect(checkFileType("image/png", pngBytes(0, 10)).ok).toBe(false);
    expect(checkFileType("image/png", pngBytes(MAX_IMAGE_SIDE + 1, 10)).ok).toBe(false);
    expect(checkFileType("image/png", pngBytes(10, 10).slice(0, 20)).ok).toBe(false);
    expect(checkFileType("image/jpeg", jpegBytes(10, 10).slice(0, 24)).ok).toBe(false);
  });

  it("takes a PDF by its signature and text as UTF-8 without NUL bytes", () => {
    expect(checkFileType("application/pdf", pdfBytes())).toEqual({ ok: true });
    expect(checkFileType("text/plain", new TextEncoder().encode("héllo, wörld ✓"))).toEqual({ ok: true });
    // A character cut at the end of the part read is not a fault of the file.
    expect(checkFileType("text/plain", new TextEncoder().encode("ab✓").slice(0, 4))).toEqual({ ok: true });
    expect(checkFileType("text/plain", new Uint8Array([0x41, 0x00, 0x42])).ok).toBe(false);
    expect(checkFileType("text/plain", new Uint8Array([0xff, 0xfe, 0x41])).ok).toBe(false);
  });
});

describe("AttachmentFilename", () => {
  const clean = (name: string) => AttachmentFilename.safeParse(name);

  it("keeps only the last part of a path and replaces unsafe characters", () => {
    expect(clean("../../etc/passwd").data).toBe("passwd");
    expect(clean("C:\\Users\\me\\photo.png").data).toBe("photo.png");
    expect(clean('a"b\r\n<x>:|?*.pdf').data).toBe("a_b___x_____.pdf");
    expect(clean(".hidden").data).toBe("hidden");
    expect(clean("résumé ✓.txt").data).toBe("résumé ✓.txt");
  });

  it("refuses a name that is nothing once cleaned", () => {
    expect(clean("..").success).toBe(false);
    expect(clean("dir/").success).toBe(false);
    expect(clean("   ").success).toBe(false);
  });
});
