/**
 * @module rooms/frame-intake
 * What a room makes of one text frame before it acts on it: size, JSON, the socket's rate,
 * then the frame's schema (the room's fast check for its hottest frames first, zod for the
 * rest and for wording errors). Pure: the hub sends the error frames and counts bad frames.
 */
import type { z } from "zod";
import { LooseFrame } from "../protocol/frames";

/** The shape every client frame shares. */
export type ClientFrameBase = { type: string; id?: string | undefined };

export type Intake<F> =
  | { kind: "frame"; frame: F }
  /** An `auth` frame (every room takes it; its own schema knows nothing of it): the parsed JSON. */
  | { kind: "auth"; data: unknown }
  | { kind: "bad"; code: string; message: string; id?: string; closeCode?: number };

export type IntakeRules<F> = {
  maxFrameBytes: number;
  /** Takes a token from the socket's rate bucket; false when the client is over its rate. */
  takeToken: () => boolean;
  /** The room's cheaper check for its hottest frames (see SocketHub.fastFrame). */
  fastFrame: (data: unknown) => F | undefined;
  schema: z.ZodType<F>;
};

export function takeFrame<F extends ClientFrameBase>(message: string | ArrayBuffer, rules: IntakeRules<F>): Intake<F> {
  if (typeof message !== "string") return bad("invalid_request", "binary frames are not supported");
  if (exceedsBytes(message, rules.maxFrameBytes))
    return { ...bad("payload_too_large", `frames are limited to ${rules.maxFrameBytes} bytes`), closeCode: 1009 };
  let data: unknown;
  try {
    data = JSON.parse(message);
  } catch {
    return bad("invalid_request", "frame is not JSON");
  }
  // The loose parse, only there to echo an `id` on an error, runs on error paths only: a valid
  // frame is parsed once.
  if (!rules.takeToken()) return bad("rate_limited", "too many frames; slow down", looseFrameOf(data)?.id);
  if (isAuthFrame(data)) return { kind: "auth", data };
  const fast = rules.fastFrame(data);
  if (fast !== undefined) return { kind: "frame", frame: fast };
  const parsed = rules.schema.safeParse(data);
  if (parsed.success) return { kind: "frame", frame: parsed.data };
  const loose = looseFrameOf(data);
  const type = loose?.type;
  // A discriminated union reports an unknown `type` as a union failure on that field.
  const unknownType =
    type === undefined || parsed.error.issues.some((i) => i.code === "invalid_union" && i.path[0] === "type");
  const text = unknownType
    ? `unknown frame type ${JSON.stringify(type ?? null)}`
    : `invalid ${type} frame: ${describeIssues(parsed.error)}`;
  return bad("invalid_request", text, loose?.id);
}

export function looseFrameOf(data: unknown): LooseFrame | undefined {
  const loose = LooseFrame.safeParse(data);
  return loose.success ? loose.data : undefined;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "frame"}: ${i.message}`)
    .join("; ");
}

type BadFrame = Extract<Intake<never>, { kind: "bad" }>;

function bad(code: string, message: string, id?: string): BadFrame {
  return { kind: "bad", code, message, ...(id === undefined ? {} : { id }) };
}

/** A cheap look at the type before the room's own schema, which knows nothing of `auth`. */
function isAuthFrame(data: unknown): boolean {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "auth";
}

function exceedsBytes(text: string, limit: number): boolean {
  // Encode only when the cheap bounds cannot decide: a UTF-16 unit is 1 to 3 UTF-8 bytes.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return new TextEncoder().encode(text).length > limit;
}
