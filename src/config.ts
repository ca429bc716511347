/**
 * @module config
 * The one place where `[vars]` and secrets become typed settings. Everything is validated once
 * per `env` object; a bad value fails loudly at the first request instead of misbehaving later.
 */
import { z } from "zod";

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

const ConfigSchema = z.object({
  JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters"),
  JWT_ISSUER: z.string().min(1).default("ridewire"),
  JWT_AUDIENCE: z.string().min(1).default("ridewire-clients"),
  TOKEN_TTL_SECONDS: int(86_400, 60),
  ALLOWED_ORIGINS: z.string().default(""),
  ROOM_RETENTION_EVENTS: int(5_000, 1),
  MAX_FRAME_BYTES: int(65_536, 256),
  FRAME_RATE_PER_SECOND: int(10, 1),
  FRAME_BURST: int(20, 1),
  BAD_FRAMES_BEFORE_CLOSE: int(20, 1),
  BAD_FRAME_WINDOW_MS: int(10_000, 100),
  OUTBOX_FLUSH_DELAY_MS: int(250, 0),
  OUTBOX_BATCH_SIZE: int(100, 1),
  LOGIN_MAX_FAILURES: int(10, 1),
  LOGIN_WINDOW_SECONDS: int(300, 1),
  MAX_BODY_BYTES: int(65_536, 1_024),
});

export type Config = z.infer<typeof ConfigSchema> & { allowedOrigins: string[] };

const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${problems}`);
  }
  const allowedOrigins = parsed.data.ALLOWED_ORIGINS.split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  const config = { ...parsed.data, allowedOrigins };
  cache.set(env, config);
  return config;
}
