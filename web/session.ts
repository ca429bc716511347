/**
 * @module web/session
 * Who is signed in: the user and their session (access token, refresh token, expiry) from
 * register or login, kept in sessionStorage (per tab, so a rider and a driver can share a
 * browser), and the one SDK client of the tab that uses them. The client refreshes the access
 * token by itself; every new refresh token is stored at once (the old one no longer works), and
 * when a refresh is refused the session is dropped and `onSignedOut` shows the sign-in page.
 */
import { RidewireClient, type ClientSession, type SignupRole, type User } from "@ridewire/client";

const KEY = "ridewire.session";

export type Session = ClientSession & { user: User };

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const { token, refreshToken, expiresAt, user } = value as {
      token?: unknown;
      refreshToken?: unknown;
      expiresAt?: unknown;
      user?: { id?: unknown; role?: unknown };
    };
    if (typeof token !== "string" || typeof refreshToken !== "string" || typeof expiresAt !== "number") return null;
    if (typeof user?.id !== "string" || (user.role !== "rider" && user.role !== "driver" && user.role !== "admin"))
      return null;
    return value as Session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

/**
 * The tab's client, made once per sign-in: two clients refreshing one session would present
 * its refresh token twice, which the server takes for theft and answers by ending the session.
 */
let tabClient: { client: RidewireClient; userId: string } | null = null;

export function clientFor(session: Session, onSignedOut: () => void): RidewireClient {
  if (tabClient && tabClient.userId === session.user.id && tabClient.client.session) return tabClient.client;
  const { user } = session;
  const client = new RidewireClient({
    baseUrl: location.origin,
    session: { token: session.token, refreshToken: session.refreshToken, expiresAt: session.expiresAt },
    onSession: (next) => {
      if (next) return saveSession({ ...next, user });
      saveSession(null);
      // A deliberate signOut() has let go of the client already; anything else is a session that ended.
      if (tabClient?.client !== client) return;
      tabClient = null;
      onSignedOut();
    },
  });
  tabClient = { client, userId: user.id };
  return client;
}

const PLACE_KEY = "ridewire.returnTo";
/** A place remembered with no one signed in: whoever signs in next goes there. */
export const ANYONE = "*";

/** Where `userId` was (the page's hash) when their session ended, to go back there after signing in. */
export function rememberPlace(userId: string, hash: string): void {
  // A place of the user's own outranks one remembered before anyone signed in.
  if (userId === ANYONE && sessionStorage.getItem(PLACE_KEY)) return;
  if (/^#\/[\w/-]*$/.test(hash)) sessionStorage.setItem(PLACE_KEY, JSON.stringify({ userId, hash }));
}

/** The page `userId` was on when their session ended (once), or null: another user's is not theirs. */
export function takePlace(userId: string): string | null {
  const raw = sessionStorage.getItem(PLACE_KEY);
  sessionStorage.removeItem(PLACE_KEY);
  try {
    const place = JSON.parse(raw ?? "null") as { userId?: unknown; hash?: unknown } | null;
    return (place?.userId === userId || place?.userId === ANYONE) &&
      typeof place.hash === "string" &&
      /^#\/[\w/-]*$/.test(place.hash)
      ? place.hash
      : null;
  } catch {
    return null;
  }
}

/** Ends the session on the server too; the page goes back to the sign-in form. */
export async function signOut(): Promise<void> {
  const current = tabClient?.client;
  tabClient = null;
  saveSession(null);
  await current?.signOut().catch(() => undefined);
}

/** A client with no session: for signing in, and for a share link's page. */
export const anonymousClient = () => new RidewireClient({ baseUrl: location.origin });
const anonymous = anonymousClient;

/** Sign-up makes riders and drivers only; an operator is promoted with `npm run admin -- create`. */
export async function signUp(input: {
  email: string;
  password: string;
  name: string;
  role: SignupRole;
}): Promise<Session> {
  const { token, refreshToken, expiresAt, user } = await anonymous().register(input);
  return { token, refreshToken, expiresAt, user };
}

export async function signIn(input: { email: string; password: string }): Promise<Session> {
  const { token, refreshToken, expiresAt, user } = await anonymous().login(input);
  return { token, refreshToken, expiresAt, user };
}
