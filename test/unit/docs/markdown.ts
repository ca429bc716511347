/**
 * Just enough Markdown for the document tests: headings and link targets outside code, and
 * the anchors GitHub gives headings. Not a Markdown parser: these documents use ATX headings,
 * inline links, images and reference definitions, and nothing here needs more.
 */

/** The lines outside fenced code blocks (``` or ~~~), with inline code spans blanked out. */
export function proseLines(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | null = null;
  markdown.split("\n").forEach((text, index) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (marker && (fence === null || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence === null ? marker : null;
      return;
    }
    if (fence === null) out.push({ line: index + 1, text });
  });
  return out;
}

/** ATX headings (`## Title`), as written, outside code blocks. */
export function headings(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const match = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (match?.[1]) out.push({ line, text: match[1] });
  }
  return out;
}

/**
 * The anchor GitHub gives a heading: its rendered text (code spans and links reduced to their
 * text, emphasis marks dropped) lowercased, every character that is not a letter, a mark, a
 * digit, `_`, `-` or a space removed, spaces turned into `-`. The same text again gets `-1`,
 * `-2`, ... (github-slugger's rules).
 */
export function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { text } of headings(markdown)) {
    const rendered = text
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/`/g, "")
      .replace(/\*+/g, "");
    const base = rendered
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Every link and image target outside code: inline `[x](target)`, `![x](target)`, `[x]: target`, and HTML href/src. */
export function linkTargets(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const prose = text.replace(/(`+)[\s\S]*?\1/g, (span) => " ".repeat(span.length));
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ line, target: match[1]! });
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(prose);
    if (definition) out.push({ line, target: definition[1]! });
    for (const match of prose.matchAll(/\b(?:href|src)="([^"]+)"/g)) out.push({ line, target: match[1]! });
  }
  return out;
}
