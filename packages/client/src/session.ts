/**
 * @module client/session
 * Keeps a signed-in session alive: the short-lived access token, the refresh token that buys
 * the next one (each works once: the server rotates it), and when to use it. A token is
 * refreshed shortly before it expires (its last fifth, between 1 s and 60 s) and when the
 * server answers 401; concurrent callers share one refresh, since presenting a refresh token
 * twice would look like theft to the server and end the session. A refused refresh ends the
 * session here too (`onChange(null)`): the app shows its sign-in page.
 */
import { RidewireError } from "./errors";

export type ClientSession = {
  /** The access token (`Authorization: Bearer`). */
  token: string;
  refreshToken: string;
  /** When `token` expires, epoch ms. */
  expiresAt: number;
};

/** Trades a refresh token for the next session; throws RidewireError (401 when refused). */
export type SessionExchange = (refreshToken: string) => Promise<ClientSession>;

const MIN_MARGIN_MS = 1_000;
const MAX_MARGIN_MS = 60_000;

/**
 * The `iat` and `exp` of a JWT, in epoch ms, read without verifying it (the server does that); null if it is not one.
 */
export function tokenTimes(token: string): { issuedAt: number; expiresAt: number } | null {
  const payload = token.split(".")[1];
  if (payload === undefined) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((payload.length + 3) % 4));
    const claims: unknown = JSON.parse(json);
    if (typeof claims !== "object" || claims === null) return null;
    const { iat, exp } = claims as { iat?: unknown; exp?: unknown };
    if (typeof iat !== "number" || typeof exp !== "number") return null;
    return { issuedAt: iat * 1000, expiresAt: exp * 1000 };
  } catch {
    return null;
  }
}

/** The user id (`sub`) a token speaks for, read without checking it (the server does); null if unreadable. */
export function tokenSubject(token: string): string | null {
  const payload = token.split(".")[1];
  if (payload === undefined) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((payload.length + 3) % 4));
    const claims: unknown = JSON.parse(json);
    const sub = typeof claims === "object" && claims !== null ? (claims as { sub?: unknown }).sub : undefined;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

/** How long before its expiry a token is renewed: a fifth of its lifetime, within [1 s, 60 s]. */
export function renewalMarginMs(token: string): number {
  const times = tokenTimes(token);
  const lifetime = times ? times.expiresAt - times.issuedAt : 0;
  const margin = lifetime > 0 ? lifetime / 5 : MAX_MARGIN_MS;
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, margin));
}

export class SessionKeeper {
  private current: ClientSession | null;
  /** The refresh in flight, shared by every caller until it settles. */
  private refreshing: Promise<ClientSession> | null = null;
  private readonly listeners = new Set<(token: string) => void>();

  constructor(
    initial: ClientSession | null,
    private readonly exchange: SessionExchange,
    private readonly onChange?: (session: ClientSession | null) => void,
  ) {
    this.current = initial;
  }

  get session(): ClientSession | null {
    return this.current;
  }

  /** A new session (sign-in), or none (sign-out); tells `onChange`. */
  set(session: ClientSession | null): void {
    this.current = session;
    this.onChange?.(session);
    if (session) for (const listener of this.listeners) listener(session.token);
  }

  /** The access token, refreshed first when it is about to expire; null without a session. */
  async token(): Promise<string | null> {
    const session = this.current;
    if (!session) return null;
    if (session.expiresAt - Date.now() > renewalMarginMs(session.token)) return session.token;
    try {
      return (await this.refresh()).token;
    } catch (err) {
      // A network failure while the old token still works: use it, and try again next time.
      if (
        err instanceof RidewireError &&
        err.status !== 401 &&
        session.expiresAt > Date.now() &&
        this.current === session
      )
        return session.token;
      throw err;
    }
  }

  /**
   * Refreshes now (one refresh at a time). Rejects with RidewireError 401 `session_expired`
   * when the server refuses the refresh token; the session is then gone.
   */
  refresh(): Promise<ClientSession> {
    this.refreshing ??= this.runRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Hears of every new access token (after a refresh or a sign-in); returns the unsubscribe. */
  onToken(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async runRefresh(): Promise<ClientSession> {
    const session = this.current;
    if (!session) throw new RidewireError(401, "session_expired", "not signed in");
    let next: ClientSession;
    try {
      next = await this.exchange(session.refreshToken);
    } catch (err) {
      if (err instanceof RidewireError && err.status === 401) {
        if (this.current === session) this.set(null);
        throw new RidewireError(401, "session_expired", "the session has ended; sign in again", err.message);
      }
      throw err;
    }
    // A sign-out or another sign-in meanwhile wins over this refresh.
    if (this.current !== session)
      throw new RidewireError(401, "session_expired", "the session changed while refreshing");
    this.set(next);
    return next;
  }
}
