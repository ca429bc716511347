// The README's routing table says what src/notify/routing.ts does: same channels in the same
// order, same mode, and the same mutable and urgent flags, for every route.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROUTES, type RouteName } from "../../../src/notify/routing";
import type { Channel } from "../../../src/protocol/notifications";

const WORDS: Record<Channel, string> = {
  fcm: "FCM",
  webpush: "Web Push",
  webhook: "webhook",
  email: "email",
  sms: "SMS",
};
const ROW_OF: Record<RouteName, string> = {
  offer: "`offer`",
  chat_message: "`chat_message`",
  trip_status: "`trip_status`",
  trip_arrived: "`trip_status` with status `arrived`",
  trip_arrived_sms: "`trip_status` `arrived`, no ack in time",
  receipt: "`receipt`",
  security: "`security` (sign-in, changes, ban)",
};

describe("README: the routing table", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const rows = new Map(
    readme
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) =>
        line
          .split("|")
          .slice(1, -1)
          .map((cell) => cell.trim()),
      )
      .map((cells) => [cells[0] ?? "", cells] as const),
  );

  for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    it(`matches the code for ${name}`, () => {
      const cells = rows.get(ROW_OF[name]);
      expect(cells, `no README row for ${name}`).toBeDefined();
      const [, channels, mode, mutable, urgent] = cells ?? [];
      const named = (channels ?? "").replace(/ \([^)]*\)/g, "").split(", ");
      expect(named).toEqual(route.channels.map((c) => WORDS[c]));
      expect(mode).toBe(route.mode);
      expect(mutable).toBe(route.mutable ? "yes" : "no");
      expect(urgent).toBe(route.urgent ? "yes" : "no");
    });
  }
});
