/**
 * docs/SCALE.md's tables are the capacity model's output for the benchmark's current unit costs
 * (bench/results/trip-floor.json), so the document cannot drift from the numbers it cites. When
 * the benchmark or the model moves, `node scripts/capacity-model.mjs --write` brings it back.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BEGIN, END, model, render, type TripFloor } from "../../../scripts/capacity-model.mjs";

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");

describe("docs/SCALE.md", () => {
  it("carries the capacity model's current output between its markers", () => {
    const doc = read("docs/SCALE.md");
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, "the begin marker").toBeGreaterThanOrEqual(0);
    expect(end, "the end marker, after the begin marker").toBeGreaterThan(start);
    const tripFloor = JSON.parse(read("bench/results/trip-floor.json")) as TripFloor;
    expect(
      doc.slice(start + BEGIN.length, end).trim(),
      "docs/SCALE.md is stale: run node scripts/capacity-model.mjs --write",
    ).toBe(render(model(tripFloor)).trim());
  });
});
