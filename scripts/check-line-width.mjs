#!/usr/bin/env node
/**
 * Fails when a line of code is wider than biome.json's `formatter.lineWidth`. Biome wraps code
 * to that width but leaves comments and long string literals alone, so this catches what the
 * formatter cannot. Generated files (Biome's ignore list) are skipped.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(new URL("../biome.json", import.meta.url), "utf8"));
const width = config.formatter.lineWidth;
const GENERATED = new Set(["worker-configuration.d.ts"]);
const files = execFileSync(
  "git",
  ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.tsx", "*.mjs", "*.js"],
  { encoding: "utf8" },
)
  .split("\n")
  .filter((file) => file && !GENERATED.has(file) && !file.startsWith("public/build/"));

const over = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    continue; // deleted in the work tree but still in the index
  }
  text.split("\n").forEach((line, index) => {
    if (line.length > width) over.push(`${file}:${index + 1}: ${line.length} columns`);
  });
}
if (over.length > 0) {
  console.error(
    `${over.length} line(s) wider than ${width} columns (biome.json formatter.lineWidth):\n${over.join("\n")}`,
  );
  process.exit(1);
}
console.log(`line width: ${files.length} files, no line over ${width} columns`);
