/**
 * @module client/http
 * The typed HTTP client of every route API.md lists that the server implements. Bodies and
 * answers are the protocol module's types (imported as types only); the fields of an answer the
 * SDK reads are checked before it is handed on (answers.ts), errors
 * become `RidewireError`s with API.md's `status`, `code`, `message` and `details`. POSTs that
 * create things send an `Idempotency-Key` (one is made up when the caller gives none), which
 * makes them safe to retry: such requests, and GETs, are retried on network failures and on
 * 502/503/504. A client signed in with `signIn`/`signUp` (or given a `session`) keeps its
 * session alive by itself: it refreshes the access token shortly before it expires and once
 * on a 401, one refresh at a time (client/session.ts), and tells open connections the new token.
 */
import type { z } from "zod";
import type {
  Attachment,
  AttachmentContentType,
  AttachmentGrant,
  UploadResponse,
} from "../../../src/protocol/attachments";
import type {
  ChatMessage,
  ErrorBody,
  LatLng,
  Money,
  MemberRole,
  Message,
  ReactionCount,
  Role,
  Room,
  SignupRole,
  User,
} from "../../../src/protocol/common";
import type {
  CancelBody,
  Driver,
  DriverTiers,
  Offer,
  Quote,
  QuoteBody,
  RatingBody,
  StartBody,
  Trip,
  TripHistoryEntry,
  TripHistoryResponse,
  TripRequestBody,
  TripRider,
} from "../../../src/protocol/dispatch";
import type {
  AdminDriverListResponse,
  AdminDriverRow,
  AdminTripListResponse,
  AdminTripRow,
} from "../../../src/protocol/ops-lists";
import type {
  AuthResponse,
  BlockedUser,
  CreateRoomBody,
  HistoryResponse,
  LastSeenVisibility,
  LoginBody,
  LogoutResponse,
  MeResponse,
  PasswordChangeBody,
  PasswordChangeResponse,
  MessageReceipt,
  PeerMarks,
  PhoneChangeResponse,
  PresenceResponse,
  Privacy,
  RegisterBody,
  RoomListItem,
  RoomMember,
} from "../../../src/protocol/http";
import type {
  MapConfigResponse,
  NearbyCarsResponse,
  Place,
  PlaceSearchResponse,
  ReversePlaceResponse,
} from "../../../src/protocol/map";
import type {
  Device,
  DeviceBody,
  Notification,
  NotificationAckResponse,
  Preferences,
  PreferencesBody,
} from "../../../src/protocol/notifications";
import type {
  EarningsResponse,
  Receipt,
  Tip,
  TopUp,
  TopUpBody,
  Transaction,
  Wallet,
} from "../../../src/protocol/payments";
import type { Payout, PayoutAccount, PayoutBalance, PayoutListResponse } from "../../../src/protocol/payouts";
import type {
  DocumentContentType,
  DocumentGrant,
  DocumentKind,
  DocumentUploadResponse,
  DriverApproval,
  DriverDocument,
  DriverFile,
  ReviewBody,
  TripDriver,
  TripVehicle,
  Vehicle,
  VehicleBody,
} from "../../../src/protocol/vehicles";
import type {
  OpsCancellationsQuery,
  OpsCancellationsResponse,
  OpsCellsResponse,
  TripCancellation,
} from "../../../src/protocol/ops";
import type { DispatchHealth, OpsMetricsResponse } from "../../../src/protocol/ops-metrics";
import type { DriverCancelCode, RiderCancelCode } from "../../../src/domain/cancel-reasons";
import type {
  OpsAlertsQuery,
  SharedTrip,
  ShareLink,
  SharedTripResponse,
  SosBody,
  TripAlert,
} from "../../../src/protocol/safety";
import { TRIP_MOVE_OF_FRAME, type TripMoveFrameType } from "../../../src/protocol/trip-moves";
import { answer, type AnswerCheck } from "./answers";
import { fullJitter } from "./backoff";
import { RidewireError } from "./errors";
import { frameHead, type DriverFrames, type OpsDeskFrames, type ServerFrame } from "./frames";
import { newId } from "./ids";
import { SessionKeeper, type ClientSession } from "./session";
import {
  RoomConnection,
  type ChatConnection,
  type DriverConnection,
  type OpsDeskConnection,
  type RoomContext,
  type RoomOptions,
  type TripConnection,
} from "./room";
import type { FetchLike } from "./types";

/** A bearer token, or a function that returns the current one (called on every request). */
export type TokenSource = string | null | (() => string | null | Promise<string | null>);

export type ClientOptions = {
  /** Where the service is, e.g. "https://api.example.com" or "http://127.0.0.1:8787". */
  baseUrl: string;
  token?: TokenSource;
  /** A session to go on with (say, one kept in storage): it wins over `token` and is refreshed by itself. */
  session?: ClientSession | null;
  /**
   * Hears of every change of the session: a sign-in, a refresh (store the new refresh token:
   * the old one no longer works), and `null` when it ended (the server refused the refresh
   * token, or `signOut`): show the sign-in page then.
   */
  onSession?: (session: ClientSession | null) => void;
  fetch?: FetchLike;
  /** Retries of a GET or an idempotent POST after a network failure or a 502/503/504 (default 2). */
  retries?: number;
  /** Per-request timeout in ms (default 30 s); long polls add their own wait to it. */
  timeoutMs?: number;
};

export type RequestOptions = { signal?: AbortSignal };

/** A file to upload as a chat attachment: its name, its type (one the service allows) and its bytes. */
export type AttachmentFile = {
  filename: string;
  contentType: AttachmentContentType;
  data: Blob | ArrayBuffer | Uint8Array<ArrayBuffer>;
};
/** A driver's document to upload for review: its kind, its vehicle (registration, insurance), name, type and bytes. */
export type DocumentFile = {
  kind: DocumentKind;
  vehicleId?: string;
  filename: string;
  contentType: DocumentContentType;
  data: Blob | ArrayBuffer | Uint8Array<ArrayBuffer>;
};
export type VehicleInput = z.input<typeof VehicleBody>;
export type ReviewInput = z.input<typeof ReviewBody>;
export type IdempotentOptions = RequestOptions & {
  /** Sent as `Idempotency-Key`: the same key from the same user gives back the first result. */
  idempotencyKey?: string;
};

// Bodies are what a caller writes (defaults may be left out): zod's input types.
export type RegisterInput = z.input<typeof RegisterBody>;
export type LoginInput = z.input<typeof LoginBody>;
export type TopUpInput = z.input<typeof TopUpBody>;
export type CreateRoomInput = z.input<typeof CreateRoomBody>;
export type QuoteInput = z.input<typeof QuoteBody>;
export type TripRequestInput = z.input<typeof TripRequestBody>;
/** A cancel's reason: `{ reasonCode, note? }` from the side's list (a note with `other`), or the old `{ reason }`. */
export type CancelInput = z.input<typeof CancelBody>;
export type OpsCancellationsInput = Partial<OpsCancellationsQuery>;
export type SosInput = z.input<typeof SosBody>;
export type OpsAlertsInput = { state?: OpsAlertsQuery["state"]; limit?: number; before?: number };
export type StartInput = z.input<typeof StartBody>;
export type RatingInput = z.input<typeof RatingBody>;
export type DeviceInput = z.input<typeof DeviceBody>;
export type PreferencesInput = z.input<typeof PreferencesBody>;

