/**
 * Accounts and rooms for the end-to-end tests, made through the SDK itself.
 */
import { RidewireClient, type Room, type SignupRole, type User } from "@ridewire/client";

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
