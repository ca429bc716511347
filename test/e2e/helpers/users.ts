/**
 * Accounts and rooms for the end-to-end tests, made through the SDK itself; operators, approved cars and accepted
 * offers for the ones that need them.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  RidewireClient,
  RidewireError,
  type Room,
  type SignupRole,
  type Trip,
  type User,
  type Vehicle,
  type VehicleInput,
} from "@ridewire/client";
import { pdfBytes } from "../../helpers/files";

/** The repository, where `scripts/admin.mjs` runs (helpers/wrangler.ts has it too, with the wrangler package). */
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

let counter = 0;

export type Account = { api: RidewireClient; user: User; token: string; email: string; password: string };

export async function account(baseUrl: string, role: SignupRole, name: string): Promise<Account> {
  const api = new RidewireClient({ baseUrl });
  const email =
    `${name.toLowerCase().replace(/\W+/g, "")}-${Date.now().toString(36)}-${++counter}-` +
    `${Math.random().toString(36).slice(2, 8)}@e2e.example`;
  const password = "correct horse battery staple";
  const { user, token } = await api.signUp({ email, password, name, role });
  // A trip holds its fare on the wallet (402 without): riders pay in through the sandbox provider.
  if (role === "rider") await api.topUp({ amount: { amount: 20_000, currency: "USD" } });
  return { api, user, token, email, password };
}

/** A public room made by `owner`, joined by the others. */
export async function sharedRoom(owner: Account, ...others: Account[]): Promise<Room> {
  const room = await owner.api.createRoom({ name: `e2e ${++counter}` });
  for (const other of others) await other.api.joinRoom(room.id);
  return room;
}

/** Polls `check` until it returns something other than undefined; rejects after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Makes `who` an operator the documented way (`npm run admin -- create`, on the local D1 of the server whose state
 * is in `persistTo`), then signs their client in again for a token that says so. Once in CI (browser files two at a
 * time) the sign-in right after the script failed with "fetch failed", a connection dropped, not an answer: it is
 * made again then, and only then.
 */
export async function operator(persistTo: string, who: Account): Promise<void> {
  // The script writes the local D1 beside the running server; a write of the server's in that moment makes it
  // SQLITE_BUSY (seen in CI with two browser files at a time): run again then, and only then.
  for (let attempt = 1; ; attempt++) {
    const promoted = spawnSync(
      process.execPath,
      ["scripts/admin.mjs", "create", who.email, "--persist-to", persistTo],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    if (promoted.status === 0) break;
    const output = `${promoted.stdout}\n${promoted.stderr}`;
    if (attempt === 3 || !output.includes("SQLITE_BUSY")) throw new Error(`npm run admin failed: ${output}`);
    await sleep(500);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await who.api.signIn({ email: who.email, password: who.password });
      return;
    } catch (err) {
      if (attempt === 3 || !(err instanceof Error) || !err.message.includes("fetch failed")) throw err;
      await sleep(500);
    }
  }
}

let plates = 0;

/**
 * `driver`'s licence and a car of `tier` (a white Skoda Octavia with a plate of its own, unless `car` says
 * otherwise) with its papers, approved by operator `ops` (README, "Drivers and vehicles").
 */
export async function approvedCar(
  driver: Account,
  ops: Account,
  tier: string,
  car: Partial<VehicleInput> = {},
): Promise<Vehicle> {
  const vehicle = await driver.api.registerVehicle({
    make: "Skoda",
    model: "Octavia",
    colour: "White",
    plate: `TU ${String((Date.now() + plates++) % 100_000).padStart(5, "0")}`,
    seats: 4,
    tier,
    ...car,
  });
  const paper = (kind: "licence" | "registration" | "insurance", vehicleId?: string) =>
    driver.api.uploadDocument({
      kind,
      ...(vehicleId ? { vehicleId } : {}),
      filename: `${kind}.pdf`,
      contentType: "application/pdf",
      data: pdfBytes(),
    });
  const papers = [
    await paper("licence"),
    await paper("registration", vehicle.id),
    await paper("insurance", vehicle.id),
  ];
  for (const doc of papers) await ops.api.reviewDocument(doc.id, { decision: "approve" });
  return ops.api.reviewVehicle(vehicle.id, { decision: "approve" });
}

/** `driver` (over the SDK) accepts `tripId` once it is offered to them (409 until then). */
export async function acceptWhenOffered(driver: Account, tripId: string, timeoutMs = 25_000): Promise<Trip> {
  return waitFor(
    `the offer of ${tripId}`,
    async () => {
      try {
        return await driver.api.acceptTrip(tripId);
      } catch (err) {
        if (err instanceof RidewireError && err.status === 409) return undefined;
        throw err;
      }
    },
    timeoutMs,
  );
}
