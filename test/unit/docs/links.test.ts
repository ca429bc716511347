/**
 * Relative links in the repository's documents resolve: README.md, docs/*.md and any
 * packages/<name>/README.md. Each relative target must be a file or folder inside the
 * repository (a fresh clone has nothing beside it, so no `../` may leave it), and a `#anchor`
 * must be a heading of the target Markdown file, as GitHub makes anchors. Links with a scheme
 * (https:, mailto:) are not checked: this machine cannot reach them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { headingAnchors, linkTargets } from "./markdown";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

function documents(): string[] {
  const files = ["README.md"];
  for (const name of readdirSync(join(ROOT, "docs"))) if (name.endsWith(".md")) files.push(`docs/${name}`);
  if (existsSync(join(ROOT, "packages"))) {
    for (const name of readdirSync(join(ROOT, "packages")))
      if (existsSync(join(ROOT, "packages", name, "README.md"))) files.push(`packages/${name}/README.md`);
  }
  return files;
}

/** What is wrong with `target` in the document at `from` (repository-relative), or null. */
function brokenLink(root: string, from: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null;
  const hash = target.indexOf("#");
  const pathPart = decodeURI(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  // GitHub reads a leading `/` from the repository's root.
  const resolved =
    pathPart === ""
      ? join(root, from)
      : pathPart.startsWith("/")
        ? join(root, pathPart)
        : resolve(root, dirname(from), pathPart);
  const inside = relative(root, resolved);
  if (inside.startsWith("..") || isAbsolute(inside)) return `leaves the repository (${inside})`;
  if (!existsSync(resolved)) return `no such file: ${inside}`;
  if (anchor === null) return null;
  if (!statSync(resolved).isFile() || !resolved.endsWith(".md"))
    return `an #anchor into ${inside}, which is not a Markdown file`;
  const anchors = headingAnchors(readFileSync(resolved, "utf8"));
  return anchors.has(anchor) ? null : `no heading in ${inside} has the anchor #${anchor}`;
}

describe("links in the repository's documents", () => {
  const files = documents();

  it("finds the documents", () => {
    expect(files).toEqual(expect.arrayContaining(["README.md", "docs/API.md", "docs/DESIGN.md"]));
  });

  for (const file of files) {
    it(`${file}: every relative link and #anchor resolves inside the repository`, () => {
      const broken = linkTargets(readFileSync(join(ROOT, file), "utf8"))
        .map(({ line, target }) => ({ line, target, problem: brokenLink(ROOT, file, target) }))
        .filter((link) => link.problem !== null)
        .map((link) => `  ${file}:${link.line} (${link.target}): ${link.problem}`);
      expect(broken, `broken links:\n${broken.join("\n")}\n`).toEqual([]);
    });
  }
});

describe("the link checker", () => {
  // Against this repository's own files: README.md, docs/API.md and docs/DESIGN.md exist, with their headings.
  const check = (from: string, target: string) => brokenLink(ROOT, from, target);

  it("accepts files, folders and anchors that exist", () => {
    expect(check("README.md", "docs/API.md")).toBeNull();
    expect(check("README.md", "docs/API.md#conventions")).toBeNull();
    expect(check("docs/API.md", "DESIGN.md")).toBeNull();
    expect(check("docs/API.md", "#post-v1tripsidcancel")).toBeNull();
    expect(check("docs/API.md", "../README.md")).toBeNull();
    expect(check("README.md", "docs")).toBeNull();
    expect(check("README.md", "https://example.com/x")).toBeNull();
  });

  it("refuses links that leave the repository, missing files and missing anchors", () => {
    expect(check("README.md", "../shared/API.md")).toMatch(/leaves the repository/);
    expect(check("docs/API.md", "../../x.md")).toMatch(/leaves the repository/);
    expect(check("README.md", "docs/NOPE.md")).toMatch(/no such file/);
    expect(check("README.md", "docs/API.md#no-such-heading")).toMatch(/no heading/);
    expect(check("README.md", "#no-such-heading")).toMatch(/no heading/);
    expect(check("README.md", "docs/web-rider.png#x")).toMatch(/not a Markdown file/);
  });
});

describe("GitHub heading anchors", () => {
  it("slugs headings as GitHub does", () => {
    const markdown = [
      "# Using the API",
      "### `POST /v1/trips/:id/cancel`",
      "### Geo index: why H3 resolution 7",
      "## Payments: wallet, holds, receipts",
      "## The rendered reference at /docs",
      "## snake_case and **bold** and [a link](x.md)",
      "## Using the API",
      "```",
      "# not a heading",
      "```",
    ].join("\n");
    expect([...headingAnchors(markdown)]).toEqual([
      "using-the-api",
      "post-v1tripsidcancel",
      "geo-index-why-h3-resolution-7",
      "payments-wallet-holds-receipts",
      "the-rendered-reference-at-docs",
      "snake_case-and-bold-and-a-link",
      "using-the-api-1",
    ]);
  });

  it("finds link targets outside code only", () => {
    const markdown = [
      '[a](x.md) and ![b](img.png "title") and `[c](code.md)`',
      "```",
      "[d](fenced.md)",
      "```",
      "[ref]: ref.md",
      '<img src="html.png">',
    ].join("\n");
    expect(linkTargets(markdown).map((l) => l.target)).toEqual(["x.md", "img.png", "ref.md", "html.png"]);
  });
});