// What the SDK checks of each answer (see answers.ts); the types are the protocol module's.
const HealthResponse = answer<{ ok: true; version: string }>({ ok: "boolean", version: "string" });
const AuthAnswer = answer<AuthResponse>({
  user: "object",
  token: "string",
  refreshToken: "string",
  expiresAt: "integer",
});
const LogoutAnswer = answer<LogoutResponse>({ revoked: "integer" });
const PasswordChangeAnswer = answer<PasswordChangeResponse>({ revoked: "integer" });
const MeAnswer = answer<MeResponse>({ user: "object" });
const PhoneChangeAnswer = answer<PhoneChangeResponse>({ user: "object", codeSent: "boolean" });
const RoomResponse = answer<{ room: Room }>({ room: "object" });
const RoomListResponse = answer<{ rooms: RoomListItem[]; unreadTotal: number }>({
  rooms: "array",
  unreadTotal: "integer",
});
const ReadMarkAnswer = answer<{ roomId: string; seq: number }>({ roomId: "string", seq: "integer" });
const BlockAnswer = answer<{ block: BlockedUser }>({ block: "object" });
const BlockListAnswer = answer<{ blocks: BlockedUser[] }>({ blocks: "array" });
const MapConfigAnswer = answer<MapConfigResponse>({
  style: "string | null",
  tiles: "string | null",
  geocoder: "boolean",
});
const PlaceSearchAnswer = answer<PlaceSearchResponse>({ places: "array" });
const ReversePlaceAnswer = answer<ReversePlaceResponse>({ place: "object | null" });
const NearbyCarsAnswer = answer<NearbyCarsResponse>({ cars: "array", precisionM: "integer" });
const PresenceAnswer = answer<PresenceResponse>({ userId: "string", lastSeenAt: "integer | null" });
const PrivacyAnswer = answer<{ privacy: Privacy }>({ privacy: "object" });
const RoomMembersResponse = answer<{ members: RoomMember[] }>({ members: "array" });
const HistoryAnswer = answer<HistoryResponse>({ messages: "array", nextBefore: "integer | null" });
const MessageResponse = answer<{ message: Message }>({ message: "object" });
const AttachmentGrantAnswer = answer<AttachmentGrant>({ key: "string", uploadUrl: "string", method: "string" });
const UploadAnswer = answer<UploadResponse>({ attachment: "object" });
const ChatMessageAnswer = answer<{ message: ChatMessage }>({ message: "object" });
const DriverResponse = answer<{ driver: Driver }>({ driver: "object" });
const DriverTiersAnswer = answer<{ tiers: DriverTiers }>({ tiers: "object" });
const QuoteResponse = answer<{ quote: Quote; quotes: Quote[] }>({ quote: "object", quotes: "array" });
const TripResponse = answer<{ trip: Trip }>({ trip: "object" });
const TripListResponse = answer<{ trips: Trip[] }>({ trips: "array" });
const TripHistoryAnswer = answer<TripHistoryResponse>({ trips: "array", nextCursor: "string | null" });
const OpsDriversAnswer = answer<AdminDriverListResponse>({ drivers: "array", nextCursor: "string | null" });
const OpsTripsAnswer = answer<AdminTripListResponse>({ trips: "array", nextCursor: "string | null" });
/** The operators' lists' query: a search word, a page size, the previous page's `nextCursor`. */
export type OpsListInput = { q?: string; limit?: number; cursor?: string };
const ReassignAnswer = answer<{ trip: Trip; audit: unknown }>({ trip: "object", audit: "object" });
const CurrentTripResponse = answer<{ trip: Trip | null }>({ trip: "object | null" });
const ShareLinkResponse = answer<{ share: ShareLink }>({ share: "object" });
const RevokedResponse = answer<{ revoked: number }>({ revoked: "integer" });
const AlertResponse = answer<{ alert: TripAlert }>({ alert: "object" });
const AlertListResponse = answer<{ alerts: TripAlert[] }>({ alerts: "array" });
const SharedTripAnswer = answer<SharedTripResponse>({ trip: "object", pollAfterMs: "integer" });
const AddMemberResponse = answer<{ room: Room; userId: string }>({ room: "object", userId: "string" });
const LeaveResponse = answer<{ roomId: string; userId: string; left: true }>({
  roomId: "string",
  userId: "string",
  left: "boolean",
});
const MemberRoleAnswer = answer<{ userId: string; role: MemberRole }>({ userId: "string", role: "string" });
const BanResponse = answer<{ roomId: string; userId: string; banned: true }>({
  roomId: "string",
  userId: "string",
  banned: "boolean",
});
/** A rating as the server stored it. */
export type RatingResult = { tripId: string; rateeId: string; stars: number; comment: string | null };
const RatingResponse = answer<{ rating: RatingResult }>({ rating: "object" });
const PollResponse = answer<{ events: unknown[]; seq: number }>({ events: "array", seq: "integer" });
const DeviceResponse = answer<{ device: Device }>({ device: "object" });
const DeviceListResponse = answer<{ devices: Device[] }>({ devices: "array" });
const PushKeyResponse = answer<{ publicKey: string | null }>({ publicKey: "string | null" });
const NotificationListResponse = answer<{ notifications: Notification[] }>({ notifications: "array" });
const NotificationAckAnswer = answer<NotificationAckResponse>({ id: "string", ackedAt: "integer" });
const PreferencesResponse = answer<{ preferences: Preferences }>({ preferences: "object" });
const WalletResponse = answer<{ wallet: Wallet }>({ wallet: "object" });
const TopUpResponse = answer<{ topUp: TopUp }>({ topUp: "object" });
const TransactionListResponse = answer<{ transactions: Transaction[]; nextBefore: number | null }>({
  transactions: "array",
  nextBefore: "integer | null",
});
const ReceiptResponse = answer<{ receipt: Receipt }>({ receipt: "object" });
const TipAnswer = answer<{ tip: Tip }>({ tip: "object" });
const PayoutAnswer = answer<{ payout: Payout }>({ payout: "object" });
const PayoutListAnswer = answer<PayoutListResponse>({ payouts: "array", nextBefore: "integer | null" });
const PayoutBalanceAnswer = answer<{ balance: PayoutBalance }>({ balance: "object" });
const VehicleAnswer = answer<{ vehicle: Vehicle }>({ vehicle: "object" });
const VehicleListAnswer = answer<{ vehicles: Vehicle[] }>({ vehicles: "array" });
const DocumentGrantAnswer = answer<DocumentGrant>({ document: "object", uploadUrl: "string", method: "string" });
const DocumentAnswer = answer<DocumentUploadResponse>({ document: "object" });
const DocumentListAnswer = answer<{ documents: DriverDocument[] }>({ documents: "array" });
const ApprovalAnswer = answer<DriverApproval>({ approved: "boolean", missing: "array", vehicle: "object | null" });
const DriverFileAnswer = answer<DriverFile>({ vehicles: "array", documents: "array" });
const PayoutAccountAnswer = answer<{ payoutAccount: PayoutAccount | null }>({ payoutAccount: "object | null" });
const EarningsAnswer = answer<EarningsResponse>({
  earnings: "object",
  trips: "integer",
  from: "integer",
  to: "integer",
});
const OpsCancellationsAnswer = answer<OpsCancellationsResponse>({ cancellations: "array", counts: "object" });
const OpsCellsAnswer = answer<OpsCellsResponse>({
  cells: "array",
  totals: "object",
  center: "object",
  resolution: "integer",
  at: "integer",
});
const OpsMetricsAnswer = answer<OpsMetricsResponse>({
  at: "integer",
  windowSeconds: "integer",
  connections: "array",
  throughput: "object",
  errors: "array",
  dispatch: "array",
});
const ErrorAnswer = answer<ErrorBody>({ error: "object" });
const ErrorDetail = answer<ErrorBody["error"]>({ code: "string", message: "string" });
/** A long poll's answer: the stored frames after `since` (or a `reset`), and the seq to poll from next. */
export type PollResult<F = ServerFrame> = { events: F[]; seq: number };

const RETRYABLE_STATUS = new Set([502, 503, 504]);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Call<T> = {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  /** An absolute URL the service gave (an upload URL), instead of `path` under `baseUrl`. */
  url?: string;
  /** A file's bytes as the body, instead of JSON. */
  file?: { data: Blob | ArrayBuffer | Uint8Array<ArrayBuffer>; contentType: string };
  /** The answer is a file: handed on as a Blob (errors are JSON as everywhere). */
  blob?: boolean;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  schema?: AnswerCheck<T>;
  /** Routes that need no token (health, register, login). */
  anonymous?: boolean;
  idempotencyKey?: string;
  signal?: AbortSignal | undefined;
  /** Extra time this request may take (a long poll's wait). */
  extraTimeoutMs?: number;
  /** Set on the retry after a refresh: a second 401 is the answer. */
  refreshed?: boolean;
};

