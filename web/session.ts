/**
 * @module web/session
 * Who is signed in: the token and user from register or login, kept in sessionStorage (per
 * tab, so a rider and a driver can share a browser), and the SDK client that uses them.
 */
import { RidewireClient, type User } from "@ridewire/client";

const KEY = "ridewire.session";

export type Session = { token: string; user: User };

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const { token, user } = value as { token?: unknown; user?: { id?: unknown; role?: unknown } };
    if (typeof token !== "string" || typeof user?.id !== "string" || (user.role !== "rider" && user.role !== "driver" && user.role !== "admin")) return null;
    return value as Session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

/** The API at the page's own origin (the Worker serves both). */
export function clientFor(session: Session | null): RidewireClient {
  return new RidewireClient({ baseUrl: location.origin, token: session?.token ?? null });
}

/** Sign-up makes riders and drivers only; an operator is promoted with `npm run admin -- create`. */
export async function signUp(input: { email: string; password: string; name: string; role: "rider" | "driver" }): Promise<Session> {
  const { token, user } = await clientFor(null).register(input);
  return { token, user };
}

export async function signIn(input: { email: string; password: string }): Promise<Session> {
  const { token, user } = await clientFor(null).login(input);
  return { token, user };
}