export class RidewireClient {
  readonly baseUrl: string;
  private tokenSource: TokenSource;
  private readonly fetchImpl: FetchLike;
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly sessions: SessionKeeper;
  /** Whether this client ever kept a session: once it ends, connections stop rather than go on without one. */
  private keptSession: boolean;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.tokenSource = options.token ?? null;
    // Called through a closure: a bare `fetch` reference loses its receiver in browsers.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.retries = options.retries ?? 2;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sessions = new SessionKeeper(
      options.session ?? null,
      (refreshToken) => this.exchange(refreshToken),
      options.onSession,
    );
    this.keptSession = Boolean(options.session);
  }

  /** Replaces the token (or token function) used from the next request on; ends a kept session. */
  setToken(token: TokenSource): void {
    this.tokenSource = token;
    this.keptSession = false;
    if (this.sessions.session) this.sessions.set(null);
  }

  /** The current access token: the session's (refreshed first when it is about to expire), or the token source's. */
  async token(): Promise<string | null> {
    if (this.sessions.session) return this.sessions.token();
    const source = this.tokenSource;
    return typeof source === "function" ? await source() : source;
  }

  /** The kept session (access token, refresh token, expiry), if signed in. */
  get session(): ClientSession | null {
    return this.sessions.session;
  }

  /** Goes on with this session (or none); `onSession` hears of it. */
  setSession(session: ClientSession | null): void {
    this.keptSession ||= session !== null;
    this.sessions.set(session);
  }

  /** Refreshes the session now (concurrent calls share one refresh); 401 `session_expired` when refused. */
  refreshSession(): Promise<ClientSession> {
    return this.sessions.refresh();
  }

  /** Hears of every new access token (open connections send it on as an `auth` frame); returns the unsubscribe. */
  onToken(listener: (token: string) => void): () => void {
    return this.sessions.onToken(listener);
  }

  get fetch(): FetchLike {
    return this.fetchImpl;
  }

  // ---- service --------------------------------------------------------------------------------

  health(options?: RequestOptions) {
    return this.call({
      method: "GET",
      path: "/health",
      schema: HealthResponse,
      anonymous: true,
      signal: options?.signal,
    });
  }

  /** The OpenAPI 3.1 document of the routes. */
  openApi(options?: RequestOptions): Promise<unknown> {
    return this.call({ method: "GET", path: "/v1/openapi.json", anonymous: true, signal: options?.signal });
  }

  // ---- accounts -------------------------------------------------------------------------------

  /** Creates an account; the answer's token is not kept: `setToken` it (or use `signUp`). */
  register(body: RegisterInput, options?: RequestOptions): Promise<AuthResponse> {
    return this.call({
      method: "POST",
      path: "/v1/auth/register",
      body,
      schema: AuthAnswer,
      anonymous: true,
      signal: options?.signal,
    });
  }

  login(body: LoginInput, options?: RequestOptions): Promise<AuthResponse> {
    return this.call({
      method: "POST",
      path: "/v1/auth/login",
      body,
      schema: AuthAnswer,
      anonymous: true,
      signal: options?.signal,
    });
  }

  /** Trades a refresh token (once: it is rotated) for a new access token and refresh token. */
  refresh(refreshToken: string, options?: RequestOptions): Promise<AuthResponse> {
    return this.call({
      method: "POST",
      path: "/v1/auth/refresh",
      body: { refreshToken },
      schema: AuthAnswer,
      anonymous: true,
      signal: options?.signal,
    });
  }

  /** Ends this session on the server (every session of the user with `all`); answers how many ended. */
  async logout(body: { all?: boolean } = {}, options?: RequestOptions): Promise<number> {
    return (
      await this.call({ method: "POST", path: "/v1/auth/logout", body, schema: LogoutAnswer, signal: options?.signal })
    ).revoked;
  }

  /** `register`, then keeps the new session for this client. */
  async signUp(body: RegisterInput, options?: RequestOptions): Promise<AuthResponse> {
    const answer = await this.register(body, options);
    this.keep(answer);
    return answer;
  }

  /** `login`, then keeps the new session for this client. */
  async signIn(body: LoginInput, options?: RequestOptions): Promise<AuthResponse> {
    const answer = await this.login(body, options);
    this.keep(answer);
    return answer;
  }

  /**
   * Changes the password (the current one is checked and counted as a failed login when wrong:
   * 403 `invalid_credentials`, 429 past the limits). Every other session of the user ends; this
   * one stays signed in. Answers how many sessions ended.
   */
  async changePassword(body: PasswordChangeBody, options?: RequestOptions): Promise<number> {
    return (
      await this.call({
        method: "POST",
        path: "/v1/auth/password",
        body,
        schema: PasswordChangeAnswer,
        signal: options?.signal,
      })
    ).revoked;
  }

  /** `logout`, then forgets the session (also when the server could not be told). */
  async signOut(body: { all?: boolean } = {}, options?: RequestOptions): Promise<void> {
    try {
      await this.logout(body, options);
    } finally {
      this.tokenSource = null;
      this.sessions.set(null);
    }
  }

  private keep(answer: AuthResponse): void {
    this.tokenSource = null;
    this.keptSession = true;
    this.sessions.set({ token: answer.token, refreshToken: answer.refreshToken, expiresAt: answer.expiresAt });
  }

  private async exchange(refreshToken: string): Promise<ClientSession> {
    const answer = await this.refresh(refreshToken);
    return { token: answer.token, refreshToken: answer.refreshToken, expiresAt: answer.expiresAt };
  }

  async me(options?: RequestOptions): Promise<MeResponse["user"]> {
    return (await this.call({ method: "GET", path: "/v1/me", schema: MeAnswer, signal: options?.signal })).user;
  }

  /**
   * Sets the phone number SMS notifications go to (any common notation; stored in E.164), or
   * removes it with null. A new number is unverified (no SMS) and is texted a code: pass it to
   * `verifyPhone`. `codeSent` says whether a code went out.
   */
  async setPhone(phone: string | null, options?: RequestOptions): Promise<PhoneChangeResponse> {
    return this.call({
      method: "PATCH",
      path: "/v1/me",
      body: { phone },
      schema: PhoneChangeAnswer,
      signal: options?.signal,
    });
  }

  /** Confirms the caller's number with the six-digit code texted to it (400 `invalid_code`: `details.reason`). */
  async verifyPhone(code: string, options?: RequestOptions): Promise<MeResponse["user"]> {
    return (
      await this.call({
        method: "POST",
        path: "/v1/me/phone/verify",
        body: { code },
        schema: MeAnswer,
        signal: options?.signal,
      })
    ).user;
  }

  // ---- chat rooms -----------------------------------------------------------------------------

  async createRoom(body: CreateRoomInput, options?: RequestOptions): Promise<Room> {
    return (await this.call({ method: "POST", path: "/v1/rooms", body, schema: RoomResponse, signal: options?.signal }))
      .room;
  }

  /** Rooms this user can see (public ones and those they are a member of, with `unread` on the latter). */
  async rooms(options?: RequestOptions): Promise<RoomListItem[]> {
    return (await this.roomList(options)).rooms;
  }

  /** The rooms as `rooms` gives them, and `unreadTotal`: every unread message of the user's rooms (a badge). */
  async roomList(options?: RequestOptions): Promise<{ rooms: RoomListItem[]; unreadTotal: number }> {
    return this.call({ method: "GET", path: "/v1/rooms", schema: RoomListResponse, signal: options?.signal });
  }

  /**
   * The direct conversation with `userId`: the same room every time, whichever of the two asks
   * (made on the first call). Rejects with `blocked` (403) when that user blocks this one.
   */
  async directRoom(userId: string, options?: RequestOptions): Promise<Room> {
    return (
      await this.call({
        method: "POST",
        path: "/v1/rooms/direct",
        body: { userId },
        schema: RoomResponse,
        signal: options?.signal,
      })
    ).room;
  }

  /**
   * Blocks a user: no direct messages either way, and in shared rooms their messages are left
   * out of history and arrive as `hidden` frames. Blocking twice is fine.
   */
  async block(userId: string, options?: RequestOptions): Promise<BlockedUser> {
    return (
      await this.call({
        method: "POST",
        path: "/v1/me/blocks",
        body: { userId },
        schema: BlockAnswer,
        signal: options?.signal,
      })
    ).block;
  }

  /** Lifts a block (404 when there is none). */
  async unblock(userId: string, options?: RequestOptions): Promise<void> {
    await this.call({ method: "DELETE", path: `/v1/me/blocks/${seg(userId)}`, signal: options?.signal });
  }

  /**
   * Moves this user's read mark in the room forward to `seq` (the socket's `read` frame, for
   * when there is no socket); answers the mark now. `rooms()` counts unread messages after it.
   */
  async markRead(roomId: string, seq: number, options?: RequestOptions): Promise<number> {
    return this.markReadAt(`/v1/rooms/${seg(roomId)}`, seq, options?.signal);
  }

  private async markReadAt(base: string, seq: number, signal?: AbortSignal): Promise<number> {
    return (await this.call({ method: "POST", path: `${base}/read`, body: { seq }, schema: ReadMarkAnswer, signal }))
      .seq;
  }

  /**
   * When `userId` was last seen (a connection of theirs to a chat room or their channel opened or
   * closed), or null when their privacy setting hides it from this user (or they were never seen).
   * This user's own, always.
   */
  async lastSeen(userId: string, options?: RequestOptions): Promise<number | null> {
    return (
      await this.call({
        method: "GET",
        path: `/v1/users/${seg(userId)}/presence`,
        schema: PresenceAnswer,
        signal: options?.signal,
      })
    ).lastSeenAt;
  }

  /** This user's privacy settings: who sees their last seen. */
  async privacy(options?: RequestOptions): Promise<Privacy> {
    return (await this.call({ method: "GET", path: "/v1/me/privacy", schema: PrivacyAnswer, signal: options?.signal }))
      .privacy;
  }

  /** Who sees this user's last seen: `everyone`, `contacts` (who share a direct conversation) or `nobody`. */
  async setPrivacy(body: Privacy, options?: RequestOptions): Promise<Privacy> {
    return (
      await this.call({
        method: "PUT",
        path: "/v1/me/privacy",
        body,
        schema: PrivacyAnswer,
        signal: options?.signal,
      })
    ).privacy;
  }

  /** The users this one blocks, newest first. */
  async blocks(options?: RequestOptions): Promise<BlockedUser[]> {
    return (await this.call({ method: "GET", path: "/v1/me/blocks", schema: BlockListAnswer, signal: options?.signal }))
      .blocks;
  }

  async joinRoom(roomId: string, options?: RequestOptions): Promise<Room> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/rooms/${seg(roomId)}/join`,
        schema: RoomResponse,
        signal: options?.signal,
      })
    ).room;
  }

  /** Adds a member (the way into a private room); the caller must be a member. */
  async addMember(roomId: string, userId: string, options?: RequestOptions): Promise<Room> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/rooms/${seg(roomId)}/members`,
        body: { userId },
        schema: AddMemberResponse,
        signal: options?.signal,
      })
    ).room;
  }

  /**
   * Leaves the room: the caller's connections to it close (4403) and it can be read no more. The
   * owner must `transferOwnership` first (409).
   */
  async leaveRoom(roomId: string, options?: RequestOptions): Promise<void> {
    await this.call({
      method: "POST",
      path: `/v1/rooms/${seg(roomId)}/leave`,
      schema: LeaveResponse,
      signal: options?.signal,
    });
  }

  /** Removes a member (owner or admin; an admin removes members only); their connections close at once. */
  async removeMember(roomId: string, userId: string, options?: RequestOptions): Promise<void> {
    await this.call({
      method: "DELETE",
      path: `/v1/rooms/${seg(roomId)}/members/${seg(userId)}`,
      signal: options?.signal,
    });
  }

  /** Makes a member an admin, or an admin a member again (the owner only). */
  async setRole(
    roomId: string,
    userId: string,
    role: "admin" | "member",
    options?: RequestOptions,
  ): Promise<MemberRole> {
    return (
      await this.call({
        method: "PATCH",
        path: `/v1/rooms/${seg(roomId)}/members/${seg(userId)}`,
        body: { role },
        schema: MemberRoleAnswer,
        signal: options?.signal,
      })
    ).role;
  }

  /** Hands the room to another member (the owner only); the caller becomes an admin. */
  async transferOwnership(roomId: string, userId: string, options?: RequestOptions): Promise<void> {
    await this.call({
      method: "POST",
      path: `/v1/rooms/${seg(roomId)}/owner`,
      body: { userId },
      schema: MemberRoleAnswer,
      signal: options?.signal,
    });
  }

  /** Bans a user from the room (owner or admin): removed now, and refused a join until `unban`. */
  async ban(roomId: string, userId: string, options?: RequestOptions): Promise<void> {
    await this.call({
      method: "POST",
      path: `/v1/rooms/${seg(roomId)}/bans`,
      body: { userId },
      schema: BanResponse,
      signal: options?.signal,
    });
  }

  /** Lifts a ban (owner or admin); the user may join a public room again, or be added to a private one. */
  async unban(roomId: string, userId: string, options?: RequestOptions): Promise<void> {
    await this.call({
      method: "DELETE",
      path: `/v1/rooms/${seg(roomId)}/bans/${seg(userId)}`,
      signal: options?.signal,
    });
  }

  /** Members with their names and roles, in the order they joined (members only). */
  async members(roomId: string, options?: RequestOptions): Promise<RoomMember[]> {
    return (
      await this.call({
        method: "GET",
        path: `/v1/rooms/${seg(roomId)}/members`,
        schema: RoomMembersResponse,
        signal: options?.signal,
      })
    ).members;
  }

  /**
   * A page of history, newest first; pass `nextBefore` as `before` for the next page. It carries
   * the delivery state of this user's own messages on it (`receipts`) and, in a direct
   * conversation, the other member's marks (`peer`; null while they block this user).
   */
  messages(
    roomId: string,
    query: { before?: number; limit?: number } = {},
    options?: RequestOptions,
  ): Promise<HistoryResponse> {
    return this.call({
      method: "GET",
      path: `/v1/rooms/${seg(roomId)}/messages`,
      query,
      schema: HistoryAnswer,
      signal: options?.signal,
    });
  }

  /** Every message the room has, oldest first (pages through `messages`). */
  async allMessages(roomId: string, options?: RequestOptions): Promise<ChatMessage[]> {
    const all: ChatMessage[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await this.messages(roomId, { limit: 100, ...(before === undefined ? {} : { before }) }, options);
      all.push(...page.messages);
      if (page.nextBefore === null) return all.reverse();
      before = page.nextBefore;
    }
  }

  /**
   * Posts a message; with `attachments` (uploads of this user to this room, from
   * `uploadAttachment`) `text` may be "" for a message of files alone.
   */
  async postMessage(
    roomId: string,
    text: string,
    options?: IdempotentOptions & { attachments?: Pick<Attachment, "key">[] },
  ): Promise<Message> {
    const attachments = options?.attachments?.map((a) => ({ key: a.key }));
    const body = { ...(text === "" && attachments ? {} : { text }), ...(attachments ? { attachments } : {}) };
    return (await this.idempotentPost(`/v1/rooms/${seg(roomId)}/messages`, body, MessageResponse, options)).message;
  }

  /**
   * Uploads one file to the room (members; a type of `ATTACHMENT_TYPES`, at most the service's
   * ATTACHMENT_MAX_BYTES): asks for an upload URL, PUTs the bytes to it, and answers the stored
   * `Attachment`, which `postMessage`'s `attachments` (or a `message` frame's) then carries.
   * Rejects with `upload_rejected` (422) when the bytes are not of `contentType`.
   */
  async uploadAttachment(roomId: string, file: AttachmentFile, options?: RequestOptions): Promise<Attachment> {
    const size = file.data instanceof Blob ? file.data.size : file.data.byteLength;
    const grant = await this.call({
      method: "POST",
      path: `/v1/rooms/${seg(roomId)}/attachments`,
      body: { filename: file.filename, contentType: file.contentType, size },
      schema: AttachmentGrantAnswer,
      signal: options?.signal,
    });
    const stored = await this.call({
      method: grant.method,
      path: "/v1/uploads/…",
      url: grant.uploadUrl,
      file: { data: file.data, contentType: file.contentType },
      // The URL is the permission: no token goes with it, so it cannot leak to another host.
      anonymous: true,
      schema: UploadAnswer,
      signal: options?.signal,
    });
    return stored.attachment;
  }

  /** An attachment's file (current members only), as a Blob: show an image with `URL.createObjectURL`. */
  downloadAttachment(roomId: string, attachment: Pick<Attachment, "key">, options?: RequestOptions): Promise<Blob> {
    return this.call<Blob>({
      method: "GET",
      path: attachmentPath(roomId, attachment.key),
      blob: true,
      signal: options?.signal,
    });
  }

  /** A reply to the message at `replyTo` (a seq of the same room; not a deleted message). */
  async reply(roomId: string, replyTo: number, text: string, options?: IdempotentOptions): Promise<Message> {
    const path = `/v1/rooms/${seg(roomId)}/messages`;
    return (await this.idempotentPost(path, { text, replyTo }, MessageResponse, options)).message;
  }

  /** Replaces the text of one's own message; answers it as it is now (with `editedAt`). */
  async editMessage(roomId: string, seq: number, text: string, options?: IdempotentOptions): Promise<ChatMessage> {
    return (
      await this.call({
        method: "PATCH",
        path: `/v1/rooms/${seg(roomId)}/messages/${seq}`,
        body: { text },
        schema: ChatMessageAnswer,
        idempotencyKey: options?.idempotencyKey ?? newId(),
        signal: options?.signal,
      })
    ).message;
  }

  /** Deletes a message (one's own; the room's creator and operators any); answers its tombstone. */
  async deleteMessage(roomId: string, seq: number, options?: IdempotentOptions): Promise<ChatMessage> {
    return (
      await this.call({
        method: "DELETE",
        path: `/v1/rooms/${seg(roomId)}/messages/${seq}`,
        schema: ChatMessageAnswer,
        idempotencyKey: options?.idempotencyKey ?? newId(),
        signal: options?.signal,
      })
    ).message;
  }

  /**
   * Adds (`on: true`), removes (`on: false`) or toggles (no `on`) one's reaction to a message;
   * answers the message with its reaction counts now.
   */
  async react(
    roomId: string,
    seq: number,
    emoji: string,
    on?: boolean,
    options?: IdempotentOptions,
  ): Promise<ChatMessage> {
    const path = `/v1/rooms/${seg(roomId)}/messages/${seq}/reactions`;
    return (await this.idempotentPost(path, { emoji, ...(on === undefined ? {} : { on }) }, ChatMessageAnswer, options))
      .message;
  }

  /** Stored events after `since` (at most 100), waiting up to `timeout` s (≤ 30) when there are none yet. */
  pollRoom(
    roomId: string,
    query: { since?: number; timeout?: number } = {},
    options?: RequestOptions,
  ): Promise<PollResult> {
    return this.poll(`/v1/rooms/${seg(roomId)}/poll`, query, options);
  }

  /** The SSE URL of a room (`id:` = seq); EventSource users need `accessToken` since it sends no headers. */
  roomEventsUrl(roomId: string, query: { since?: number; accessToken?: string } = {}): string {
    return this.url(`/v1/rooms/${seg(roomId)}/events`, { since: query.since, access_token: query.accessToken });
  }

  roomSocketUrl(roomId: string, query: { since?: number; accessToken?: string } = {}): string {
    return socketUrl(this.url(`/v1/rooms/${seg(roomId)}/ws`, { since: query.since, access_token: query.accessToken }));
  }

  /** A live, reconnecting connection to a chat room (WebSocket, with SSE + HTTP as the fallback). */
  room(roomId: string, options: RoomOptions = {}): ChatConnection {
    return new RoomConnection("chat", this.roomContext(`/v1/rooms/${seg(roomId)}`, options), options);
  }

  // ---- drivers --------------------------------------------------------------------------------

  /**
   * `acceptLowerTiers`: also take rides of the lower tiers the vehicle's tier accepts (a comfort car taking economy;
   * README "Tiers").
   */
  async goOnline(location: LatLng, options?: RequestOptions & { acceptLowerTiers?: boolean }): Promise<Driver> {
    const accept = options?.acceptLowerTiers;
    return (
      await this.call({
        method: "POST",
        path: "/v1/drivers/me/online",
        body: accept === undefined ? { location } : { location, acceptLowerTiers: accept },
        schema: DriverResponse,
        signal: options?.signal,
      })
    ).driver;
  }

  /**
   * Whether the driver also takes the lower tiers their vehicle's tier accepts, until they next go online (README,
   * "Tiers"); answers the tiers they now serve.
   */
  async setAcceptLowerTiers(acceptLowerTiers: boolean, options?: RequestOptions): Promise<DriverTiers> {
    return (
      await this.call({
        method: "PUT",
        path: "/v1/drivers/me/tiers",
        body: { acceptLowerTiers },
        schema: DriverTiersAnswer,
        signal: options?.signal,
      })
    ).tiers;
  }

  // ---- drivers' vehicles and documents (README, "Drivers and vehicles") ------------------------

  /** Registers a vehicle, pending review; 409 `plate_taken`, `too_many_vehicles`. */
  async registerVehicle(vehicle: VehicleInput, options?: RequestOptions): Promise<Vehicle> {
    return (
      await this.call({
        method: "POST",
        path: "/v1/drivers/me/vehicles",
        body: vehicle,
        schema: VehicleAnswer,
        signal: options?.signal,
      })
    ).vehicle;
  }

  /** The calling driver's vehicles with their review status, newest first. */
  async vehicles(options?: RequestOptions): Promise<Vehicle[]> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/drivers/me/vehicles",
        schema: VehicleListAnswer,
        signal: options?.signal,
      })
    ).vehicles;
  }

  /**
   * Uploads a licence, or a vehicle's registration or insurance, for review (PDF, JPEG or PNG):
   * asks for an upload URL, PUTs the bytes to it, and answers the document, `pending` review.
   * Rejects with `upload_rejected` (422) when the bytes are not of `contentType`.
   */
  async uploadDocument(file: DocumentFile, options?: RequestOptions): Promise<DriverDocument> {
    const size = file.data instanceof Blob ? file.data.size : file.data.byteLength;
    const grant = await this.call({
      method: "POST",
      path: "/v1/drivers/me/documents",
      body: {
        kind: file.kind,
        ...(file.vehicleId === undefined ? {} : { vehicleId: file.vehicleId }),
        filename: file.filename,
        contentType: file.contentType,
        size,
      },
      schema: DocumentGrantAnswer,
      signal: options?.signal,
    });
    const stored = await this.call({
      method: grant.method,
      path: "/v1/uploads/…",
      url: grant.uploadUrl,
      file: { data: file.data, contentType: file.contentType },
      // The URL is the permission: no token goes with it.
      anonymous: true,
      schema: DocumentAnswer,
      signal: options?.signal,
    });
    return stored.document;
  }

  /** The calling driver's documents, with each one's review status and a rejection's reason. */
  async documents(options?: RequestOptions): Promise<DriverDocument[]> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/drivers/me/documents",
        schema: DocumentListAnswer,
        signal: options?.signal,
      })
    ).documents;
  }

  /** One of the driver's own documents, as a Blob; an operator reads any with `admin: true`. */
  downloadDocument(documentId: string, options?: RequestOptions & { admin?: boolean }): Promise<Blob> {
    const base = options?.admin ? "/v1/admin/documents" : "/v1/drivers/me/documents";
    return this.call<Blob>({
      method: "GET",
      path: `${base}/${seg(documentId)}/file`,
      blob: true,
      signal: options?.signal,
    });
  }

  /** The assigned driver's photo (the trip's rider or driver, once accepted; when `trip.driver.photo`), as a Blob. */
  driverPhoto(tripId: string, options?: RequestOptions): Promise<Blob> {
    return this.call<Blob>({
      method: "GET",
      path: `/v1/trips/${seg(tripId)}/driver-photo`,
      blob: true,
      signal: options?.signal,
    });
  }

  /** Whether the driver may go online where approval is required, and what is missing. */
  approval(options?: RequestOptions): Promise<DriverApproval> {
    return this.call({
      method: "GET",
      path: "/v1/drivers/me/approval",
      schema: ApprovalAnswer,
      signal: options?.signal,
    });
  }

  /** A driver's vehicles and documents, for review (operators). */
  driverFile(driverId: string, options?: RequestOptions): Promise<DriverFile> {
    return this.call({
      method: "GET",
      path: `/v1/admin/drivers/${seg(driverId)}/vehicles`,
      schema: DriverFileAnswer,
      signal: options?.signal,
    });
  }

  /** Approves or rejects (with a reason) a driver's uploaded document (operators). */
  async reviewDocument(documentId: string, review: ReviewInput, options?: RequestOptions): Promise<DriverDocument> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/admin/documents/${seg(documentId)}/review`,
        body: review,
        schema: DocumentAnswer,
        signal: options?.signal,
      })
    ).document;
  }

  /** Approves or rejects a vehicle (operators); 409 `documents_not_approved` before its papers are. */
  async reviewVehicle(vehicleId: string, review: ReviewInput, options?: RequestOptions): Promise<Vehicle> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/admin/vehicles/${seg(vehicleId)}/review`,
        body: review,
        schema: VehicleAnswer,
        signal: options?.signal,
      })
    ).vehicle;
  }

  /** 409 `conflict` while on a trip. */
  async goOffline(options?: RequestOptions): Promise<Driver> {
    return (
      await this.call({
        method: "POST",
        path: "/v1/drivers/me/offline",
        schema: DriverResponse,
        signal: options?.signal,
      })
    ).driver;
  }

  async driver(options?: RequestOptions): Promise<Driver> {
    return (await this.call({ method: "GET", path: "/v1/drivers/me", schema: DriverResponse, signal: options?.signal }))
      .driver;
  }

  /** The driver channel: offers, their expiry, trip updates; send `location` fixes with `sendVolatile`. */
  driverChannel(options: RoomOptions = {}): DriverConnection {
    return new RoomConnection<DriverFrames>("driver", this.roomContext("/v1/drivers/me", options), options);
  }

  // ---- quotes and trips -------------------------------------------------------------------

  /** The default tier's quote, or the quote of `body.tier` (400 `tier_unavailable` where it is not offered). */
  async quote(body: QuoteInput, options?: RequestOptions): Promise<Quote> {
    return (
      await this.call({ method: "POST", path: "/v1/quotes", body, schema: QuoteResponse, signal: options?.signal })
    ).quote;
  }

  /**
   * One quote per tier offered near the pickup (README, "Tiers"): the default tier's first, then each other tier with
   * a driver near; request a trip with the chosen quote's id.
   */
  async quotes(body: QuoteInput, options?: RequestOptions): Promise<Quote[]> {
    return (
      await this.call({ method: "POST", path: "/v1/quotes", body, schema: QuoteResponse, signal: options?.signal })
    ).quotes;
  }

  /**
   * Requests a trip from a quote (or from a pickup and dropoff); 409 while the rider has an active trip. With
   * `scheduledAt` (epoch ms, 15 min to 30 days ahead) it books a scheduled ride instead: status `scheduled`, its fare
   * held and its dispatch started by the service at their lead times (400 `schedule_out_of_range`, 409
   * `too_many_scheduled`).
   */
  async requestTrip(body: TripRequestInput, options?: IdempotentOptions): Promise<Trip> {
    return (await this.idempotentPost("/v1/trips", body, TripResponse, options)).trip;
  }

  async trip(tripId: string, options?: RequestOptions): Promise<Trip> {
    return (
      await this.call({
        method: "GET",
        path: `/v1/trips/${seg(tripId)}`,
        schema: TripResponse,
        signal: options?.signal,
      })
    ).trip;
  }

  /**
   * The trip this user is on now (a rider's from request to end, a driver's once accepted), or
   * null: read from the trip itself, so it is there at once after a request (the list lags).
   */
  async currentTrip(options?: RequestOptions): Promise<Trip | null> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/trips/current",
        schema: CurrentTripResponse,
        signal: options?.signal,
      })
    ).trip;
  }

  /** The rider's upcoming scheduled rides, soonest pickup first; cancel one with `cancelTrip`. */
  async scheduledTrips(options?: RequestOptions): Promise<Trip[]> {
    return (
      await this.call({ method: "GET", path: "/v1/trips/scheduled", schema: TripListResponse, signal: options?.signal })
    ).trips;
  }

  /** This user's trips, newest first; `as`, `status` and `since` (a createdAt, epoch ms) filter them. */
  async trips(
    query: { limit?: number; before?: number; since?: number; status?: Trip["status"]; as?: "rider" | "driver" } = {},
    options?: RequestOptions,
  ): Promise<Trip[]> {
    return (
      await this.call({ method: "GET", path: "/v1/trips", query, schema: TripListResponse, signal: options?.signal })
    ).trips;
  }

  /**
   * A page of this user's trips (rode or drove), newest first, each with its receipt's path (`receiptUrl`), its route
   * and the ratings given and received; pass a page's `nextCursor` as `cursor` for the next (null: the last page).
   * `since` and `to` (epoch ms, inclusive) bound when the trips were made.
   */
  tripHistory(query: TripHistoryQuery = {}, options?: RequestOptions): Promise<TripHistoryResponse> {
    return this.call({ method: "GET", path: "/v1/trips", query, schema: TripHistoryAnswer, signal: options?.signal });
  }

  acceptTrip(tripId: string, options?: RequestOptions): Promise<Trip> {
    return this.tripMove(tripId, "accept", undefined, options);
  }

  declineTrip(tripId: string, options?: RequestOptions): Promise<Trip> {
    return this.tripMove(tripId, "decline", undefined, options);
  }

  arrived(tripId: string, options?: RequestOptions): Promise<Trip> {
    return this.tripMove(tripId, "arrived", undefined, options);
  }

  /**
   * Starts the ride. Where the trip needs a PIN (the rider's trip carries it in `pin`), pass the
   * code the rider reads out: without it 400 `pin_required`, a wrong one 403 `wrong_pin`, and
   * after several wrong ones 429 `pin_locked` for a while.
   */
  startTrip(tripId: string, body: StartInput = {}, options?: RequestOptions): Promise<Trip> {
    return this.tripMove(tripId, "start", body, options);
  }

  completeTrip(tripId: string, options?: RequestOptions): Promise<Trip> {
    return this.tripMove(tripId, "complete", undefined, options);
  }

  cancelTrip(tripId: string, body: CancelInput = {}, options?: RequestOptions): Promise<Trip> {
    return this.tripMove(tripId, "cancel", body, options);
  }

  /** After `completed`; 409 when this user has rated the trip already. */
  async rateTrip(tripId: string, body: RatingInput, options?: RequestOptions): Promise<RatingResult> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/trips/${seg(tripId)}/rating`,
        body,
        schema: RatingResponse,
        signal: options?.signal,
      })
    ).rating;
  }

  /** Trip chat over HTTP (the trip socket's `message` frame is the live way). */
  async postTripMessage(tripId: string, text: string, options?: IdempotentOptions): Promise<Message> {
    return (await this.idempotentPost(`/v1/trips/${seg(tripId)}/messages`, { text }, MessageResponse, options)).message;
  }

  pollTrip(
    tripId: string,
    query: { since?: number; timeout?: number } = {},
    options?: RequestOptions,
  ): Promise<PollResult> {
    return this.poll(`/v1/trips/${seg(tripId)}/poll`, query, options);
  }

  tripEventsUrl(tripId: string, query: { since?: number; accessToken?: string } = {}): string {
    return this.url(`/v1/trips/${seg(tripId)}/events`, { since: query.since, access_token: query.accessToken });
  }

  tripSocketUrl(tripId: string, query: { since?: number; accessToken?: string } = {}): string {
    return socketUrl(this.url(`/v1/trips/${seg(tripId)}/ws`, { since: query.since, access_token: query.accessToken }));
  }

  /** A live, reconnecting connection to a trip room (rider and assigned driver). */
  tripRoom(tripId: string, options: RoomOptions = {}): TripConnection {
    return new RoomConnection("trip", this.roomContext(`/v1/trips/${seg(tripId)}`, options), options);
  }

  // ---- notifications --------------------------------------------------------------------------

  async registerDevice(body: DeviceInput, options?: RequestOptions): Promise<Device> {
    return (
      await this.call({ method: "POST", path: "/v1/devices", body, schema: DeviceResponse, signal: options?.signal })
    ).device;
  }

  async devices(options?: RequestOptions): Promise<Device[]> {
    return (
      await this.call({ method: "GET", path: "/v1/devices", schema: DeviceListResponse, signal: options?.signal })
    ).devices;
  }

  async deleteDevice(deviceId: string, options?: RequestOptions): Promise<void> {
    await this.call({ method: "DELETE", path: `/v1/devices/${seg(deviceId)}`, signal: options?.signal });
  }

  /** The VAPID key to pass to `pushManager.subscribe` as `applicationServerKey`; null when Web Push is off. */
  async webPushKey(options?: RequestOptions): Promise<string | null> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/devices/webpush-key",
        schema: PushKeyResponse,
        signal: options?.signal,
      })
    ).publicKey;
  }

  async notifications(query: { limit?: number } = {}, options?: RequestOptions): Promise<Notification[]> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/notifications",
        query,
        schema: NotificationListResponse,
        signal: options?.signal,
      })
    ).notifications;
  }

  /**
   * Tells the service the app showed this notification (the `notificationId` of an FCM data
   * payload, the `id` of a Web Push or webhook one). Idempotent: answers the first ack's time.
   */
  async ackNotification(id: string, options?: RequestOptions): Promise<number> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/notifications/${encodeURIComponent(id)}/ack`,
        schema: NotificationAckAnswer,
        signal: options?.signal,
      })
    ).ackedAt;
  }

  async preferences(options?: RequestOptions): Promise<Preferences> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/me/preferences",
        schema: PreferencesResponse,
        signal: options?.signal,
      })
    ).preferences;
  }

  async setPreferences(body: PreferencesInput, options?: RequestOptions): Promise<Preferences> {
    return (
      await this.call({
        method: "PATCH",
        path: "/v1/me/preferences",
        body,
        schema: PreferencesResponse,
        signal: options?.signal,
      })
    ).preferences;
  }

  // ---- payments ---------------------------------------------------------------------------------

  async wallet(options?: RequestOptions): Promise<Wallet> {
    return (await this.call({ method: "GET", path: "/v1/wallet", schema: WalletResponse, signal: options?.signal }))
      .wallet;
  }

  /**
   * Pays into the wallet through the service's payment provider (riders). With Stripe the
   * top-up is `pending` until the payment is confirmed with its `clientSecret`; the sandbox
   * answers `succeeded`. Retrying with the same `idempotencyKey` never pays twice.
   */
  async topUp(body: TopUpInput, options?: IdempotentOptions): Promise<TopUp> {
    return (await this.idempotentPost("/v1/wallet/top-ups", body, TopUpResponse, options)).topUp;
  }

  /** Lines on this user's wallet (riders) or earnings (drivers), newest first; `before` is a page's `nextBefore`. */
  transactions(
    query: { limit?: number; before?: number } = {},
    options?: RequestOptions,
  ): Promise<{ transactions: Transaction[]; nextBefore: number | null }> {
    return this.call({
      method: "GET",
      path: "/v1/wallet/transactions",
      query,
      schema: TransactionListResponse,
      signal: options?.signal,
    });
  }

  /**
   * A link to the caller's trip for someone they trust (riders, while the trip is active): its
   * `token` is shown this once, `url` is the web app's page for it.
   */
  async shareTrip(tripId: string, options?: RequestOptions): Promise<ShareLink> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/trips/${seg(tripId)}/share`,
        schema: ShareLinkResponse,
        signal: options?.signal,
      })
    ).share;
  }

  /** Stops every working share link of the trip; answers how many. */
  async revokeTripShares(tripId: string, options?: RequestOptions): Promise<number> {
    return (
      await this.call({
        method: "DELETE",
        path: `/v1/trips/${seg(tripId)}/share`,
        schema: RevokedResponse,
        signal: options?.signal,
      })
    ).revoked;
  }

  /**
   * What a share link shows, with no account: ask again after `pollAfterMs`. A link that was
   * revoked, expired or whose trip is over throws `share_ended` (410).
   */
  sharedTrip(token: string, options?: RequestOptions): Promise<SharedTripResponse> {
    return this.call({
      method: "GET",
      path: `/v1/shared/${seg(token)}`,
      schema: SharedTripAnswer,
      anonymous: true,
      signal: options?.signal,
    });
  }

  /**
   * What the street map draws (no sign-in): the operator's style URL, or the path of the tile
   * archive the service serves, or neither (draw without tiles); and whether place search answers.
   */
  mapConfig(options?: RequestOptions): Promise<MapConfigResponse> {
    return this.call({
      method: "GET",
      path: "/v1/map",
      schema: MapConfigAnswer,
      anonymous: true,
      signal: options?.signal,
    });
  }

  /**
   * Up to 5 places matching `text` from the operator's geocoder, those near `near` first; throws
   * `geocoder_unavailable` when none is configured (503) or it failed (502).
   */
  async searchPlaces(text: string, near?: LatLng, options?: RequestOptions): Promise<Place[]> {
    const query = { q: text, ...(near ? { lat: near.lat, lng: near.lng } : {}) };
    return (
      await this.call({
        method: "GET",
        path: "/v1/places/search",
        query,
        schema: PlaceSearchAnswer,
        signal: options?.signal,
      })
    ).places;
  }

  /** The geocoder's name for the place at `point`, or null when it knows none there. */
  async reversePlace(point: LatLng, options?: RequestOptions): Promise<Place | null> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/places/reverse",
        query: { lat: point.lat, lng: point.lng },
        schema: ReversePlaceAnswer,
        signal: options?.signal,
      })
    ).place;
  }

  /**
   * Available cars around `point` as coarse dots (cell centres up to `precisionM` metres from the
   * cars, one per cell, at most 8): for a map before requesting; no ids, no exact positions.
   */
  nearbyCars(point: LatLng, options?: RequestOptions): Promise<NearbyCarsResponse> {
    return this.call({
      method: "GET",
      path: "/v1/cars/nearby",
      query: { lat: point.lat, lng: point.lng },
      schema: NearbyCarsAnswer,
      signal: options?.signal,
    });
  }

  /**
   * SOS: the trip's rider or driver raises an alert with where they are; operators see it at
   * once. Sent with an idempotency key (one is made if not given), so a retry is the same alert.
   */
  async raiseSos(tripId: string, body: SosInput, options?: IdempotentOptions): Promise<TripAlert> {
    return (await this.idempotentPost(`/v1/trips/${seg(tripId)}/sos`, body, AlertResponse, options)).alert;
  }

  /**
   * The rider tips the driver of a completed trip, all of it the driver's: within 24 h of completion (TIP_WINDOW_MS),
   * the trip's tips together at most their bound (`tippable` says what is left). Sent with an idempotency key (one is
   * made if not given): a retry with the same key answers the first tip and pays nothing more.
   */
  async tip(tripId: string, amount: Money, options?: IdempotentOptions): Promise<Tip> {
    return (await this.idempotentPost(`/v1/trips/${seg(tripId)}/tip`, { amount }, TipAnswer, options)).tip;
  }

  /** After `completed`, or a cancellation that charged a fee (its rider or driver). */
  async receipt(tripId: string, options?: RequestOptions): Promise<Receipt> {
    return (
      await this.call({
        method: "GET",
        path: `/v1/trips/${seg(tripId)}/receipt`,
        schema: ReceiptResponse,
        signal: options?.signal,
      })
    ).receipt;
  }

  /** A driver's earnings over [from, to) in epoch ms (default: the last 7 days). */
  earnings(query: { from?: number; to?: number } = {}, options?: RequestOptions): Promise<EarningsResponse> {
    return this.call({ method: "GET", path: "/v1/earnings", query, schema: EarningsAnswer, signal: options?.signal });
  }

  // ---- payouts (drivers) --------------------------------------------------------------------------

  /**
   * Where the driver's payouts go: their Stripe Connect account (`acct_…`). Refused when the
   * provider does not know it (`payout_account_unknown`) or another driver has it (`payout_account_taken`).
   */
  async setPayoutAccount(accountId: string, options?: RequestOptions): Promise<PayoutAccount> {
    const answer = await this.call({
      method: "PUT",
      path: "/v1/drivers/me/payout-account",
      body: { accountId },
      schema: PayoutAccountAnswer,
      signal: options?.signal,
    });
    if (!answer.payoutAccount) throw new RidewireError(200, "invalid_response", "the payout account was not set");
    return answer.payoutAccount;
  }

  /** The driver's payout account, or null before one is set. */
  async payoutAccount(options?: RequestOptions): Promise<PayoutAccount | null> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/drivers/me/payout-account",
        schema: PayoutAccountAnswer,
        signal: options?.signal,
      })
    ).payoutAccount;
  }

  /** What the driver may pay out now: the earnings, what is on hold, in transit, and the minimum. */
  async payoutBalance(options?: RequestOptions): Promise<PayoutBalance> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/payouts/balance",
        schema: PayoutBalanceAnswer,
        signal: options?.signal,
      })
    ).balance;
  }

  /**
   * Pays the driver's available earnings out to their payout account (`amount` of them, or all).
   * Sent with an idempotency key (one is made if not given): a retry with the same key answers
   * the same payout and pays nothing more. The payout is `paid`, `failed` (the money is back on
   * the earnings) or `pending` (the service settles it with the provider shortly).
   */
  async requestPayout(options?: IdempotentOptions & { amount?: Money }): Promise<Payout> {
    const body = options?.amount === undefined ? {} : { amount: options.amount };
    return (await this.idempotentPost("/v1/payouts", body, PayoutAnswer, options)).payout;
  }

  /** The driver's payouts, newest first; `before` is a page's `nextBefore`. */
  payouts(query: { limit?: number; before?: number } = {}, options?: RequestOptions): Promise<PayoutListResponse> {
    return this.call({ method: "GET", path: "/v1/payouts", query, schema: PayoutListAnswer, signal: options?.signal });
  }

  // ---- operations -------------------------------------------------------------------------------

  /** Per H3 cell within `rings` (0..6, default 4) of a point: available drivers, requests, surge, active trips. */
  opsCells(query: { lat: number; lng: number; rings?: number }, options?: RequestOptions): Promise<OpsCellsResponse> {
    return this.call({ method: "GET", path: "/v1/ops/cells", query, schema: OpsCellsAnswer, signal: options?.signal });
  }

  /**
   * The live metrics of the last five minutes (operators): connections, throughput, errors by code, dispatch health
   * per city, notification outcomes and ledger postings, as the service's isolates flushed them (a few seconds late).
   */
  opsMetrics(options?: RequestOptions): Promise<OpsMetricsResponse> {
    return this.call({ method: "GET", path: "/v1/ops/metrics", schema: OpsMetricsAnswer, signal: options?.signal });
  }

  /** Trips' cancels with their reason codes (operators), newest first, and counts per code over `by` and `since`. */
  opsCancellations(query: OpsCancellationsInput = {}, options?: RequestOptions): Promise<OpsCancellationsResponse> {
    return this.call({
      method: "GET",
      path: "/v1/ops/cancellations",
      query,
      schema: OpsCancellationsAnswer,
      signal: options?.signal,
    });
  }

  /**
   * Takes an accepted or arrived trip from its driver and hands it back to matching without them (operators; the
   * reason goes in the audit log). The watchdog does the same by itself to a driver silent for DRIVER_SILENT_MS.
   */
  async reassignTrip(tripId: string, reason: string, options?: RequestOptions): Promise<Trip> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/admin/trips/${seg(tripId)}/reassign`,
        body: { reason },
        schema: ReassignAnswer,
        signal: options?.signal,
      })
    ).trip;
  }

  /** Drivers, newest first (operators); `q` finds part of a name or email, or an id; `cursor`: a `nextCursor`. */
  opsDrivers(query: OpsListInput = {}, options?: RequestOptions): Promise<AdminDriverListResponse> {
    return this.call({
      method: "GET",
      path: "/v1/admin/drivers",
      query,
      schema: OpsDriversAnswer,
      signal: options?.signal,
    });
  }

  /** Trips, newest first (operators); `q` finds a trip id or its rider's or driver's name, email or id. */
  opsTrips(
    query: OpsListInput & { status?: Trip["status"] } = {},
    options?: RequestOptions,
  ): Promise<AdminTripListResponse> {
    return this.call({
      method: "GET",
      path: "/v1/admin/trips",
      query,
      schema: OpsTripsAnswer,
      signal: options?.signal,
    });
  }

  /**
   * Cancels a trip as an operator, whatever its state short of an end (the reason goes in the audit log; no fee is
   * charged): `POST /v1/admin/trips/:id/cancel`.
   */
  async cancelTripAsOperator(tripId: string, reason: string, options?: RequestOptions): Promise<Trip> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/admin/trips/${seg(tripId)}/cancel`,
        body: { reason },
        schema: ReassignAnswer,
        signal: options?.signal,
      })
    ).trip;
  }

  /** SOS alerts (operators): the open ones by default, or `state: "all"`, newest first. */
  async opsAlerts(query: OpsAlertsInput = {}, options?: RequestOptions): Promise<TripAlert[]> {
    return (
      await this.call({
        method: "GET",
        path: "/v1/ops/alerts",
        query,
        schema: AlertListResponse,
        signal: options?.signal,
      })
    ).alerts;
  }

  /**
   * Operators' live feed of SOS alerts: an `alert` frame as each is raised or acknowledged, and a `stuck_trip` frame
   * as the trips' watchdog moves a trip (its record: `opsCancellations({ by: "system" })`). It keeps no log: read
   * `opsAlerts()` on every `welcome` (each reconnect), then apply the frames. `send({ type: "city.watch", lat, lng,
   * rings })` after each `welcome` has the desk push that area's cells (`city` frames, as `opsCells()` answers) and
   * the live metrics (`metrics` frames) every 2 s.
   */
  opsAlertFeed(options: RoomOptions = {}): OpsDeskConnection {
    return new RoomConnection<OpsDeskFrames>("ops", this.roomContext("/v1/ops/alerts", options), options);
  }

  /** An operator takes an SOS alert in hand; the first acknowledgement stands. */
  async acknowledgeAlert(alertId: string, options?: RequestOptions): Promise<TripAlert> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/ops/alerts/${seg(alertId)}/ack`,
        schema: AlertResponse,
        signal: options?.signal,
      })
    ).alert;
  }

  // ---- plumbing ---------------------------------------------------------------------------------

  private async tripMove(tripId: string, move: string, body: unknown, options?: RequestOptions): Promise<Trip> {
    return (
      await this.call({
        method: "POST",
        path: `/v1/trips/${seg(tripId)}/${move}`,
        body,
        schema: TripResponse,
        signal: options?.signal,
      })
    ).trip;
  }

  private idempotentPost<T>(
    path: string,
    body: unknown,
    schema: AnswerCheck<T>,
    options?: IdempotentOptions,
  ): Promise<T> {
    return this.call({
      method: "POST",
      path,
      body,
      schema,
      idempotencyKey: options?.idempotencyKey ?? newId(),
      signal: options?.signal,
    });
  }

  private async poll(
    path: string,
    query: { since?: number; timeout?: number },
    options?: RequestOptions,
  ): Promise<PollResult> {
    const answer = await this.call({
      method: "GET",
      path,
      query,
      schema: PollResponse,
      signal: options?.signal,
      extraTimeoutMs: (query.timeout ?? 25) * 1000,
    });
    const events: ServerFrame[] = [];
    for (const event of answer.events) {
      if (!frameHead(event)) throw new RidewireError(200, "invalid_response", "a polled event is not a frame");
      events.push(event as ServerFrame);
    }
    return { events, seq: answer.seq };
  }

  /** What a connection needs of this client: where, the token, and the HTTP routes behind its frames. */
  private roomContext(base: string, options: RoomOptions): RoomContext {
    const kind = base === "/v1/drivers/me" ? "driver" : "room";
    return {
      baseUrl: this.baseUrl,
      path: base,
      fetch: options.fetch ?? this.fetchImpl,
      token: () => this.token(),
      onToken: (listener) => this.sessions.onToken(listener),
      // Without a kept session (a fixed token) there is nothing to refresh: the token as it is.
      refresh: async () =>
        this.sessions.session || this.keptSession ? (await this.sessions.refresh()).token : this.token(),
      postFrame: async (frame, signal) => {
        const f = frame as {
          type: string;
          id: string;
          text?: unknown;
          tripId?: unknown;
          reason?: unknown;
          pin?: unknown;
        };
        const { replyTo, attachments } = frame as { replyTo?: unknown; attachments?: unknown };
        if (kind === "room" && f.type === "message" && (typeof f.text === "string" || Array.isArray(attachments))) {
          const { message } = await this.call({
            method: "POST",
            path: `${base}/messages`,
            body: {
              ...(typeof f.text === "string" ? { text: f.text } : {}),
              ...(typeof replyTo === "number" ? { replyTo } : {}),
              ...(Array.isArray(attachments) ? { attachments } : {}),
            },
            schema: MessageResponse,
            idempotencyKey: f.id,
            signal,
          });
          return { id: f.id, seq: message.seq };
        }
        // A chat room's edit, delete and reaction frames have routes too; the answer carries no
        // event seq, and the event itself arrives on the stream.
        const change = chatChangeRoute(frame, base);
        if (kind === "room" && change) {
          await this.call({ ...change, schema: ChatMessageAnswer, idempotencyKey: f.id, signal });
          return { id: f.id };
        }
        // A read mark has its route too: unread counts follow it on the SSE fallback as well.
        const read = frame as { seq?: unknown };
        if (kind === "room" && f.type === "read" && typeof read.seq === "number") {
          await this.markReadAt(base, read.seq, signal);
          return { id: f.id };
        }
        // A driver's trip move becomes its HTTP route on the SSE fallback.
        const move = Object.hasOwn(TRIP_MOVE_OF_FRAME, f.type)
          ? TRIP_MOVE_OF_FRAME[f.type as TripMoveFrameType]
          : undefined;
        if (kind === "driver" && move && typeof f.tripId === "string") {
          const body =
            move === "cancel" && typeof f.reason === "string"
              ? { reason: f.reason }
              : move === "start" && typeof f.pin === "string"
                ? { pin: f.pin }
                : undefined;
          await this.tripMove(f.tripId, move, body, { signal });
          return { id: f.id };
        }
        return null;
      },
      postVolatile: (frame) => {
        const f = frame as { type: string; lat?: unknown; lng?: unknown; at?: unknown };
        if (kind !== "driver" || f.type !== "location") return false;
        const { type: _type, ...fix } = f;
        // A fix is ephemeral: one lost in transit is replaced by the next.
        this.call({ method: "POST", path: "/v1/drivers/me/location", body: fix }).catch(() => undefined);
        return true;
      },
    };
  }

  private url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ""}`;
  }

  /** One request with the error path, answer validation, timeout and retries. */
  private async call<T>(call: Call<T>): Promise<T> {
    const retryable = call.method === "GET" || call.idempotencyKey !== undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(call);
      } catch (err) {
        if (
          err instanceof RidewireError &&
          err.status === 401 &&
          !call.anonymous &&
          !call.refreshed &&
          this.sessions.session
        ) {
          // The access token was refused (expired, say, or the clock is off): refresh once and
          // try again; a second 401 is the answer. A refused refresh throws session_expired.
          await this.sessions.refresh();
          return this.call({ ...call, refreshed: true });
        }
        const transient =
          err instanceof RidewireError && (err.code === "network_error" || RETRYABLE_STATUS.has(err.status));
        if (!retryable || !transient || attempt >= this.retries || call.signal?.aborted) throw err;
        await sleep(fullJitter(attempt, { initialDelayMs: 250, maxDelayMs: 2_000 }));
      }
    }
  }

  private async once<T>(call: Call<T>): Promise<T> {
    const headers: Record<string, string> = { Accept: call.blob ? "*/*" : "application/json" };
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    if (call.file) headers["Content-Type"] = call.file.contentType;
    if (!call.anonymous) {
      const token = await this.token();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    if (call.idempotencyKey !== undefined) headers["Idempotency-Key"] = call.idempotencyKey;

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs + (call.extraTimeoutMs ?? 0));
    const onAbort = () => timeout.abort();
    call.signal?.addEventListener("abort", onAbort);
    let response: Response;
    let text = "";
    let blob: Blob | undefined;
    try {
      response = await this.fetchImpl(call.url ?? this.url(call.path, call.query), {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        ...(call.file ? { body: call.file.data } : {}),
        signal: timeout.signal,
      });
      if (call.blob && response.ok) blob = await response.blob();
      else text = await response.text();
    } catch (err) {
      const why = call.signal?.aborted
        ? "aborted"
        : timeout.signal.aborted
          ? "timed out"
          : err instanceof Error
            ? err.message
            : String(err);
      throw new RidewireError(0, "network_error", `${call.method} ${call.path}: ${why}`, err);
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener("abort", onAbort);
    }

    if (blob) return blob as T;
    let data: unknown;
    if (text !== "") {
      try {
        data = JSON.parse(text);
      } catch {
        if (response.ok)
          throw new RidewireError(
            response.status,
            "invalid_response",
            `${call.method} ${call.path}: the answer is not JSON`,
          );
      }
    }
    if (!response.ok) {
      const body = ErrorAnswer.safeParse(data);
      const detail = body.success ? ErrorDetail.safeParse(body.data.error) : body;
      const retryAfter = Number(response.headers.get("Retry-After") ?? NaN);
      const traceId = response.headers.get("X-Trace-Id") ?? undefined;
      if (!detail.success)
        throw new RidewireError(
          response.status,
          "http_error",
          `${call.method} ${call.path}: HTTP ${response.status}`,
          text.slice(0, 500),
          undefined,
          traceId,
        );
      const { code, message, details } = detail.data;
      throw new RidewireError(
        response.status,
        code,
        message,
        details,
        Number.isFinite(retryAfter) ? retryAfter : undefined,
        traceId,
      );
    }
    if (!call.schema) return data as T;
    const parsed = call.schema.safeParse(data);
    if (!parsed.success) {
      throw new RidewireError(
        response.status,
        "invalid_response",
        `${call.method} ${call.path}: the answer does not match the protocol`,
        parsed.error.issues,
      );
    }
    return parsed.data;
  }
}

/** The HTTP route of a chat `edit`, `delete` or `react` frame (for the SSE fallback), or null. */
function chatChangeRoute(
  frame: unknown,
  base: string,
): { method: "PATCH" | "DELETE" | "POST"; path: string; body?: unknown } | null {
  const f = frame as { type?: unknown; seq?: unknown; text?: unknown; emoji?: unknown; on?: unknown };
  if (typeof f.seq !== "number" || !Number.isInteger(f.seq)) return null;
  const path = `${base}/messages/${f.seq}`;
  if (f.type === "edit" && typeof f.text === "string") return { method: "PATCH", path, body: { text: f.text } };
  if (f.type === "delete") return { method: "DELETE", path };
  if (f.type === "react" && typeof f.emoji === "string")
    return {
      method: "POST",
      path: `${path}/reactions`,
      body: { emoji: f.emoji, ...(typeof f.on === "boolean" ? { on: f.on } : {}) },
    };
  return null;
}

/** One path segment: ids are opaque, so anything odd in them is escaped rather than trusted. */
const seg = (id: string) => encodeURIComponent(id);

/** The download path of an attachment of `roomId`: its key's last part (`rooms/<roomId>/<file>`). */
export function attachmentPath(roomId: string, key: string): string {
  return `/v1/rooms/${seg(roomId)}/attachments/${seg(key.slice(key.lastIndexOf("/") + 1))}`;
}

/** http(s) → ws(s). */
export function socketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/i, "ws");
}

/** The filters and page of `tripHistory`. */
export type TripHistoryQuery = {
  limit?: number;
  cursor?: string;
  since?: number;
  to?: number;
  status?: Trip["status"];
  as?: "rider" | "driver";
};

export type { AdminDriverListResponse, AdminDriverRow, AdminTripListResponse, AdminTripRow };
export type {
  MapConfigResponse as MapConfig,
  NearbyCarsResponse as NearbyCars,
  Place,
} from "../../../src/protocol/map";
export type {
  TripHistoryEntry,
  TripHistoryResponse,
  BlockedUser,
  LastSeenVisibility,
  MessageReceipt,
  PeerMarks,
  PresenceResponse,
  Privacy,
  DriverCancelCode,
  OpsCancellationsResponse,
  RiderCancelCode,
  TripCancellation,
  Offer,
  TripRider,
  OpsCellsResponse,
  OpsMetricsResponse,
  DispatchHealth,
  Payout,
  PayoutAccount,
  PayoutBalance,
  PayoutListResponse,
  RoomListItem,
  RoomMember,
  SharedTrip,
  ShareLink,
  SharedTripResponse,
  TripAlert,
};
export type {
  DocumentContentType,
  DocumentKind,
  DriverApproval,
  DriverDocument,
  DriverFile,
  TripDriver,
  TripVehicle,
  Vehicle,
};
export type {
  Attachment,
  AttachmentContentType,
  AttachmentGrant,
  AuthResponse,
  ChatMessage,
  Device,
  Driver,
  EarningsResponse,
  HistoryResponse,
  LatLng,
  Message,
  Notification,
  Preferences,
  Quote,
  ReactionCount,
  Receipt,
  Role,
  Room,
  SignupRole,
  Tip,
  TopUp,
  Transaction,
  Trip,
  User,
  Wallet,
};
export type MeUser = MeResponse["user"];
